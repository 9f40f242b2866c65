"""The stdlib wire: a single `qstash publish` to a plain-http server (`qstash dev`) over a plain socket.

Why: importing httpx (with httpcore, h11, urllib.request, http.cookiejar and the email package) takes ~40 ms, and
http.client alone ~12 ms (the email package again), of a ~100 ms `qstash publish` to the local server
(benchmarks/README.md, "one request"). This wire writes one `Connection: close` request and reads the answer with
api/http1.py. It only carries what it sends byte for byte as httpx would: a plain-http ASCII base URL, no proxy in
the environment, a request target httpx sends unchanged (nothing to percent-encode, no dot segment, no fragment, no
separate query parameters), header names that are tokens and values without control characters or blanks around.
Anything else goes to the httpx wire. Failures carry httpx's names (ConnectError, ReadTimeout, RemoteProtocolError,
...) so both wires end in the same error lines.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from qstash_cli.api import http1
from qstash_cli.api.wire import MAX_ANSWER_SIZE, USER_AGENT, Answer, Timeout, WireError, too_large

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# What httpx leaves as it is in a path and in a query (printable ASCII but for these), plus "?" and valid %XX escapes.
_PLAIN = frozenset(chr(i) for i in range(0x21, 0x7F)) - frozenset('"#<>`{}%')
_HEX = frozenset("0123456789abcdefABCDEF")
_OWN_HEADERS = ("host", "accept", "accept-encoding", "connection", "user-agent", "content-length", "transfer-encoding")
MAX_TARGET = 8000  # longer request targets go to httpx (its own limit is 65,536)


@dataclass
class Request:
    """A request ready to go: the target (path and query, as sent) and every header, in order."""

    method: str
    url: str
    target: str
    headers: list[tuple[str, str]]
    content: bytes | None

    @property
    def path(self) -> str:
        return unquote(self.target.partition("?")[0])

    def encoded(self) -> bytes:
        """The request as sent: header values in UTF-8, as httpx sends them."""
        lines = [f"{self.method} {self.target} HTTP/1.1", *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode() + (self.content or b"")


class Wire:
    """One connection per request (`Connection: close`); nothing is kept between requests."""

    def __init__(self, base_url: str, host: str, port: int, host_header: str, prefix: str) -> None:
        self.base_url, self.host, self.port, self.host_header, self.prefix = base_url, host, port, host_header, prefix

    @classmethod
    def serving(cls, base_url: str) -> Wire | None:
        """The wire for `base_url`, or None if it must go to httpx (not plain http, a proxy configured, ...)."""
        if not base_url.startswith("http://") or not base_url.isascii() or _proxy_configured():
            return None
        try:
            parts = urlsplit(base_url)
            port = parts.port or 80
        except ValueError:
            return None
        host = parts.hostname
        prefix = parts.path.rstrip("/")
        if not host or parts.query or parts.fragment or "@" in parts.netloc or _plain_target(prefix + "/") is None:
            return None
        netloc = parts.netloc.lower()
        host_header = netloc.removesuffix(":80") if parts.port == 80 else netloc
        return cls(base_url, host, port, host_header, prefix)

    def build(
        self, method: str, path: str, params: object, content: bytes | None, headers: list[tuple[str, str]]
    ) -> Request | None:
        """The request, or None if httpx would send it differently (then it goes to httpx)."""
        if params or not path.startswith("/") or path.startswith("//") or not method.isalpha():
            return None
        target = _plain_target(self.prefix + path)
        if target is None or not all(_plain_header(name, value) for name, value in headers):
            return None
        sent: list[tuple[str, str]] = [
            ("Host", self.host_header),
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("Connection", "close"),
            ("User-Agent", USER_AGENT),
        ]
        if content is not None or method in ("POST", "PUT", "PATCH"):  # httpx's rule
            sent.append(("Content-Length", str(len(content or b""))))
        sent.extend(headers)
        return Request(method, f"{self.base_url.rstrip('/')}{path}", target, sent, content)

    @staticmethod
    def describe(request: Request) -> tuple[str, str, list[tuple[str, str]]]:
        return request.method, request.url, request.headers

    def exchange(self, request: Request, timeout: Timeout) -> Answer:
        """Send and read the whole answer (at most MAX_ANSWER_SIZE bytes, decoded)."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout.connect)
        except TimeoutError:
            raise WireError("timeout", "ConnectTimeout") from None
        except OSError:
            raise WireError("connect", "ConnectError") from None
        try:
            sock.settimeout(timeout.read)
            write_error = None
            try:
                sock.sendall(request.encoded())
            except TimeoutError:
                raise WireError("timeout", "WriteTimeout") from None
            except OSError:  # the peer may have answered (and closed) before reading it all: read that answer
                write_error = WireError("other", "WriteError")
            reader = http1.Reader(sock)
            try:
                head = reader.head()
                content = _read_bounded(reader.body(head, request.method), head, request.path)
            except TimeoutError:
                raise write_error or WireError("timeout", "ReadTimeout") from None
            except http1.ProtocolError:  # a bad status line, a body cut short, a close before the answer
                raise write_error or WireError("broke", "RemoteProtocolError") from None
            except OSError:
                raise write_error or WireError("broke", "ReadError") from None
            return Answer(head.status, head.reason, _Headers(head.headers), content, request.path)
        finally:
            sock.close()

    def close(self) -> None:
        pass


def _proxy_configured() -> bool:
    """Any `*_proxy` variable (httpx would use it), except no_proxy."""
    return any(v and k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k, v in os.environ.items())


def _plain_target(target: str) -> str | None:
    """`target` if httpx would send it unchanged, else None."""
    if len(target) > MAX_TARGET or not set(target) <= _PLAIN | {"%"}:
        return None
    pos = target.find("%")
    while pos != -1:
        if not set(target[pos + 1 : pos + 3]) <= _HEX or len(target[pos + 1 : pos + 3]) != 2:
            return None
        pos = target.find("%", pos + 1)
    path, question, query = target.partition("?")
    if any(segment in (".", "..") for segment in path.split("/")) or (question and not query):
        return None
    return target


def _plain_header(name: str, value: str) -> bool:
    """A token name none of the wire's own headers, and a value httpx sends as given: no control characters, no
    leading or trailing blank."""
    if not name or not set(name) <= _TOKEN or name.lower() in _OWN_HEADERS:
        return False
    if value != value.strip(" \t"):
        return False
    return not any(ord(c) < 0x20 and c != "\t" or c == "\x7f" for c in value)


def _read_bounded(pieces: Iterator[bytes], head: http1.Head, path: str) -> bytes:
    chunks, size = [], 0
    encoding = ",".join(head.values("content-encoding")).strip().lower()
    decoder = zlib.decompressobj(47) if encoding in ("gzip", "deflate") else None  # 47: gzip or zlib header
    for piece in pieces:
        if decoder is not None:
            try:
                piece = decoder.decompress(piece)
            except zlib.error:
                raise WireError("other", "DecodingError") from None
        size += len(piece)
        if size > MAX_ANSWER_SIZE:
            raise too_large(path, head.status)
        chunks.append(piece)
    return b"".join(chunks)


class _Headers(Mapping[str, str]):
    """Answer headers as httpx shows them: names lowercased, repeated ones joined with ", ", values UTF-8."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            key, value = name.lower(), _utf8(value)
            self._values[key] = f"{self._values[key]}, {value}" if key in self._values else value

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _utf8(value: str) -> str:
    """Header bytes arrive decoded as Latin-1; httpx shows UTF-8 when they are UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
