"""Bad requests get JSON errors with the documented status, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qstash_cli import devcreds


def _err(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    return r.json()["error"]


def test_auth(dev_server):
    url = f"{dev_server.url}/v2/keys"
    assert "unauthorized" in _err(httpx.get(url), 401)
    _err(httpx.get(url, headers={"Authorization": "Bearer nope"}), 401)
    _err(httpx.get(url, headers={"Authorization": devcreds.DEV_TOKEN}), 401)
    assert httpx.get(url, params={"qstash_token": dev_server.token}).status_code == 200


def test_custom_token(dev_server_factory):
    server = dev_server_factory(token="tok_custom", memory=True)
    assert httpx.get(f"{server.url}/v2/keys", headers={"Authorization": "Bearer tok_custom"}).status_code == 200
    _err(httpx.get(f"{server.url}/v2/keys", headers={"Authorization": f"Bearer {devcreds.DEV_TOKEN}"}), 401)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/topics", {"content": b"{"}, 400),
        ("POST", "/v1/topics", {"json": {"name": 5}}, 400),
        ("POST", "/v1/topics", {"json": {"name": "bad name!"}}, 400),
        ("POST", "/v1/topics", {"json": ["x"]}, 400),
        ("POST", "/v1/endpoints", {"json": {"url": "http://x.test"}}, 400),
        ("POST", "/v1/endpoints", {"json": {"url": "http://x.test", "topicName": "missing"}}, 404),
        ("PUT", "/v1/endpoints/ept_missing", {"json": {"url": "http://x.test"}}, 404),
        ("POST", "/v2/batch", {"json": {"destination": "x"}}, 400),
        ("POST", "/v2/batch", {"json": [{"destination": 1}]}, 400),
        ("POST", "/v2/batch", {"json": [{"destination": "http://x.test", "headers": []}]}, 400),
        ("POST", "/v2/queues", {"json": {"queueName": "q", "parallelism": "x"}}, 400),
        ("POST", "/v2/queues", {"json": {"queueName": "q", "parallelism": 0}}, 400),
        ("POST", "/v2/topics/g/endpoints", {"json": {"endpoints": [{"url": "ftp://x"}]}}, 400),
        ("POST", "/v2/topics/g/endpoints", {"json": {"endpoints": "x"}}, 400),
        ("DELETE", "/v2/topics/nope/endpoints", {"json": {"endpoints": [{"url": "http://x.test"}]}}, 404),
        ("DELETE", "/v2/messages", {"content": b"[1,"}, 400),
        ("DELETE", "/v2/messages", {"json": {"messageIds": "abc"}}, 400),
        ("DELETE", "/v2/dlq", {"json": {"dlqIds": [1]}}, 400),
        ("POST", "/v2/publish/ftp://x.test/a", {}, 400),
        ("POST", "/v2/publish/http://", {}, 400),
        ("POST", "/v2/publish/no-such-group", {}, 404),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Delay": "soon"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Retries": "many"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Not-Before": "tomorrow"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Deduplication-Id": "a:b"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Callback": "not a url"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Method": "FETCH"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Retry-Delay": "__import__('os')"}}, 400),
        ("POST", "/v2/publish/http://x.test", {"headers": {"Upstash-Timeout": "-1"}}, 400),
        ("POST", "/v2/schedules/http://x.test", {}, 400),
        ("POST", "/v2/schedules/http://x.test", {"headers": {"Upstash-Cron": "* * *"}}, 400),
        ("POST", "/v2/schedules/http://x.test", {"headers": {"Upstash-Cron": "CRON_TZ=Mars/Base * * * * *"}}, 400),
        (
            "POST",
            "/v2/schedules/http://x.test",
            {"headers": {"Upstash-Cron": "* * * * *", "Upstash-Schedule-Id": "../etc"}},
            400,
        ),
        ("GET", "/v2/messages/msg_missing", {}, 404),
        ("GET", "/v2/messages/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("GET", "/v1/tasks/%00", {}, 404),
        ("GET", "/v2/schedules/nope", {}, 404),
        ("PATCH", "/v2/schedules/nope/pause", {}, 404),
        ("GET", "/v2/dlq/nope", {}, 404),
        ("GET", "/v2/queues/nope", {}, 404),
        ("GET", "/v1/messages", {"params": {"cursor": "abc"}}, 400),
        ("GET", "/v2/events", {"params": {"cursor": "x-y"}}, 400),
        ("GET", "/v2/events", {"params": {"count": "lots"}}, 400),
        ("GET", "/v2/nothing-here", {}, 404),
        ("GET", "/v3", {}, 404),  # `/` is the console (tests/server/test_console_http.py)
        ("GET", "/v2/messages/", {}, 404),
        ("DELETE", "/v2/topics/", {}, 404),
        ("PUT", "/v2/keys", {}, 405),
        ("GET", "/v2/batch", {}, 405),
    ],
)
def test_bad_requests(shared_dev_server, method, path, kwargs, status):
    with shared_dev_server.client() as c:
        _err(c.request(method, path, **kwargs), status)
        assert c.get("/v2/keys").status_code == 200


def test_limits_of_the_free_plan(dev_server_factory):
    server = dev_server_factory(quota="free", memory=True)
    with server.client() as c:
        assert "exceeds" in _err(c.post("/v2/publish/http://x.test", content=b"x" * (1024 * 1024 + 1)), 413)
        _err(c.post("/v2/batch", json=[{"destination": "http://x.test", "body": "x" * (1024 * 1024 + 1)}]), 413)
        _err(c.post("/v2/publish/http://x.test", headers={"Upstash-Retries": "4"}), 412)
        _err(c.post("/v2/publish/http://x.test", headers={"Upstash-Delay": "8d"}), 412)
        for i in range(10):
            r = c.post(
                "/v2/schedules/http://x.test", headers={"Upstash-Cron": "0 0 1 1 *", "Upstash-Schedule-Id": f"s{i}"}
            )
            assert r.status_code == 200
        _err(c.post("/v2/schedules/http://x.test", headers={"Upstash-Cron": "0 0 1 1 *"}), 412)
        for i in range(10):
            assert c.post("/v1/topics", json={"name": f"t{i}"}).status_code == 200
        _err(c.post("/v1/topics", json={"name": "t10"}), 412)
        assert c.get("/v1/quota").json()["maxRetries"] == 3


def test_huge_and_broken_requests_do_not_stop_the_server(dev_server):
    with dev_server.client() as c:
        r = c.get("/v2/keys", headers={"X-Big": "a" * 100_000})
        assert "headers exceed" in _err(r, 431)
    with socket.create_connection(("127.0.0.1", dev_server.port)) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        s.recv(1000)
    with socket.create_connection(("127.0.0.1", dev_server.port)) as s:
        s.sendall(b"POST /v2/publish/http://x.test HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
    with dev_server.client() as c:
        assert c.get("/v2/keys").status_code == 200


_segments = st.text(alphabet=st.characters(codec="ascii", exclude_characters="/?#"), max_size=12)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    prefix=st.sampled_from(["/v1/", "/v2/"]),
    route=st.sampled_from(
        [
            "publish",
            "topics",
            "endpoints",
            "messages",
            "tasks",
            "schedules",
            "keys",
            "queues",
            "dlq",
            "events",
            "logs",
            "batch",
            "enqueue",
            "quota",
            "dlq/retry",
        ]
    ),
    rest=st.lists(_segments, max_size=3),
    body=st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=6,
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_fuzz_routes_never_500(shared_dev_server, method, prefix, route, rest, body):
    path = prefix + "/".join([route, *[quote(s, safe="") for s in rest]])
    with shared_dev_server.client() as c:
        r = c.request(method, path, content=body)
        assert r.status_code < 500, (method, path, body, r.text)
        if r.status_code >= 400:
            assert "error" in r.json()

    with shared_dev_server.client() as c:
        assert c.get("/v2/keys").status_code == 200
