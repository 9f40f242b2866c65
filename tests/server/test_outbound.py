"""The delivery HTTP client (server/outbound.py) against raw asyncio peers: framing, keep-alive reuse, a stale
pooled connection, the response size cap, HEAD/204, what goes on the wire."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from qstash_cli.server.outbound import Client, ProtocolError
from tests.server.helpers import Peer


def _client() -> Client:
    return Client(ssl.create_default_context())


def run(coro):
    return asyncio.run(coro)


def test_content_length_chunked_and_close_delimited_bodies_with_reuse():
    async def go():
        replies = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello", False),
            (b"HTTP/1.1 503 Nope\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", False),
            (b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end", True),
        ]
        async with Peer(replies) as peer:
            c = _client()
            r1 = await c.request(
                "POST", f"{peer.url}/p?q=1", [("Content-Type", "text/plain")], b"body", connect_timeout=5, limit=1000
            )
            r2 = await c.request("PUT", f"{peer.url}/x", [], b"", connect_timeout=5, limit=1000)
            r3 = await c.request("GET", f"{peer.url}/y", [], b"", connect_timeout=5, limit=1000)
            c.close()
            return peer, r1, r2, r3

    peer, r1, r2, r3 = run(go())
    assert (r1.status, r1.body, [v for k, v in r1.headers if k == "X-A"]) == (200, b"hello", ["1", "2"])
    assert (r2.status, r2.body) == (503, b"abcde")
    assert (r3.status, r3.body) == (201, b"until the end")
    assert peer.connections == 1  # one keep-alive connection for all three
    first = peer.requests[0].decode()
    assert first.startswith("POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert "Content-Type: text/plain\r\n" in first and "Content-Length: 4\r\n" in first and first.endswith("body")
    assert "Content-Length: 0\r\n" in peer.requests[1].decode()
    assert "Content-Length" not in peer.requests[2].decode()


def test_stale_pooled_connection_is_retried_once_on_a_fresh_one():
    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        async with Peer([(ok, True), (ok, True)]) as peer:  # closes after each reply without saying so
            c = _client()
            r1 = await c.request("POST", peer.url, [], b"a", connect_timeout=5, limit=100)
            await asyncio.sleep(0.05)
            r2 = await c.request("POST", peer.url, [], b"b", connect_timeout=5, limit=100)
            c.close()
            return peer, r1, r2

    peer, r1, r2 = run(go())
    assert (r1.status, r2.status, r2.body) == (200, 200, b"ok")
    assert peer.connections == 2 and len(peer.requests) == 2


def test_body_is_capped_and_head_and_204_need_no_body():
    async def go():
        replies = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", False),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", False),
            (b"HTTP/1.1 204 No Content\r\n\r\n", False),
        ]
        async with Peer(replies) as peer:
            c = _client()
            capped = await c.request("POST", peer.url, [], b"", connect_timeout=5, limit=4)
            head = await asyncio.wait_for(c.request("HEAD", peer.url, [], b"", connect_timeout=5, limit=4), 5)
            empty = await asyncio.wait_for(c.request("DELETE", peer.url, [], b"", connect_timeout=5, limit=4), 5)
            c.close()
            return capped, head, empty

    capped, head, empty = run(go())
    assert (capped.body, capped.truncated) == (b"0123", True)
    assert (head.status, head.body) == (200, b"")
    assert (empty.status, empty.body) == (204, b"")


def test_garbage_refused_and_header_injection_are_errors():
    async def go():
        async with Peer([(b"NOT HTTP AT ALL\r\n\r\n", True)]) as peer:
            c = _client()
            with pytest.raises(ProtocolError):
                await c.request("POST", peer.url, [], b"", connect_timeout=5, limit=10)
            with pytest.raises(ValueError):
                await c.request("POST", peer.url, [("X", "a\r\nInjected: 1")], b"", connect_timeout=5, limit=10)
            port = peer.server.sockets[0].getsockname()[1]
        with pytest.raises(OSError):
            await c.request("POST", f"http://127.0.0.1:{port}/", [], b"", connect_timeout=5, limit=10)

    run(go())


def test_the_deadline_covers_the_whole_exchange_and_drops_the_connection():
    """`timeout=`: one timer for the exchange (the engine's delivery timeout); a peer that never answers costs
    exactly that, its connection is closed, and the next request goes on a fresh one."""

    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        silent: list[asyncio.StreamWriter] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            if not silent:  # the first connection never answers
                silent.append(writer)
                await asyncio.sleep(10)
                return
            writer.write(ok)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://u%40x:p%3Aw@127.0.0.1:{server.sockets[0].getsockname()[1]}/a b?q=1 2"
        c = _client()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await c.request("POST", url, [], b"x", connect_timeout=5, limit=10, timeout=0.3)
        took = loop.time() - start
        r = await c.request("POST", url, [], b"x", connect_timeout=5, limit=10, timeout=5)
        c.close()
        server.close()
        return took, r, silent

    took, r, silent = run(go())
    assert 0.25 <= took < 2 and (r.status, r.body) == (200, b"ok")
    assert len(silent) == 1  # the second request did not reuse the timed-out connection


def test_a_url_is_taken_apart_as_urlsplit_does():
    from qstash_cli.server.outbound import _target

    t = _target("http://u%40x:p%3Aw@Example.COM:8081/a b?q=1 2")
    assert (t.scheme, t.host, t.port, t.netloc) == ("http", "example.com", 8081, "Example.COM:8081")
    assert t.target == "/a%20b?q=1%202"
    assert t.basic == "Basic dUB4OnA6dw=="  # base64 of "u@x:p:w"
    assert (_target("https://h").port, _target("https://h").target, _target("https://h").basic) == (443, "/", None)
    for bad in ("ftp://h/x", "http:///nohost", "http://h:99999/"):
        with pytest.raises(ValueError):
            _target(bad)


def test_the_idle_pool_keeps_as_many_connections_per_host_as_asked():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def go(max_idle: int) -> tuple[int, int]:
        async with Peer([(ok, False)] * 8) as peer:
            client = Client(ssl.create_default_context(), max_idle=max_idle)
            sends = [client.request("POST", peer.url, [], b"x", connect_timeout=5, limit=10) for _ in range(4)]
            await asyncio.gather(*sends)  # four at once: four connections
            kept = sum(len(idle) for idle in client._idle.values())
            await asyncio.gather(*(client.request("POST", peer.url, [], b"x", connect_timeout=5, limit=10)
                                   for _ in range(min(max_idle, 4))))  # fmt: skip
            client.close()
            return kept, peer.connections

    assert run(go(2)) == (2, 4)  # two of the four closed; the next two exchanges reuse the two kept
    assert run(go(4)) == (4, 4)
