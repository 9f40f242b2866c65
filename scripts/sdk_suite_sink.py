"""A catch-all HTTP(S) endpoint for the hosts the official SDK test suites publish to (run_sdk_suites.py starts it).

Inside the suites' loopback-only network namespace, names such as ``mock.httpstatus.io`` or ``requestcatcher.com``
resolve to 127.0.0.1; this answers there on port 80 (HTTP) and 443 (HTTPS, with the run's own CA) the way those
services do for what the suites send: ``/NNN`` or ``/status/NNN`` answers status NNN, ``?sleep=MS`` waits first
(at most 60 s); ``example.com`` and the other BROKEN_HOSTS answer 404 (the suites use them as "any broken link")
except to GET /; anything else answers 200. The body is the code and phrase (``404 Not Found``). Every request is
appended, one JSON line each, to the log file. On UDP port 53 it answers every DNS query "no such name", so a
name that /etc/hosts does not map fails at once, as a mistyped host does (not as an unreachable resolver).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import ssl
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The suites publish to these as "any broken link": answer 404 except for GET / (as the real sites do).
BROKEN_HOSTS = {"example.com", "www.example.com", "example.org", "api.example.com"}
_STATUS = re.compile(r"^/(?:status/)?([1-5]\d\d)(?:/|$)")
_LOCK = threading.Lock()


class SinkHandler(BaseHTTPRequestHandler):
    """Answers every method; the status comes from the path, an optional delay from ``?sleep=``."""

    protocol_version = "HTTP/1.1"
    log_path = ""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        match = _STATUS.match(parts.path)
        status = int(match.group(1)) if match else 200
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        if host in BROKEN_HOSTS and not (self.command in ("GET", "HEAD") and parts.path in ("", "/")):
            status = 404
        sleep_ms = parse_qs(parts.query).get("sleep", ["0"])[0]
        delay = min(int(sleep_ms), 60_000) / 1000 if sleep_ms.isdigit() else 0
        record = {
            "time": time.time(),
            "method": self.command,
            "host": self.headers.get("Host"),
            "path": self.path,
            "status": status,
            "headers": dict(self.headers.items()),
            "body": body.decode("utf-8", "replace")[:2000],
        }
        with _LOCK, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        if delay:
            time.sleep(delay)
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        payload = f"{status} {phrase}".strip().encode()  # what mock.httpstatus.io answers
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return


def serve_nxdomain(port: int) -> None:
    """Answer every DNS query on 127.0.0.1:port with NXDOMAIN (the question echoed, no records)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        query, peer = sock.recvfrom(4096)
        if len(query) < 12:
            continue
        end = query.find(b"\0", 12) + 5  # the first question: QNAME, QTYPE, QCLASS (EDNS records dropped)
        if end < 17:
            continue
        flags = 0x8000 | (int.from_bytes(query[2:4], "big") & 0x7900) | 0x0080 | 3  # QR, opcode+RD, RA, NXDOMAIN
        sock.sendto(query[:2] + flags.to_bytes(2, "big") + b"\0\1" + b"\0" * 6 + query[12:end], peer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="PEM certificate chain for the HTTPS listener")
    parser.add_argument("--key", required=True, help="PEM private key for the HTTPS listener")
    parser.add_argument("--log", required=True, help="file that gets one JSON line per request")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--dns-port", type=int, default=53)
    args = parser.parse_args()
    SinkHandler.log_path = args.log
    plain = ThreadingHTTPServer(("127.0.0.1", args.http_port), SinkHandler)
    secure = ThreadingHTTPServer(("127.0.0.1", args.https_port), SinkHandler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    secure.socket = tls.wrap_socket(secure.socket, server_side=True, do_handshake_on_connect=False)  # in the thread
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    threading.Thread(target=serve_nxdomain, args=(args.dns_port,), daemon=True).start()
    secure.serve_forever()


if __name__ == "__main__":
    main()
