"""Small helpers shared by the server tests."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx


def wait_until(fn: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Call `fn` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def states(client: httpx.Client, message_id: str) -> list[str]:
    """The message's log states, oldest first (v2 events)."""
    events = client.get("/v2/events", params={"messageId": message_id, "order": "earliestFirst"}).json()["events"]
    return [e["state"] for e in events]


def dlq_entries(client: httpx.Client) -> list[dict]:
    return client.get("/v2/dlq").json()["messages"]


class FakeTransport:
    """An asyncio transport that keeps what is written (`writes`, `out`) and answers `get_extra_info` from `extra`."""

    def __init__(self, extra: dict[str, Any] | None = None) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.extra = extra or {}

    @property
    def out(self) -> bytes:
        return b"".join(self.writes)

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return self.extra.get(name, f"info:{name}")


def raw_exchange(port: int, payload: bytes, *, pause: float = 0.0, then: bytes = b"") -> bytes:
    """Send `payload` (and `then`, after `pause` seconds) on one connection; the bytes answered until it is idle."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if then:
            time.sleep(pause)
            sock.sendall(then)
        sock.settimeout(1.0)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return got
            if not chunk:
                return got
            got += chunk


class Peer:
    """A loopback TCP server answering each request with the next canned reply (closing after it if asked)."""

    def __init__(self, replies: list[tuple[bytes, bool]]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> Peer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                reply, close = self.replies.pop(0)
                writer.write(reply)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
