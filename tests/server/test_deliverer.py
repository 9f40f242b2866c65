"""The delivery process (server/deliverer.py): an attempt's headers and exchange run in a child process and come
back as `outbound.Client` would give them — the same Response, the same exceptions — and the child's life follows the
server's."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import httpx
import pytest

from qstash_cli.server import deliverer, outbound
from qstash_cli.server.attempt_headers import attempt_headers
from qstash_cli.signing import verify
from tests.live import free_port
from tests.server.helpers import Peer, wait_until

KEY = "sig_test_current"
OK = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Reply: yes\r\n\r\nhello"


def _args(url: str, body: bytes = b"payload", forwarded: dict | None = None) -> tuple:
    return (url, body, "msg_1", 2, "10.0.0.1", [("Upstash-Workflow-Runid", "wfr_1")], "scd_1", None,
            forwarded or {"Content-Type": ["text/plain"], "Host": ["evil"]}, int(time.time()))  # fmt: skip


def _spec(url: str, method: str = "POST", limit: int = 100, timeout: float = 5.0) -> deliverer.Spec:
    return deliverer.Spec(KEY, method, _args(url), 5.0, limit, timeout)


class Silent:
    """A loopback server that reads requests and never answers."""

    async def __aenter__(self) -> Silent:
        self.server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        self.got = asyncio.Event()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.got.set()
        await reader.read()  # until the client goes away
        writer.close()


def test_an_attempt_in_the_child_is_what_the_client_would_send_and_get() -> None:
    async def go() -> tuple:
        remote = deliverer.Remote()
        try:
            async with Peer([(OK, False)]) as peer:
                sent, response = await remote.attempt(_spec(peer.url + "/t?a=1", "PUT", 1 << 20, 5.0))
                return sent, response, peer.requests, peer.url
        finally:
            remote.close()

    sent, response, requests, url = asyncio.run(go())
    assert isinstance(response, outbound.Response)
    assert (response.status, response.body, response.truncated) == (201, b"hello", False)
    assert ("X-Reply", "yes") in response.headers
    signature = dict(sent)["Upstash-Signature"]
    # the same headers the engine builds in process, except the signature's own iat/exp/jti
    expected = attempt_headers(KEY, *_args(url + "/t?a=1"))
    assert [h for h in sent if h[0] != "Upstash-Signature"] == [h for h in expected if h[0] != "Upstash-Signature"]
    assert verify(signature, b"payload", [("current", KEY)], url=url + "/t?a=1").valid
    (raw,) = requests
    assert raw.startswith(b"PUT /t?a=1 HTTP/1.1\r\n") and raw.endswith(b"\r\n\r\npayload")
    assert b"Host: evil" not in raw and b"Upstash-Caller-Ip: 10.0.0.1" in raw


@pytest.mark.parametrize(
    ("url", "kind", "text"),
    [
        ("refused", ConnectionRefusedError, "refused"),
        ("ftp://127.0.0.1/x", ValueError, "unsupported URL"),
        ("timeout", TimeoutError, ""),
    ],
)
def test_the_exchange_raises_in_the_server_what_it_raised_in_the_child(url: str, kind: type, text: str) -> None:
    async def go() -> object:
        remote = deliverer.Remote()
        try:
            if url == "timeout":
                async with Silent() as peer:
                    return (await remote.attempt(_spec(peer.url, "POST", 100, 0.3)))[1]
            target = f"http://127.0.0.1:{free_port()}/" if url == "refused" else url
            return (await remote.attempt(_spec(target, "POST", 100, 5.0)))[1]
        finally:
            remote.close()

    error = asyncio.run(go())
    assert isinstance(error, kind), error
    assert text in str(error)


def test_a_child_that_dies_fails_its_exchanges_and_the_next_one_starts_a_new_child() -> None:
    async def go() -> tuple:
        remote = deliverer.Remote()
        try:
            async with Silent() as silent:
                attempt = asyncio.ensure_future(remote.attempt(_spec(silent.url, "POST", 100, 30.0)))
                await asyncio.wait_for(silent.got.wait(), 20)  # the child sent it and waits for the answer
                first = remote.pid
                os.kill(first, signal.SIGKILL)
                sent, error = await asyncio.wait_for(attempt, 10)
            async with Peer([(OK, False)]) as peer:
                again = await remote.attempt(_spec(peer.url, "POST", 100, 5.0))
            return sent, error, again, first, remote.pid
        finally:
            remote.close()

    sent, error, (sent2, response), first, second = asyncio.run(go())
    assert sent is None and isinstance(error, ConnectionError) and "delivery process stopped" in str(error)
    assert isinstance(response, outbound.Response) and response.status == 201 and sent2
    assert first != second


def test_closing_stops_the_child() -> None:
    """The child sees its socket shut and exits by itself (0), not killed after close's wait."""

    async def go() -> tuple[int | None, int | None]:
        remote = deliverer.Remote()
        async with Peer([(OK, False)]) as peer:
            await remote.attempt(_spec(peer.url, "POST", 100, 5.0))
        pid = remote.pid
        remote.close()
        return pid, remote.exit_code

    pid, code = asyncio.run(go())
    assert pid is not None and _gone(pid) and code == 0


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"), reason="needs /proc")
def test_the_child_exits_when_the_server_is_killed(dev_server_factory) -> None:
    """SIGKILL leaves no orphan: the child sees its socket close and exits."""
    server = dev_server_factory(quiet=True)
    target = f"http://127.0.0.1:{free_port()}/nobody"  # refused: an attempt is made all the same
    with server.client() as http:
        assert http.post(f"/v2/publish/{target}", content=b"x", headers={"Upstash-Retries": "0"}).status_code == 200
    (child,) = wait_until(lambda: _children(server.proc.pid), timeout=20)
    server.kill()
    wait_until(lambda: _gone(child), timeout=10)


async def _one_delivery(http: httpx.Client) -> bytes:
    """Publish to a fresh peer; the raw request it got."""
    async with Peer([(OK, False)]) as peer:
        assert http.post(f"/v2/publish/{peer.url}/x", content=b"body").status_code == 200
        await asyncio.to_thread(wait_until, lambda: peer.requests, 20)
        return peer.requests[0]


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for a parent that is gone counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.mark.parametrize(("flags", "children"), [({}, 1), ({"one_process": True}, 0)])
def test_the_engine_uses_the_child_by_default_and_one_process_when_asked(dev_server_factory, flags, children) -> None:
    """`qstash dev` delivers through the child; `--one-process` keeps every exchange in the server process."""
    server = dev_server_factory(quiet=True, **flags)
    with server.client() as http:
        raw = asyncio.run(_one_delivery(http))
    assert raw.endswith(b"\r\n\r\nbody") and b"Upstash-Signature: " in raw
    time.sleep(0.2)
    assert len(_children(server.proc.pid)) == children


@pytest.mark.parametrize("broken", ["cannot start", "exits before ready"])
def test_without_a_child_the_attempts_are_made_in_the_server(monkeypatch, broken: str) -> None:
    """Nothing was sent by a child that never became ready: its attempts are made here, once, with a log line."""
    if broken == "cannot start":
        monkeypatch.setattr(deliverer, "child_argv", lambda fd, idle: ["/nonexistent/python"])
    else:
        monkeypatch.setattr(deliverer, "child_argv", lambda fd, idle: [sys.executable, "-c", "import sys; sys.exit(3)"])
    lines: list[str] = []

    async def go() -> tuple:
        remote = deliverer.Remote(lines.append)
        try:
            async with Peer([(OK, False), (OK, False)]) as peer:
                first = await remote.attempt(_spec(peer.url, "POST", 100, 5.0))
                second = await remote.attempt(_spec(peer.url, "POST", 100, 5.0))
                return first, second, len(peer.requests)
        finally:
            remote.close()

    (sent, response), (_, again), requests = asyncio.run(go())
    assert isinstance(response, outbound.Response) and response.status == 201 and sent
    assert isinstance(again, outbound.Response) and requests == 2
    assert len(lines) == 1 and "delivering from the server process" in lines[0]
