"""Publish and enqueue reach their ASGI app before Starlette's router (`routes/publish.FastPath`): the answers at the
edges of that lane — methods, paths, auth, bodies that arrive late or in pieces, pipelined requests, one write per
answer — are those of every other route, and what was answered 2xx is stored."""

from __future__ import annotations

import json

import httpx
import pytest

from qstash_cli import devcreds
from tests.server.helpers import FakeTransport, raw_exchange

DEST = "http://127.0.0.1:9/lane"  # never delivered while the test runs: every publish here is delayed an hour
DELAY = {"Upstash-Delay": "1h"}


def _json_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    return r.json()["error"]


def test_other_methods_and_paths_are_answered_by_the_router(dev_server) -> None:
    with dev_server.client() as c:
        assert "not allowed" in _json_error(c.get(f"/v2/publish/{DEST}"), 405)
        assert "not allowed" in _json_error(c.put(f"/v2/enqueue/q1/{DEST}"), 405)
        assert "not found" in _json_error(c.post("/v2/enqueue/q1"), 404)  # no destination part at all
        assert "missing destination" in _json_error(c.post("/v2/publish/", headers=DELAY), 400)
        r = c.post(f"/v2/enqueue/q1/{DEST}", content=b"queued", headers=DELAY)
        assert r.status_code == 200, r.text
        assert c.get(f"/v2/messages/{r.json()['messageId']}").json()["queueName"] == "q1"


def test_auth_and_errors_match_the_other_routes(dev_server) -> None:
    url = f"{dev_server.url}/v2/publish/{DEST}"
    assert "unauthorized" in _json_error(httpx.post(url, content=b"x"), 401)
    _json_error(httpx.post(url, content=b"x", headers={"Authorization": devcreds.DEV_TOKEN}), 401)  # no Bearer
    r = httpx.post(url, content=b"x", params={"qstash_token": dev_server.token}, headers=DELAY)
    assert r.status_code == 200 and r.json()["messageId"].startswith("msg_")
    with dev_server.client() as c:
        assert "Upstash-Delay" in _json_error(c.post(f"/v2/publish/{DEST}", headers={"Upstash-Delay": "soon"}), 400)
        assert "retries" in _json_error(c.post(f"/v2/publish/{DEST}", headers={"Upstash-Retries": "999"}), 412)
        assert "not found" in _json_error(c.post("/v2/publish/no-such-group", headers=DELAY), 404)
    head = _request(dev_server.port, extra=f"Content-Length: {10**9}\r\n\r\n")  # and no body sent
    [(status, answer)] = _answers(raw_exchange(dev_server.port, head))
    assert status == 413 and "exceeds the limit" in answer["error"]


def _request(port: int, *, extra: str = "") -> bytes:
    head = (
        f"POST /v2/publish/{DEST} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {devcreds.DEV_TOKEN}\r\n"
        f"Upstash-Delay: 1h\r\nContent-Type: text/plain\r\n{extra}"
    )
    return head.encode()


def _answers(raw: bytes) -> list[tuple[int, dict]]:
    """(status, JSON body) of each HTTP/1.1 answer in `raw`, in order."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(v) for k, _, v in (x.partition(": ") for x in lines[1:]) if k.lower() == "content-length")
        out.append((int(lines[0].split()[1]), json.loads(rest[:length])))
        raw = rest[length:]
    return out


def _stored_body(dev_server, message_id: str) -> str:
    with dev_server.client() as c:
        return c.get(f"/v2/messages/{message_id}").json()["body"]


def test_a_body_sent_after_the_headers_is_read_whole(dev_server) -> None:
    """The headers alone first, the body 0.3 s later: the lane waits for it (no `BODY_RECEIVED` mark on the scope)."""
    body = b"late body"
    head = _request(dev_server.port, extra=f"Content-Length: {len(body)}\r\n\r\n")
    [(status, answer)] = _answers(raw_exchange(dev_server.port, head, pause=0.3, then=body))
    assert status == 200
    assert _stored_body(dev_server, answer["messageId"]) == "late body"


def test_a_chunked_body_is_read_whole(dev_server) -> None:
    head = _request(dev_server.port, extra="Transfer-Encoding: chunked\r\n\r\n")
    [(status, answer)] = _answers(
        raw_exchange(dev_server.port, head + b"5\r\nhello\r\n", pause=0.2, then=b"6\r\n world\r\n0\r\n\r\n")
    )
    assert status == 200
    assert _stored_body(dev_server, answer["messageId"]) == "hello world"


@pytest.mark.parametrize("count", [2, 5])
def test_pipelined_publishes_are_answered_in_order_each_in_one_piece(dev_server, count: int) -> None:
    bodies = [f"pipelined {i}".encode() for i in range(count)]
    payload = b"".join(_request(dev_server.port, extra=f"Content-Length: {len(b)}\r\n\r\n") + b for b in bodies)
    answers = _answers(raw_exchange(dev_server.port, payload))
    assert [status for status, _ in answers] == [200] * count
    assert [_stored_body(dev_server, a["messageId"]) for _, a in answers] == [b.decode() for b in bodies]


def test_writes_of_one_turn_leave_in_one_write_and_close_flushes_first() -> None:
    import asyncio

    from qstash_cli.server.connections import Coalescing

    async def scenario() -> FakeTransport:
        real = FakeTransport()
        t = Coalescing(real, asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")
        t.write(b"body")
        assert real.writes == []  # nothing leaves before the turn ends
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        t.write(b"last")
        t.close()  # flushes before it closes
        assert real.writes[-1] == b"last" and real.closed
        assert t.get_extra_info("peername") == "info:peername"  # everything else is the real transport's
        return real

    assert len(asyncio.run(scenario()).writes) == 2
