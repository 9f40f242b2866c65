"""A deliberately misbehaving HTTP server on a real loopback socket (what MockTransport cannot fake: resets mid-body,
truncated bodies, hanging peers, garbage instead of HTTP)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
