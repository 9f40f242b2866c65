"""The accept path's lane (`server/lane.py`): which publishes it answers itself, which it hands to the ASGI path
untouched, and that its answers are the ASGI path's, byte for byte but the message id and the date.

The first tests drive the real protocol class (uvicorn's httptools protocol with the guard and the lane) over a fake
transport, with a real in-memory store, so they can see which requests reached the ASGI app; the last ones compare
the two paths' raw answers from a running `qstash dev`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from qstash_cli import devcreds
from qstash_cli.server import data, lane
from qstash_cli.server.connections import base_protocol, guarded
from qstash_cli.server.context import Server
from qstash_cli.server.quota import plan
from qstash_cli.server.store import DiskFull, Store
from tests.server.helpers import FakeTransport, raw_exchange

pytest.importorskip("httptools")
uvicorn = pytest.importorskip("uvicorn")
if not lane.has_lane(base_protocol("httptools")):  # a uvicorn without the hooks: qstash dev runs without the lane
    pytest.skip(f"uvicorn {uvicorn.__version__} has no _start_asgi_task: no lane to test", allow_module_level=True)

DEST = "http://127.0.0.1:9/lane"
ADDRESSES = {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000), "socket": None, "sslcontext": None}


class _Engine:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, deliveries: list[Any]) -> None:
        self.added.extend(deliveries)


def _request(
    path: str = f"/v2/publish/{DEST}", body: bytes = b"x", *, headers: str = "", method: str = "POST"
) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer {devcreds.DEV_TOKEN}\r\n"
        f"Upstash-Delay: 1h\r\n{headers}"
    )
    if "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:])
        status = int(lines[0].split()[1])
        if status < 200:  # an interim answer (100 Continue): no body
            raw = rest
            continue
        length = int(fields["content-length"])
        out.append((status, fields, rest[:length]))
        raw = rest[length:]
    return out


def _drive(payload: bytes, *, store: Store | None = None) -> tuple[FakeTransport, list[str], Server]:
    """Feed `payload` to a fresh connection of the laned protocol; (transport, paths the ASGI app saw, server)."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        while (await receive()).get("more_body"):
            pass
        body = b'{"asgi":true}'
        await send({"type": "http.response.start", "status": 299, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    async def scenario() -> tuple[FakeTransport, Server]:
        srv = Server(store or Store(None), _Engine(), None, None, plan("payg"), devcreds.DEV_TOKEN, 600_000)  # type: ignore[arg-type]
        srv.own_address = ("127.0.0.1", 8080)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", proxy_headers=False)
        config.load()
        cls = lane.laned(
            guarded(base_protocol("httptools"), header_timeout=5, idle_timeout=5, max_connections=10),
            lambda: srv,
            lambda: False,
        )
        from uvicorn.server import ServerState

        proto = cls(config=config, server_state=ServerState(), app_state={})
        transport = FakeTransport(ADDRESSES)
        proto.connection_made(transport)
        proto.data_received(payload)
        for _ in range(50):
            await asyncio.sleep(0)
        proto.connection_lost(None)
        return transport, srv

    transport, srv = asyncio.run(scenario())
    return transport, seen, srv


def _stored(srv: Server) -> list[str]:
    return [row[0] for row in srv.store.conn.execute("SELECT id FROM messages ORDER BY id")]


def test_only_the_httptools_protocol_gets_the_lane() -> None:
    assert lane.has_lane(base_protocol("httptools")) and not lane.has_lane(base_protocol("h11"))


def test_a_plain_publish_is_answered_by_the_lane_and_stored_before_its_answer() -> None:
    transport, seen, srv = _drive(_request())
    assert seen == []  # the ASGI app never ran
    [(status, fields, body)] = _answers(transport.out)
    answer = json.loads(body)
    assert status == 200 and fields["content-type"] == "application/json"
    assert answer == {"messageId": answer["messageId"], "url": DEST}
    assert _stored(srv) == [answer["messageId"]]
    assert [d.message_id for d in srv.engine.added] == [answer["messageId"]]  # type: ignore[attr-defined]
    states = [
        r[0] for r in srv.store.conn.execute("SELECT state FROM logs WHERE message_id = ?", (answer["messageId"],))
    ]
    assert states == ["CREATED"]


@pytest.mark.parametrize(
    ("request_bytes", "why"),
    [
        (_request(f"/v2/enqueue/q1/{DEST}"), "enqueue"),
        (_request("/v2/publish/my-group"), "a url group"),
        (_request(method="PUT"), "another method"),
        (_request(headers="Transfer-Encoding: chunked\r\n", body=b"1\r\nx\r\n0\r\n\r\n"), "a chunked body"),
        (_request(headers="Expect: 100-continue\r\n"), "Expect: 100-continue"),
        (_request(headers="X-Forwarded-For: 10.1.2.3\r\n"), "a proxy header"),
        (_request(headers="Upstash-Workflow-RunId: wfr_1\r\n"), "a workflow publish"),
        (_request(headers="Upstash-Message-Id: msg_1\r\n"), "published by a delivery"),
        (_request(f"/v2/publish/{DEST}?qstash_token=t"), "the token in the query"),
        (_request(f"/v2/publish/{DEST}?Upstash-Retries=1"), "settings in the query"),
        (_request(headers="Upstash-Delay: soon\r\n"), "an invalid header (the ASGI path answers the error)"),
        (_request(headers="Upstash-Callback: http://127.0.0.1:8080/x\r\n"), "refused (its own address)"),
        (_request(body=b"x" * (lane.MAX_BODY + 1)), "a large body"),
        (_request().replace(devcreds.DEV_TOKEN.encode(), b"wrong"), "a wrong token"),
        (_request().replace(b"Authorization: Bearer ", b"Authorization: Basic "), "no bearer token"),
    ],
)
def test_what_the_lane_cannot_answer_exactly_goes_to_the_asgi_path_untouched(request_bytes: bytes, why: str) -> None:
    transport, seen, srv = _drive(request_bytes)
    assert len(seen) == 1, why
    [(status, _, body)] = _answers(transport.out)
    assert (status, body) == (299, b'{"asgi":true}'), why
    assert _stored(srv) == [], why  # the lane stored nothing of it


def test_pipelined_publishes_are_answered_in_order_and_share_one_commit() -> None:
    bodies = [f"body {i}".encode() for i in range(4)]
    payload = b"".join(_request(body=b) for b in bodies[:2]) + _request(headers="Expect: 100-continue\r\n")
    payload += b"".join(_request(body=b) for b in bodies[2:])
    transport, seen, srv = _drive(payload)
    answers = _answers(transport.out)
    assert [status for status, _, _ in answers] == [200, 200, 299, 200, 200]
    assert len(seen) == 1
    ids = [json.loads(body)["messageId"] for status, _, body in answers if status == 200]
    stored = dict(srv.store.conn.execute("SELECT id, body FROM messages").fetchall())
    assert [stored[i] for i in ids] == bodies


def test_connection_close_and_http_1_0_are_answered_then_closed() -> None:
    for payload in (
        _request(headers="Connection: close\r\n"),
        _request().replace(b"HTTP/1.1\r\n", b"HTTP/1.0\r\n", 1),
    ):
        transport, seen, _ = _drive(payload)
        [(status, fields, _)] = _answers(transport.out)
        assert seen == [] and status == 200
        assert fields["connection"] == "close" and transport.closed


def test_a_deduplicated_publish_is_answered_202_by_the_lane() -> None:
    first = _request(headers="Upstash-Deduplication-Id: d1\r\n")
    transport, seen, srv = _drive(first + first)
    (s1, _, b1), (s2, f2, b2) = _answers(transport.out)
    assert seen == [] and (s1, s2) == (200, 202)
    assert json.loads(b2) == {**json.loads(b1), "deduplicated": True}
    assert f2["upstash-deduplication-id"] == "d1"
    assert len(_stored(srv)) == 1


@pytest.mark.parametrize(("error", "status"), [(DiskFull("the disk is full"), 507), (RuntimeError("boom"), 500)])
def test_a_failed_commit_is_answered_as_the_asgi_path_answers_it(
    monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: Any) -> Any:
        raise error

    monkeypatch.setattr(data, "publish_many", fail)
    transport, seen, srv = _drive(_request() + _request())
    answers = _answers(transport.out)
    assert seen == [] and [s for s, _, _ in answers] == [status, status]
    assert all("error" in json.loads(body) for _, _, body in answers)
    assert srv.engine.added == []  # type: ignore[attr-defined]


# -- against a running qstash dev -------------------------------------------------------------------------------


def _shape(raw: bytes) -> tuple[bytes, list[str], list[str]]:
    """An answer with what differs between two publishes taken out: the status line, the header lines but `date`,
    the JSON keys."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    names = [line.decode() for line in lines if not line.lower().startswith(b"date:")]
    return (
        status,
        [n.replace(n.split(": ")[1], "N") if n.startswith("content-length") else n for n in names],
        sorted(json.loads(body)),
    )


@pytest.mark.parametrize("extra", ["", "Connection: close\r\n", "Upstash-Deduplication-Id: {path}\r\n"])
def test_the_lane_answers_byte_for_byte_as_the_asgi_path(dev_server, extra: str) -> None:
    """The same publish sent with a Content-Length (the lane) and chunked (the ASGI path): the same answer. With a
    deduplication id (one per path, of the same length), the second of two sends: 202 and its header."""
    host = f"127.0.0.1:{dev_server.port}".encode()
    times = 2 if "{path}" in extra else 1
    plain = _request(headers=extra.format(path="lane")).replace(b"127.0.0.1:8080", host)
    chunked = _request(
        headers=extra.format(path="asgi") + "Transfer-Encoding: chunked\r\n", body=b"1\r\nx\r\n0\r\n\r\n"
    )
    laned = raw_exchange(dev_server.port, plain * times).replace(b"lane", b"path")
    asgi = raw_exchange(dev_server.port, chunked.replace(b"127.0.0.1:8080", host) * times).replace(b"asgi", b"path")
    assert laned.count(b"HTTP/1.1 ") == asgi.count(b"HTTP/1.1 ") == times
    assert _shape(laned[laned.rindex(b"HTTP/1.1 ") :]) == _shape(asgi[asgi.rindex(b"HTTP/1.1 ") :])
    assert laned.startswith(b"HTTP/1.1 200 OK\r\n")
    with dev_server.client() as c:
        assert c.get("/v2/logs").json()["events"][0]["state"] == "CREATED"
