"""A small keep-alive HTTP/1.1 client for deliveries: asyncio protocol + httptools' response parser.

httpx/httpcore/anyio/h11 cost ~70% of the server's CPU per delivery (pure-Python layers); this does one request on
one pooled connection with a C parser. No redirects, no proxies, no decompression (the raw body is what is logged).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

import httptools

MAX_IDLE_PER_HOST = 64  # the default; `Client(max_idle=)` sets it (the engine: its worker count)
_SAFE_TARGET = "!#$%&'()*+,/:;=?@[]~"


class ProtocolError(Exception):
    """The peer sent something that is not a valid HTTP/1.1 response."""


class StaleConnection(ConnectionError):
    """A reused keep-alive connection was closed by the peer before any response byte."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool = False


@dataclass
class _Exchange:
    head: bool
    limit: int
    done: asyncio.Future
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    got_bytes: bool = False
    headers_done: bool = False
    framed: bool = False  # Content-Length or chunked: the end is known without EOF


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.ex: _Exchange | None = None
        self.closed = False
        self.reusable = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        ex = self.ex
        if ex is None:  # bytes while idle: not reusable
            self.close()
            return
        ex.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(ProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._finish(ProtocolError(f"invalid HTTP response: {exc}"))

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex = self.ex
        if ex is None or ex.done.done():
            return
        if ex.headers_done and not ex.framed:  # body delimited by the close
            self.reusable = False
            self._finish(None)
        elif not ex.got_bytes:
            self._finish(StaleConnection(str(exc) if exc else "connection closed before a response"))
        else:
            self._finish(ProtocolError(f"connection closed mid-response{f': {exc}' if exc else ''}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.ex is not None
        key = name.decode("latin-1")
        low = key.lower()
        if low == "content-length" or (low == "transfer-encoding" and b"chunked" in value.lower()):
            self.ex.framed = True
        self.ex.headers.append((key, value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        ex = self.ex
        assert ex is not None
        status = self.parser.get_status_code()
        if status < 200:  # 1xx: an interim response, the real one follows
            ex.headers.clear()
            ex.framed = False
            return
        ex.status, ex.headers_done = status, True
        if ex.head or status in (204, 304):
            self.reusable = False  # the parser does not know the body is empty; do not reuse
            self._finish(None)

    def on_body(self, body: bytes) -> None:
        ex = self.ex
        if ex is None or ex.done.done():
            return
        ex.chunks.append(body)
        ex.size += len(body)
        if ex.size > ex.limit:
            self.reusable = False
            self._finish(None)

    def on_message_complete(self) -> None:
        ex = self.ex
        if ex is not None and ex.headers_done and not ex.done.done():
            if not self.parser.should_keep_alive():
                self.reusable = False
            self._finish(None)

    def _finish(self, error: Exception | None) -> None:
        ex = self.ex
        if ex is None or ex.done.done():
            return
        if error is not None:
            self.reusable = False
            ex.done.set_exception(error)
        else:
            ex.done.set_result(None)

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class _Target:
    """What a request needs of its URL: the pool key, the request target, the Host value, Basic credentials."""

    scheme: str
    host: str
    port: int
    target: str
    netloc: str
    basic: str | None


@functools.lru_cache(maxsize=1024)
def _target(url: str) -> _Target:
    """A URL taken apart once: a server delivers to the same few URLs again and again. Raises ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported URL {url!r}")
    target = quote(parts.path or "/", safe=_SAFE_TARGET)
    if parts.query:
        target += "?" + quote(parts.query, safe=_SAFE_TARGET)
    basic = None
    if parts.username is not None:
        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        basic = f"Basic {base64.b64encode(cred).decode()}"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return _Target(parts.scheme, parts.hostname, port, target, parts.netloc.rpartition("@")[2], basic)


def _expire(done: asyncio.Future) -> None:
    if not done.done():
        done.set_exception(TimeoutError())


_FRAMING = re.compile("[\r\n\0]")  # never inside a header's name or value: it would frame a request of its own


class Client:
    """Pooled keep-alive connections per (scheme, host, port). Not thread-safe; one event loop."""

    def __init__(self, tls: ssl.SSLContext, max_idle: int = MAX_IDLE_PER_HOST) -> None:
        self.tls = tls
        self.max_idle = max_idle  # idle connections kept per host: as many as exchanges run at once, else a burst
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}  # closes and reopens connections

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        connect_timeout: float,
        limit: int,
        timeout: float | None = None,
    ) -> Response:
        """One exchange, within `timeout` seconds in all when given (else the caller bounds it): one timer, not an
        `asyncio.timeout` scope per delivery. Raises OSError/TimeoutError/ProtocolError/ValueError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        where = _target(url)
        host, port = where.host, where.port
        key = (where.scheme, host, port)
        payload = self._encode(method, where, headers, body)
        head = method.upper() == "HEAD"
        for attempt in (0, 1):
            conn, reused = self._take(key), True
            if conn is None:
                wait = connect_timeout if deadline is None else min(connect_timeout, deadline - loop.time())
                conn, reused = await self._connect(where.scheme, host, port, wait), False
            ex = _Exchange(head, limit, loop.create_future())
            conn.ex = ex
            timer = loop.call_at(deadline, _expire, ex.done) if deadline is not None else None
            ok = False
            try:
                assert conn.transport is not None
                conn.transport.write(payload)
                await ex.done
                ok = True
            except StaleConnection:
                if reused and attempt == 0:
                    continue  # the peer dropped an idle connection as we reused it: one fresh try
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                conn.ex = None
                if ok and conn.reusable and not conn.closed:
                    self._put(key, conn)
                else:
                    conn.close()
            data = b"".join(ex.chunks)
            return Response(ex.status, ex.headers, data[:limit], truncated=len(data) > limit)
        raise AssertionError("unreachable")

    def _encode(self, method: str, where: _Target, headers: list[tuple[str, str]], body: bytes) -> bytes:
        lines = [f"{method} {where.target} HTTP/1.1", f"Host: {where.netloc}"]
        names = set()
        for name, value in headers:
            if not name or _FRAMING.search(name) or _FRAMING.search(value):
                raise ValueError(f"invalid header {name!r}")
            names.add(name.lower())
            lines.append(f"{name}: {value}")
        if "accept" not in names:
            lines.append("Accept: */*")
        if where.basic is not None and "authorization" not in names:
            lines.append(f"Authorization: {where.basic}")
        if body or method.upper() in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        return head + body if body else head

    def _take(self, key: tuple[str, str, int]) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    def _put(self, key: tuple[str, str, int], conn: _Conn) -> None:
        conn.parser = httptools.HttpResponseParser(conn)
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self, scheme: str, host: str, port: int, timeout: float) -> _Conn:
        loop = asyncio.get_running_loop()
        tls = self.tls if scheme == "https" else None
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(_Conn, host, port, ssl=tls, server_hostname=host if tls else None)
        return conn

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
