"""A deliberately misbehaving HTTP server on a real loopback socket (what MockTransport cannot fake: resets mid-body,
truncated bodies, hanging peers, garbage instead of HTTP)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODES = (
    "reset",
    "truncated",
    "hang",
    "garbage",
    "close",
    "html",
    "truncated_json",
    "slow_headers",
    "trickle_body",
    "trickle_headers",
    "endless_body",
)
TRICKLE_EVERY = 2.0  # seconds between two bytes of a trickling answer (each byte restarts httpx's read timeout)


JSON_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def _answer(conn: socket.socket, mode: str, stop: threading.Event) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    if mode == "reset":  # headers promise 100 bytes, 10 arrive, then an RST
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"current"')
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "truncated":  # clean close after a short body
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"current": "sig')
    elif mode == "truncated_json":  # complete HTTP, but the JSON itself stops half-way
        body = b'{"current": "sig_abc", "next": '
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
    elif mode == "html":
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    elif mode == "garbage":
        conn.sendall(b"\x00\x01\x02 this is not HTTP at all\r\n\r\n")
    elif mode == "close":  # closes without a byte
        pass
    elif mode in ("trickle_body", "trickle_headers"):  # one byte every 2 s: never silent long enough to time out
        if mode == "trickle_body":
            conn.sendall(JSON_HEAD + b"Content-Length: 100000\r\n\r\n")
            drip = b"[" + b"0," * 50000
        else:
            drip = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100000
        for byte in drip:
            conn.sendall(bytes([byte]))
            if stop.wait(TRICKLE_EVERY):
                return
    elif mode == "endless_body":  # a 200 whose body never ends, as fast as the socket takes it
        conn.sendall(JSON_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        while not stop.is_set():
            conn.sendall(chunk)
    elif mode in ("hang", "slow_headers"):
        if mode == "slow_headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
        stop.wait(30)


class FaultyServer:
    """`with faulty_server("reset") as srv: ... srv.url, srv.connections`."""

    def __init__(self, mode: str) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            _answer(conn, self.mode, self._stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@contextmanager
def faulty_server(mode: str) -> Iterator[FaultyServer]:
    server = FaultyServer(mode)
    try:
        yield server
    finally:
        server.close()


def refused_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _Endless(BaseHTTPRequestHandler):
    """An API that never runs out: every listing page has 100 entries and a next cursor; `/v2/batch` answers after
    `delay` seconds with one messageId per item."""

    delay = 0.0
    protocol_version = "HTTP/1.1"

    def _send(self, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        page = int(parse_qs(urlsplit(self.path).query).get("cursor", ["0"])[0] or 0)
        time.sleep(self.delay)
        rows = [
            {"messageId": f"msg_{page}_{i}", "time": 1_700_000_000_000 + page * 100 + i, "state": "DELIVERED"}
            for i in range(100)
        ]
        self._send({"events": rows, "messages": rows, "cursor": str(page + 1)})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        if self.path.startswith("/v2/batch"):
            self._send([{"messageId": f"msg_{uuid.uuid4().hex[:12]}"} for _ in json.loads(body)])
        else:
            self._send({"messageId": f"msg_{uuid.uuid4().hex[:12]}"})

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that went away mid-request (Ctrl-C, a closed pipe) is what these tests do


@contextmanager
def endless_api(delay: float = 0.0) -> Iterator[str]:
    """`with endless_api() as url:` an API on 127.0.0.1 whose listings never end (for Ctrl-C and `| head -1`)."""
    handler = type("Handler", (_Endless,), {"delay": delay})
    server = _QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
