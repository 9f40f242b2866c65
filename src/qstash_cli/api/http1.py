"""One HTTP/1.1 answer read from a socket, for the stdlib wire's `Connection: close` requests: the status line and
headers, then the body framed as RFC 9112 says — none (HEAD, 1xx, 204, 304), chunked, Content-Length, or up to the
close. As strict as h11 (httpx's parser) where an answer is malformed: those raise ProtocolError.

(http.client would do this too, but importing it costs ~12 ms, most of it the email package it parses headers with.)
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

MAX_HEAD = 100 * 1024  # bytes of status line + headers (httpcore's limit for h11)
MAX_LINE = 64 * 1024  # bytes of one chunk-size or trailer line
_STATUS = re.compile(rb"HTTP/[0-9]\.[0-9] ([0-9]{3})(?: ([\t !-~\x80-\xff]*))?")
_FIELD = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[!-~\x80-\xff](?:[\t !-~\x80-\xff]*[!-~\x80-\xff])?)?)[ \t]*"
)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,20})[ \t]*(?:;[^\r\n]*)?")
_LINE_END = re.compile(rb"\r?\n")


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 (or closed before the answer was complete)."""


class Head:
    """Status, reason and headers (name, value) as sent (bytes decoded as Latin-1, as h11 hands them over)."""

    __slots__ = ("status", "reason", "headers")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        self.status, self.reason, self.headers = status, reason, headers

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


class Reader:
    """Buffered reads from one socket; socket errors (TimeoutError, ConnectionResetError) pass through."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def head(self) -> Head:
        """The next final answer's head (interim 1xx answers but 101 are skipped, as h11 does)."""
        while True:
            head = self._parse_head(self._head_bytes())
            if not 100 <= head.status < 200 or head.status == 101:
                return head

    def _head_bytes(self) -> bytes:
        start = 0
        while True:
            match = re.search(rb"\r?\n\r?\n", self.buf[start:])
            if match:
                end = start + match.end()
                data = bytes(self.buf[: start + match.start()])
                del self.buf[:end]
                return data
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("answer head too large")
            start = max(0, len(self.buf) - 3)
            if not self._fill():
                raise ProtocolError("disconnected before a complete answer head" if self.buf else "disconnected")

    @staticmethod
    def _parse_head(data: bytes) -> Head:
        lines = _LINE_END.split(data)
        status = _STATUS.fullmatch(lines[0])
        if status is None:
            raise ProtocolError("illegal status line")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the previous value
                if not headers:
                    raise ProtocolError("folded line before any header")
                name, value = headers[-1]
                more = line.strip(b" \t").decode("latin-1")
                headers[-1] = (name, f"{value} {more}".strip())
                continue
            field = _FIELD.fullmatch(line)
            if field is None:
                raise ProtocolError("illegal header line")
            headers.append((field.group(1).decode("latin-1"), field.group(2).decode("latin-1")))
        return Head(int(status.group(1)), (status.group(2) or b"").decode("latin-1"), headers)

    def body(self, head: Head, method: str) -> Iterator[bytes]:
        """The body's bytes, as they arrive (still content-encoded)."""
        if method == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200:
            return iter(())
        encodings = [e.strip().lower() for v in head.values("transfer-encoding") for e in v.split(",")]
        if encodings:
            if encodings != ["chunked"]:
                raise ProtocolError("unsupported Transfer-Encoding")
            return self._chunked()
        lengths = {v.strip() for value in head.values("content-length") for v in value.split(",")}
        if lengths:
            if len(lengths) > 1 or not all(v.isdigit() and v.isascii() for v in lengths):
                raise ProtocolError("bad Content-Length")
            return self._exactly(int(lengths.pop()))
        return self._until_close()

    def _exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            if not self.buf and not self._fill():
                raise ProtocolError("disconnected before the complete body")
            piece = bytes(self.buf[:size])
            del self.buf[: len(piece)]
            size -= len(piece)
            yield piece

    def _until_close(self) -> Iterator[bytes]:
        while self.buf or self._fill():
            piece = bytes(self.buf)
            self.buf.clear()
            yield piece

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\n")
            if end != -1:
                line = bytes(self.buf[:end]).removesuffix(b"\r")
                del self.buf[: end + 1]
                return line
            if len(self.buf) > MAX_LINE:
                raise ProtocolError("chunk line too long")
            if not self._fill():
                raise ProtocolError("disconnected in a chunked body")

    def _chunked(self) -> Iterator[bytes]:
        while True:
            size = _CHUNK_SIZE.fullmatch(self._line())
            if size is None:
                raise ProtocolError("illegal chunk size")
            n = int(size.group(1), 16)
            if n == 0:
                while self._line():  # trailers, up to the empty line
                    pass
                return
            yield from self._exactly(n)
            if self._line():
                raise ProtocolError("chunk not followed by CRLF")
