"""Connection limits uvicorn does not have: a deadline for a request's headers, a bound on their bytes, and a cap on
open connections that makes room by closing the longest-waiting idle one, so slow or idle clients never lock others
out.

- A new connection that sends nothing is closed after `idle_timeout`; between two requests uvicorn's keep-alive
  timeout does the same.
- Once a request's first byte has arrived, its request line and headers must be complete within `header_timeout`
  (a 408 JSON answer, then close) and stay under `MAX_HEAD_BYTES` (431 JSON, then close): a client trickling
  headers holds at most that much memory for at most that long.
- At most `max_connections` are open. One more closes the connection that has waited longest without a request in
  flight (idle, or still sending headers); when every connection has a request in flight the newcomer gets 503 JSON.
- A body answered before it was read (413) is read and dropped up to `DRAIN_BYTES` / `DRAIN_SECONDS`, then closed.

Writes are coalesced (`Coalescing`): uvicorn writes a response's head and its body separately, two `send` system
calls per answer; the bytes written during one turn of the event loop go out in one.
"""

from __future__ import annotations

import json
from typing import Any

MAX_HEAD_BYTES = 256 * 1024  # request line + headers, as received (the app itself answers 431 past 64 kB of headers)
DRAIN_BYTES, DRAIN_SECONDS = 64 * 1024 * 1024, 60.0  # the unread rest of a body answered early: dropped up to this
BODY_RECEIVED = "qstash.body_received"  # scope key: the request's body was complete when its app started
REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


def base_protocol(name: str = "auto") -> type:
    """uvicorn's HTTP protocol class: `auto` picks as uvicorn does (httptools when installed, else h11)."""
    if name != "h11":
        try:
            import httptools  # noqa: F401
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

            return HttpToolsProtocol
        except ImportError:
            if name == "httptools":
                raise
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return H11Protocol


class Coalescing:
    """A transport whose writes made during one turn of the event loop leave in one system call (at the end of the
    turn, or before `close`); everything else is the wrapped transport's."""

    __slots__ = ("_t", "_loop", "_out", "is_closing", "pause_reading", "resume_reading", "get_extra_info")

    def __init__(self, transport: Any, loop: Any) -> None:
        self._t = transport
        self._loop = loop
        self._out: list[bytes] = []
        # called on every request: the transport's own methods, not a lookup through __getattr__
        self.is_closing = transport.is_closing
        self.pause_reading = transport.pause_reading
        self.resume_reading = transport.resume_reading
        self.get_extra_info = transport.get_extra_info

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and not self._t.is_closing():
            self._t.write(out[0] if len(out) == 1 else b"".join(out))

    def close(self) -> None:
        self._flush()
        self._t.close()

    def abort(self) -> None:
        self._out = []
        self._t.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


def guarded(base: type, *, header_timeout: float, idle_timeout: float, max_connections: int) -> type:
    """`base` (a uvicorn HTTP protocol class) with the limits above."""

    class Guarded(base):  # type: ignore[misc, valid-type]
        _g_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(Coalescing(transport, self.loop))
            self._g_cycle: Any = None
            self._g_waiting = True  # no request in flight: idle, or still sending a request's headers
            self._g_started = False  # the first byte of the next request has arrived
            self._g_bytes = 0
            self._g_limit = MAX_HEAD_BYTES
            self._g_since = self.loop.time()
            self._g_arm(idle_timeout, None)
            if sum(1 for c in self.connections if not c.transport.is_closing()) > max_connections:
                self._g_make_room()

        def connection_lost(self, exc: Exception | None) -> None:
            self._g_cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._g_waiting:
                self._g_bytes += len(data)
                if not self._g_started:
                    self._g_started = True
                    self._g_arm(header_timeout, f"request headers not received within {header_timeout:g}s")
            super().data_received(data)
            self._g_check()
            if self._g_waiting and self._g_bytes > self._g_limit:
                if self._g_limit == DRAIN_BYTES:
                    self.transport.close()
                else:
                    self._g_refuse(431, f"request line and headers exceed {MAX_HEAD_BYTES} bytes")

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._g_check():
                return  # a pipelined request started at once
            # answered before the request body was read (a 413): uvicorn reads and drops the rest of it
            draining = bool(getattr(self._g_cycle, "more_body", False))
            self._g_waiting, self._g_started, self._g_bytes = True, draining, 0
            self._g_limit = DRAIN_BYTES if draining else MAX_HEAD_BYTES
            self._g_since = self.loop.time()  # idle from now on: uvicorn's keep-alive timeout closes it
            if draining:
                self._g_arm(DRAIN_SECONDS, None)

        # -- helpers ------------------------------------------------------------------------------------------

        def _g_check(self) -> bool:
            """True when a new request's headers are complete (uvicorn made a new request cycle). Its scope says
            whether the whole body has arrived too (`BODY_RECEIVED`), before the app starts to read it."""
            if self.cycle is not None and self.cycle is not self._g_cycle:
                self._g_cycle = self.cycle
                if not self.cycle.more_body:
                    self.cycle.scope[BODY_RECEIVED] = True
                self._g_waiting, self._g_limit = False, MAX_HEAD_BYTES
                self._g_cancel()
                return True
            return False

        def _g_arm(self, seconds: float, message: str | None) -> None:
            self._g_cancel()
            self._g_timer = self.loop.call_later(seconds, self._g_expire, message)

        def _g_cancel(self) -> None:
            if self._g_timer is not None:
                self._g_timer.cancel()
                self._g_timer = None

        def _g_expire(self, message: str | None) -> None:
            self._g_timer = None
            if not self._g_waiting or self.transport.is_closing():
                return
            if message is None:
                self.transport.close()
            else:
                self._g_refuse(408, message)

        def _g_refuse(self, status: int, message: str) -> None:
            self._g_cancel()
            if self.transport.is_closing():
                return
            body = json.dumps({"error": message}).encode()
            head = (
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head % (status, REASONS[status], len(body)) + body)
            self.transport.close()

        def _g_make_room(self) -> None:
            idle = [
                c
                for c in self.connections
                if c is not self and getattr(c, "_g_waiting", False) and not c.transport.is_closing()
            ]
            if idle:
                oldest = min(idle, key=lambda c: c._g_since)
                oldest._g_cancel()
                oldest.transport.close()
            else:
                self._g_refuse(503, f"too many connections: {max_connections} requests in flight")

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded
