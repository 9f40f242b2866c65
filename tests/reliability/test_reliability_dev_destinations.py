"""`qstash dev` delivering to destinations that misbehave at the socket level (reset, close, garbage, truncated
answer, headers then silence), that redirect (3xx is a failed attempt, never followed — as QStash), and to its own
URL (refused at publish time; reached through a proxy it does not recognise, the chain stops after MAX_HOPS
publishes with 508): no message can publish itself again without end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.live import DevServer
from tests.reliability.faulty import faulty_server
from tests.reliability.figures import record
from tests.server.helpers import dlq_entries

RETRIES = 2
_faults: dict[str, dict[str, int]] = {}


def _wait_dlq(c: httpx.Client, ids: set[str], limit: float = 60.0) -> set[str]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = {e["messageId"] for e in dlq_entries(c)} & ids
        if found == ids:
            return found
        time.sleep(0.2)
    return {e["messageId"] for e in dlq_entries(c)} & ids


@pytest.mark.parametrize("mode", ["reset", "close", "garbage", "truncated", "slow_headers"])
def test_socket_faults_are_failed_attempts_retried_then_dead_lettered(dev_server, mode) -> None:
    with faulty_server(mode) as bad, dev_server.client() as c:
        headers = {"Upstash-Retries": str(RETRIES), "Upstash-Timeout": "1s"}
        ids = {
            c.post(f"/v2/publish/{bad.url}/x{i}", content=b"x", headers=headers).json()["messageId"] for i in range(3)
        }
        found = _wait_dlq(c, ids)
        assert c.get("/v2/keys").status_code == 200
        logs = c.get("/v2/logs", params={"state": "ERROR"}).json()["logs"]
        errors = {e.get("error", "") for e in logs if e["messageId"] in ids}
        _faults[mode] = {"messages": len(ids), "in_dlq": len(found), "connections": bad.connections}
        record("socket_faults", _faults)
        assert found == ids, f"{mode}: not dead-lettered: {ids - found}"
        assert bad.connections == len(ids) * (RETRIES + 1), (mode, bad.connections)  # 1 try + RETRIES each
        assert errors and all(errors), (mode, errors)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_a_failed_attempt_never_followed(dev_server, sink, status) -> None:
    sink.respond(status=status, path="/moved", headers={"Location": f"{sink.url}/target"})
    with dev_server.client() as c:
        mid = c.post(f"/v2/publish/{sink.url}/moved", content=b"x", headers={"Upstash-Retries": "1"}).json()[
            "messageId"
        ]
        assert _wait_dlq(c, {mid}) == {mid}
        [entry] = [e for e in dlq_entries(c) if e["messageId"] == mid]
        assert entry["responseStatus"] == status
    assert sink.paths().count("/moved") == 2 and "/target" not in sink.paths()


def _own_urls(server: DevServer) -> list[str]:
    port = server.port
    return [
        f"{server.url}/v2/publish/{server.url}/v2/keys",
        f"http://localhost:{port}/v2/publish/http://127.0.0.1:1/x",
        f"http://127.0.0.2:{port}/v1/publish/x",
        f"http://0.0.0.0:{port}/v2/batch",
        f"http://[::1]:{port}/v2/enqueue/q/http://127.0.0.1:1/x",
        f"http://LOCALHOST:{port}/",
    ]


def test_own_url_is_refused_everywhere_a_url_is_taken(dev_server, sink) -> None:
    auth = {"Upstash-Forward-Authorization": f"Bearer {dev_server.token}"}  # what would make the loop real
    refused = 0
    with dev_server.client() as c:
        for url in _own_urls(dev_server):
            tries = [
                c.post(f"/v2/publish/{url}", content=b"x", headers=auth),
                c.post(f"/v1/publish/{url}", content=b"x", headers=auth),
                c.post("/v2/batch", json=[{"destination": url, "body": "x"}]),
                c.post(f"/v2/enqueue/q1/{url}", content=b"x"),
                c.post(f"/v2/schedules/{url}", headers={"Upstash-Cron": "* * * * *"}),
                c.post(f"/v2/publish/{sink.url}/ok", content=b"x", headers={"Upstash-Callback": url}),
                c.post(f"/v2/publish/{sink.url}/ok", content=b"x", headers={"Upstash-Failure-Callback": url}),
            ]
            for r in tries:
                assert r.status_code == 400, (url, r.request.url, r.text)
                assert "is this qstash dev server itself" in r.json()["error"], r.text
                refused += 1
        # a URL group holding the server's own URL: refused when published to
        own = _own_urls(dev_server)[0]
        assert c.post("/v2/topics/loop/endpoints", json={"endpoints": [{"url": own}]}).is_success
        r = c.post("/v2/publish/loop", content=b"x", headers=auth)
        assert r.status_code == 400 and "itself" in r.json()["error"], r.text
        refused += 1
        # another port on loopback is somebody else: accepted
        assert c.post(f"/v2/publish/{sink.url}/fine", content=b"x").status_code == 200
        assert not [e for e in dlq_entries(c)]
    sink.wait_for(1, path="/fine")
    record("own_url_loop", {"publishes_tried": refused, "refused": refused, "deliveries_to_itself": 0})


@pytest.fixture
def proxy(dev_server) -> Iterator[dict]:
    """A transparent HTTP proxy on another loopback port in front of `dev_server` (a name the server cannot tell is
    itself); `proxy["url"]`, `proxy["answers"]` (the statuses it relayed)."""
    state: dict = {"answers": []}

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            skip = {"host", "content-length", "connection", "transfer-encoding"}
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in skip]
            r = httpx.post(f"{dev_server.url}{self.path}", content=body, headers=headers, timeout=10)
            state["answers"].append(r.status_code)
            self.send_response(r.status_code)
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_loop_through_a_proxy_stops_after_max_hops(dev_server, proxy) -> None:
    max_hops = 10  # intake.MAX_HOPS
    endless = f"{proxy['url']}/v2/publish/loop?qstash_token={dev_server.token}"  # every delivery publishes again
    with dev_server.client() as c:
        assert c.post("/v2/topics/loop/endpoints", json={"endpoints": [{"url": endless}]}).is_success
        r = c.post("/v2/publish/loop", content=b"round", headers={"Upstash-Retries": "1"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(e.get("responseStatus") == 508 for e in dlq_entries(c)):
            time.sleep(0.2)
        entries = dlq_entries(c)
        stopped = [e for e in entries if e.get("responseStatus") == 508]
        relayed = len(proxy["answers"])
        time.sleep(1)  # once the chain is dead-lettered nothing more is relayed
        assert len(proxy["answers"]) == relayed
    record("proxy_loop", {"max_hops": max_hops, "publishes_through_proxy": proxy["answers"].count(200)})
    assert len(stopped) == 1, entries
    assert proxy["answers"].count(200) == max_hops, proxy["answers"]
    assert set(proxy["answers"]) == {200, 508}
