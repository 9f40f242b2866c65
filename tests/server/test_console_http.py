"""The console's HTTP side without a browser: the page and its token, the SSE live stream, the message detail, the
banner and `--no-console`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from qstash_cli.server.routes import console as console_routes
from qstash_cli.server.store import SCHEMA, Store
from tests.server.helpers import wait_until


def sse(response: httpx.Response) -> Iterator[tuple[str, str | None, Any]]:
    """(event, id, data) for each server-sent event of a streaming response."""
    name, event_id, data = "message", None, []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield name, event_id, json.loads("\n".join(data))
            name, event_id, data = "message", None, []
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data.append(line[6:])


def collect(server: Any, until: Any, headers: dict[str, str] | None = None, **params: str) -> list[tuple]:
    """Read the stream until `until(entries so far)` is true; returns the `entries` events (name, id, data)."""
    got: list[tuple] = []
    deadline = time.monotonic() + 15
    with httpx.stream(
        "GET", f"{server.url}/console/api/stream", params=params, headers={**server.auth, **(headers or {})}, timeout=20
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in sse(response):
            if event[0] in ("entries", "skipped"):
                got.append(event)
            if until([e for ev in got if ev[0] == "entries" for e in ev[2]]):
                return got
            assert time.monotonic() < deadline, f"stream never showed what was expected; got {got}"
    raise AssertionError("stream ended")


def publish(server: Any, url: str, body: bytes = b"hi", **headers: str) -> str:
    r = httpx.post(f"{server.url}/v2/publish/{url}", headers={**server.auth, **headers}, content=body)
    r.raise_for_status()
    return r.json()["messageId"]


def test_stream_sends_new_log_entries_and_resumes_after_the_last_event_id(dev_server, sink):
    first = publish(dev_server, f"{sink.url}/a")
    got = collect(dev_server, lambda es: any(e["messageId"] == first and e["state"] == "DELIVERED" for e in es))
    entries = [e for ev in got for e in ev[2]]
    assert [e["state"] for e in entries if e["messageId"] == first][0] == "CREATED"
    assert entries[0]["kind"] == "published" and [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    last_id = got[-1][1]
    second = publish(dev_server, f"{sink.url}/b")
    again = collect(
        dev_server,
        lambda es: any(e["messageId"] == second and e["state"] == "DELIVERED" for e in es),
        headers={"Last-Event-ID": last_id},
    )
    resumed = [e for ev in again for e in ev[2]]
    assert {e["messageId"] for e in resumed} == {second}  # nothing before the browser's last event again
    assert min(e["seq"] for e in resumed) > int(last_id)


def test_stream_filters_are_those_of_v2_logs(dev_server, sink):
    sink.respond(500, path="/bad")
    bad = publish(dev_server, f"{sink.url}/bad", **{"Upstash-Retries": "0"})
    good = publish(dev_server, f"{sink.url}/good")
    sink.wait_for(1, path="/good")
    got = collect(dev_server, lambda es: any(e["messageId"] == bad for e in es), state="FAILED")
    entries = [e for ev in got for e in ev[2]]
    assert {(e["messageId"], e["state"], e["kind"]) for e in entries} == {(bad, "FAILED", "moved to DLQ")}
    assert good not in json.dumps(got)


def test_stream_needs_the_token_and_takes_it_in_the_query(dev_server):
    assert httpx.get(f"{dev_server.url}/console/api/stream", timeout=5).status_code == 401
    wrong = {"qstash_token": "nope"}
    assert httpx.get(f"{dev_server.url}/console/api/stream", params=wrong, timeout=5).status_code == 401
    assert httpx.get(f"{dev_server.url}/console/api/messages/msg_x", timeout=5).status_code == 401
    with httpx.stream(
        "GET", f"{dev_server.url}/console/api/stream", params={"qstash_token": dev_server.token}, timeout=5
    ) as r:
        assert r.status_code == 200
        assert next(sse(r))[0] == "hello"
    bad = httpx.get(f"{dev_server.url}/console/api/stream", headers=dev_server.auth, params={"fromDate": "x"})
    assert bad.status_code == 400 and "fromDate" in bad.json()["error"]


def test_message_detail_has_the_attempt_as_delivered_with_its_verdict(dev_server, sink):
    sink.respond(503, path="/once", times=1, body="busy")
    mid = publish(dev_server, f"{sink.url}/once", b"payload", **{"Upstash-Forward-X-Team": "data"})
    first, second = sink.wait_for(2, path="/once")
    with dev_server.client() as api:
        assert api.get(f"/v2/messages/{mid}").json()["messageId"] == mid  # still within the grace window
        detail = wait_until(lambda: (d := api.get(f"/console/api/messages/{mid}").json())["retries"] and d)
        missing = api.get("/console/api/messages/msg_nope")
    assert missing.status_code == 404
    failed, delivered = detail["attempts"]
    assert (failed["state"], failed["response"]["status"]) == ("ERROR", 503)
    assert failed["response"]["body"] == {"text": "busy"}
    assert (delivered["state"], delivered["response"]["status"], delivered["number"]) == ("DELIVERED", 200, 2)
    for attempt, received in ((failed, first), (delivered, second)):
        sent = dict(attempt["request"]["headers"])
        assert sent["Upstash-Signature"] == received.header("upstash-signature")
        assert sent["X-Team"] == "data" and sent["Upstash-Retried"] == received.header("upstash-retried")
        assert attempt["request"]["body"] == {"text": "payload"}
        assert attempt["signature"]["valid"] is True and attempt["signature"]["claims"]["sub"] == f"{sink.url}/once"
    assert detail["retries"][0]["error"] == "destination responded with status 503"
    assert detail["message"]["pending"] is False and detail["tasks"][0]["state"] == "DELIVERED"

    with dev_server.client() as api:  # after two rotations the key that signed it is no longer in force
        api.post("/v2/keys/rotate").raise_for_status()
        api.post("/v2/keys/rotate").raise_for_status()
        verdict = api.get(f"/console/api/messages/{mid}").json()["attempts"][1]["signature"]
    assert verdict["valid"] is False and "signature does not match" in verdict["reason"]


def test_message_detail_lists_callbacks(dev_server, sink):
    mid = publish(dev_server, f"{sink.url}/main", **{"Upstash-Callback": f"{sink.url}/cb"})
    sink.wait_for(1, path="/cb")
    with dev_server.client() as api:
        detail = wait_until(lambda: (d := api.get(f"/console/api/messages/{mid}").json())["callbacks"] and d)
        [callback] = detail["callbacks"]
        assert (callback["kind"], callback["url"]) == ("callback", f"{sink.url}/cb")
        back = api.get(f"/console/api/messages/{callback['messageId']}").json()
    assert back["source"] == {"messageId": mid, "kind": "callback"}


def _get(token_in_page: bool, peer: str, path: str, host: str = "127.0.0.1:8080") -> httpx.Response:
    """GET `path` from the console routes in-process, as if from `peer`, with this Host header."""
    app = Starlette(routes=console_routes.ROUTES)
    app.state.srv = SimpleNamespace(token="tok_secret", console_token_in_page=token_in_page)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            return await client.get(path, headers={"Host": host})

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("token_in_page", "peer", "host", "shown"),
    [
        (True, "127.0.0.1", "127.0.0.1:8080", True),
        (True, "127.0.0.1", "localhost:8080", True),
        (True, "127.0.0.1", "attacker.example:8080", False),  # DNS rebinding: a foreign page on our address
        (True, "10.0.0.5", "127.0.0.1:8080", False),
        (False, "127.0.0.1", "127.0.0.1:8080", False),  # --host other than loopback: the page asks for the token
    ],
)
def test_the_page_carries_the_token_only_on_loopback(token_in_page, peer, host, shown):
    page = _get(token_in_page, peer, "/", host)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert ("tok_secret" in page.text) is shown
    assert ('"token": null' in page.text) is not shown


def test_assets_are_served_from_the_package_and_nothing_else():
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        r = _get(True, "127.0.0.1", f"/console/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind) and len(r.content) > 1000
    for name in ("index.html", "..%2Frun.py", ".hidden.js", "nope.js"):
        assert _get(True, "127.0.0.1", f"/console/{name}").status_code == 404


def test_banner_shows_the_console_and_no_console_turns_it_off(dev_server_factory):
    on = dev_server_factory()
    assert f"Console: {on.url}/\n" in on.log()
    assert httpx.get(f"{on.url}/", timeout=5).status_code == 200
    off = dev_server_factory(no_console=True)
    assert "Console:" not in off.log()
    for path in ("/", "/console/console.js", "/console/api/stream"):
        assert httpx.get(f"{off.url}{path}", headers=off.auth, timeout=5).status_code == 404


def test_an_older_data_file_gets_the_request_header_column(tmp_path):
    path = tmp_path / "old.sqlite3"
    old_schema = SCHEMA.replace(", request_header TEXT", "")
    assert old_schema != SCHEMA
    with sqlite3.connect(path) as conn:
        conn.executescript(old_schema)
        conn.execute("INSERT INTO logs (time, message_id, state) VALUES (1, 'msg_old', 'CREATED')")
    store = Store(str(path))
    try:
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(logs)")}
        assert "request_header" in columns
        assert store.conn.execute("SELECT message_id FROM logs").fetchall()[0][0] == "msg_old"
    finally:
        store.close()


def test_an_open_stream_ends_when_the_server_stops(dev_server):
    with httpx.stream("GET", f"{dev_server.url}/console/api/stream", headers=dev_server.auth, timeout=20) as r:
        events = sse(r)
        assert next(events)[0] == "hello"
        assert dev_server.stop() == 0
        assert list(events) == []  # the response ended (the server did not wait out its graceful timeout)
    assert "graceful shutdown exceeded" not in dev_server.log()
    assert "qstash dev: stopped" in dev_server.log()


def test_message_detail_keeps_the_messages_redacted_fields_hidden(dev_server, sink):
    headers = {"Upstash-Redact-Fields": "body,header[X-Secret]", "Upstash-Forward-X-Secret": "s3cr3t"}
    mid = publish(dev_server, f"{sink.url}/red", b"card 4242", **headers, **{"Upstash-Forward-X-Plain": "seen"})
    [received] = sink.wait_for(1, path="/red")
    assert received.body == b"card 4242" and received.header("x-secret") == "s3cr3t"  # delivered as sent
    with dev_server.client() as api:
        detail = wait_until(lambda: (d := api.get(f"/console/api/messages/{mid}").json())["attempts"] and d)
    [attempt] = detail["attempts"]
    sent = dict(attempt["request"]["headers"])
    assert sent["X-Secret"].startswith("REDACTED:") and sent["X-Plain"] == "seen"
    assert attempt["request"]["body"]["text"].startswith("REDACTED:")
    assert "4242" not in json.dumps(detail) and "s3cr3t" not in json.dumps(detail)
    assert attempt["signature"]["valid"] is True  # the verdict is over the body that was sent


@pytest.mark.parametrize(
    ("host", "console", "line"),
    [
        ("127.0.0.1", True, "Console: http://127.0.0.1:8080/"),
        ("0.0.0.0", True, "Console: http://0.0.0.0:8080/ (it asks for the token)"),
        ("127.0.0.1", False, None),
    ],
)
def test_the_banner_names_the_console(host, console, line):
    from qstash_cli.server.run import Options, banner

    lines = banner(Options(host=host, console=console), f"http://{host}:8080", ("k1", "k2"), "in memory")
    consoles = [x for x in lines if x.startswith("Console:")]
    assert consoles == ([line] if line else [])
