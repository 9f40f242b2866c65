"""API faults: every failure the network or the API can produce ends as one clear error with the documented exit code
(1 API/network, 3 not found, 4 auth, 5 rate limited); 429 waits as told (bounded); retries are bounded and only for
requests that are safe to repeat."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from qstash_cli.api import transport
from qstash_cli.api.transport import Transport
from qstash_cli.errors import ApiError, AuthError, NetworkError, NotFound, RateLimited
from tests.conftest import MOCK_TOKEN, MOCK_URL
from tests.reliability.faulty import faulty_server, refused_url

STATUS_CASES = [
    (400, ApiError, 1),
    (401, AuthError, 4),
    (403, AuthError, 4),
    (404, NotFound, 3),
    (412, ApiError, 1),
    (413, ApiError, 1),
    (500, ApiError, 1),
    (502, ApiError, 1),
    (503, ApiError, 1),
    (504, ApiError, 1),
]

GENERIC = re.compile(r"Error: unexpected \w*(Error|Exception)\b")  # the boundary's last-resort message


@pytest.fixture
def sleeps(mock_api, monkeypatch) -> list[float]:
    """Record the waits the transport asks for (instead of sleeping)."""
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)
    return waits


def _t() -> Transport:
    return Transport(MOCK_URL, MOCK_TOKEN)


def _one_line(error: Exception) -> str:
    message = error.message  # type: ignore[attr-defined]
    assert message and "\n" not in message
    assert MOCK_TOKEN not in message
    return message


# -- status codes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "cls", "code"), STATUS_CASES)
def test_status_maps_to_typed_error(mock_api, sleeps, status: int, cls: type, code: int) -> None:
    mock_api.add("GET", "/v2/keys", {"error": f"boom {status}"}, status=status)
    with pytest.raises(cls) as info:
        _t().json("GET", "/v2/keys")
    assert type(info.value) is cls and info.value.exit_code == code
    assert f"HTTP {status}: boom {status}" in _one_line(info.value)
    # reads retry only the transient statuses, a bounded number of times
    expected = transport.TRANSIENT_TRIES if status in transport.TRANSIENT_STATUSES else 1
    assert len(mock_api.requests) == expected
    assert len(sleeps) == expected - 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_publish_without_dedup_id_is_never_repeated(mock_api, sleeps, status: int) -> None:
    mock_api.add("POST", "/v2/publish/https://example.com/hook", {"error": "down"}, status=status)
    with pytest.raises(ApiError):
        _t().send("POST", "/v2/publish/https://example.com/hook", content=b"x")
    assert len(mock_api.requests) == 1 and sleeps == []


def test_idempotent_publish_retries_transient_then_succeeds(mock_api, sleeps) -> None:
    path = "/v2/publish/https://example.com/hook"
    mock_api.add("POST", path, {"error": "down"}, status=503, times=2)
    mock_api.add("POST", path, {"messageId": "msg_1"})
    reply = _t().send("POST", path, content=b"x", headers={"Upstash-Deduplication-Id": "d1"}, idempotent=True)
    assert reply.data == {"messageId": "msg_1"}
    assert len(mock_api.requests) == 3 and len(sleeps) == 2
    assert all(r.content == b"x" and r.headers["upstash-deduplication-id"] == "d1" for r in mock_api.requests)


def test_transient_retry_backoff_is_bounded(mock_api, sleeps) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "down"}, status=502)
    with pytest.raises(ApiError):
        _t().json("GET", "/v2/keys")
    assert len(sleeps) == transport.TRANSIENT_TRIES - 1
    assert sleeps == sorted(sleeps) and sum(sleeps) < 5


def test_error_message_never_echoes_the_token(mock_api, sleeps) -> None:
    mock_api.add("GET", "/v2/keys", {"error": f"invalid token {MOCK_TOKEN}"}, status=401)
    with pytest.raises(AuthError) as info:
        _t().json("GET", "/v2/keys")
    assert "invalid token ***" in _one_line(info.value)


# -- 429 -------------------------------------------------------------------------------------------------------------


def test_429_retry_after_waits_then_succeeds(mock_api, sleeps) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "slow down"}, status=429, headers={"Retry-After": "2"}, times=1)
    mock_api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    assert _t().json("GET", "/v2/keys") == {"current": "a", "next": "b"}
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("headers", "limit", "wait"),
    [
        ({"Retry-After": "3"}, "burst", 3.0),
        ({"Burst-RateLimit-Limit": "100", "Burst-RateLimit-Reset": "4"}, "burst", 4.0),
        ({"RateLimit-Limit": "500", "RateLimit-Remaining": "0", "RateLimit-Reset": "__RESET__"}, "daily", 7.0),
        ({}, "burst", 1.0),
    ],
)
def test_429_waits_as_told_then_fails_naming_the_limit(mock_api, sleeps, headers, limit, wait) -> None:
    headers = {k: (str(int((time.time() + 7) * 1000)) if v == "__RESET__" else v) for k, v in headers.items()}
    mock_api.add("POST", "/v2/publish/orders", {"error": "Too many requests"}, status=429, headers=headers)
    with pytest.raises(RateLimited) as info:
        _t().send("POST", "/v2/publish/orders", content=b"x")  # a 429 was not accepted: safe to repeat
    assert info.value.exit_code == 5
    assert limit in _one_line(info.value)
    assert len(mock_api.requests) == transport.RATE_LIMIT_TRIES
    assert len(sleeps) == transport.RATE_LIMIT_TRIES - 1
    assert all(abs(s - wait) < 1.5 for s in sleeps)


@pytest.mark.parametrize("headers", [{"Retry-After": "3600"}, {"RateLimit-Limit": "1", "RateLimit-Reset": "86400"}])
def test_429_beyond_the_bound_fails_at_once(mock_api, sleeps, headers) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "Too many requests"}, status=429, headers=headers)
    with pytest.raises(RateLimited):
        _t().json("GET", "/v2/keys")
    assert len(mock_api.requests) == 1 and sleeps == []


# -- network failures (MockTransport raising) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectError("refused"), "cannot connect"),
        (httpx.ConnectTimeout("slow"), "timed out"),
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.RemoteProtocolError("peer closed"), "broke off"),
        (httpx.ReadError("reset"), "broke off"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_network_errors(mock_api, sleeps, exc: Exception, words: str, method: str) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        raise exc

    mock_api.handler = boom
    with pytest.raises(NetworkError) as info:
        _t().send(method, "/v2/keys" if method == "GET" else "/v2/publish/orders", content=b"x")
    assert words in _one_line(info.value) and info.value.exit_code == 1
    assert len(mock_api.requests) == (transport.TRANSIENT_TRIES if method == "GET" else 1)


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b'{"current": "sig', b"\xff\xfe\x00garbage", b"[1, 2,", b"null null"],
    ids=["html", "truncated-json", "binary", "truncated-list", "two-docs"],
)
def test_non_json_2xx_is_one_clear_error(mock_api, sleeps, body: bytes) -> None:
    mock_api.add("GET", "/v2/keys", content=body, headers={"content-type": "text/html"})
    with pytest.raises(ApiError) as info:
        _t().json("GET", "/v2/keys")
    assert "non-JSON" in _one_line(info.value) and info.value.exit_code == 1


@pytest.mark.parametrize("body", [b"<html><h1>Bad Gateway</h1></html>", b"", b"\xff\xfe", b'{"error": ""}', b"[]"])
def test_error_body_of_any_shape(mock_api, sleeps, body: bytes) -> None:
    mock_api.add("DELETE", "/v2/topics/x", content=body, status=400)
    with pytest.raises(ApiError) as info:
        _t().send("DELETE", "/v2/topics/x")
    assert _one_line(info.value).startswith("HTTP 400")


# -- a real, misbehaving socket ----------------------------------------------------------------------------------------


@pytest.fixture
def real_net(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)
    monkeypatch.setattr(transport, "TIMEOUT", httpx.Timeout(0.5, connect=0.5))
    return waits


@pytest.mark.parametrize(
    ("mode", "err", "words"),
    [
        ("reset", NetworkError, "broke off"),
        ("truncated", NetworkError, "broke off"),
        ("close", NetworkError, "broke off"),
        ("garbage", NetworkError, ""),
        ("hang", NetworkError, "timed out"),
        ("slow_headers", NetworkError, "timed out"),
        ("html", ApiError, "non-JSON"),
        ("truncated_json", ApiError, "non-JSON"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_misbehaving_socket(real_net, mode: str, err: type, words: str, method: str) -> None:
    with faulty_server(mode) as server:
        t = Transport(server.url, MOCK_TOKEN)
        with pytest.raises(err) as info:
            t.send(method, "/v2/keys" if method == "GET" else "/v2/publish/orders", content=b"x")
        t.close()
    assert type(info.value) is err and words in _one_line(info.value)
    assert info.value.exit_code == 1
    if err is NetworkError:  # a read is retried a bounded number of times; a publish that may have landed is not
        assert server.connections == (transport.TRANSIENT_TRIES if method == "GET" else 1)


def test_connection_refused_names_the_url_and_hints(real_net) -> None:
    url = refused_url()
    with pytest.raises(NetworkError) as info:
        Transport(url, MOCK_TOKEN).json("GET", "/v2/keys")
    assert f"cannot connect to {url}" in _one_line(info.value)
    assert "qstash dev" in (info.value.hint or "")
    assert len(real_net) == transport.TRANSIENT_TRIES - 1


# -- through the CLI -------------------------------------------------------------------------------------------------

READ_COMMANDS = [
    ("keys", "get"),
    ("topics", "list"),
    ("schedules", "list"),
    ("messages", "get", "msg_1"),
]
CLI_STATUS = [(400, 1), (401, 4), (403, 4), (404, 3), (412, 1), (413, 1), (429, 5), (500, 1), (502, 1), (503, 1)]


def _assert_one_error(r, code: int) -> str:
    assert "Traceback" not in r.stderr + r.stdout
    assert r.exit_code == code, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, r.stderr
    assert not GENERIC.match(errors[0]), errors[0]
    assert MOCK_TOKEN not in r.stderr + r.stdout
    return errors[0]


@pytest.mark.parametrize(("status", "code"), CLI_STATUS)
@pytest.mark.parametrize("argv", READ_COMMANDS, ids=" ".join)
def test_cli_read_commands_map_statuses(cli, mock_api, status: int, code: int, argv: tuple[str, ...]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        headers = {"Retry-After": "3600"} if status == 429 else {}
        return httpx.Response(status, json={"error": f"failure {status}"}, headers=headers)

    mock_api.handler = answer
    line = _assert_one_error(cli(*argv), code)
    assert f"HTTP {status}" in line or "rate limited" in line


@pytest.mark.parametrize(
    ("headers", "name"),
    [({"Retry-After": "1"}, "burst"), ({"RateLimit-Limit": "500", "RateLimit-Reset": "2"}, "daily")],
)
def test_cli_429_waits_then_names_the_limit(cli, mock_api, monkeypatch, headers, name) -> None:
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)
    mock_api.add("GET", "/v2/keys", {"error": "Too many requests"}, status=429, headers=headers)
    r = cli("keys", "get")
    assert name in _assert_one_error(r, 5)
    assert len(waits) == transport.RATE_LIMIT_TRIES - 1
    assert r.stderr.count("waiting") == transport.RATE_LIMIT_TRIES - 1


def test_cli_connection_refused(cli, real_net, monkeypatch) -> None:
    url = refused_url()
    r = cli("keys", "get", "--url", url, "--token", MOCK_TOKEN)
    assert f"cannot connect to {url}" in _assert_one_error(r, 1)
    assert "Hint:" in r.stderr


@pytest.mark.parametrize("mode", ["reset", "truncated", "hang", "html", "truncated_json", "garbage"])
def test_cli_misbehaving_server(cli, real_net, mode: str) -> None:
    with faulty_server(mode) as server:
        r = cli("keys", "get", "--url", server.url, "--token", MOCK_TOKEN)
    _assert_one_error(r, 1)


# publish: retried only with a deduplication id
def test_cli_publish_with_dedup_id_retries(cli, mock_api, sleeps) -> None:
    path = "/v2/publish/https://example.com/hook"
    mock_api.add("POST", path, {"error": "down"}, status=503, times=2)
    mock_api.add("POST", path, {"messageId": "msg_1"})
    r = cli("publish", "https://example.com/hook", "-d", "hi", "--dedup-id", "order-1", "--json")
    assert r.exit_code == 0, r.stderr
    assert len(mock_api.requests) == 3
    assert {req.headers.get("upstash-deduplication-id") for req in mock_api.requests} == {"order-1"}


def test_cli_publish_without_dedup_id_is_sent_once(cli, mock_api, sleeps) -> None:
    mock_api.add("POST", "/v2/publish/https://example.com/hook", {"error": "down"}, status=503)
    r = cli("publish", "https://example.com/hook", "-d", "hi")
    _assert_one_error(r, 1)
    assert len(mock_api.requests) == 1


def test_cli_publish_reset_mid_answer_is_not_repeated(cli, real_net) -> None:
    with faulty_server("reset") as server:
        r = cli("publish", "https://example.com/hook", "-d", "hi", "--url", server.url, "--token", MOCK_TOKEN)
    _assert_one_error(r, 1)
    assert server.connections == 1


# -- a 200 with an unexpected shape --------------------------------------------------------------------------------

SHAPE_COMMANDS = [
    ("keys", "get"),
    ("topics", "list"),
    ("topics", "get", "orders"),
    ("endpoints", "list"),
    ("schedules", "list"),
    ("schedules", "get", "scd_1"),
    ("messages", "get", "msg_1"),
    ("logs",),
    ("dlq", "list"),
    ("publish", "https://example.com/hook", "-d", "hi"),
    ("publish", "orders", "-d", "hi"),
    ("--api", "v1", "topics", "list"),
    ("--api", "v1", "messages", "list"),
    ("--api", "v1", "quota"),
    ("--api", "v1", "tasks", "get", "tsk_1"),
]
SHAPES = {"list": [1, "a"], "object": {"unexpected": True}, "string": "hello", "number": 42, "null": None}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("argv", SHAPE_COMMANDS, ids=" ".join)
def test_cli_unexpected_shape_degrades(cli, mock_api, shape: str, argv: tuple[str, ...]) -> None:
    body = json.dumps(SHAPES[shape]).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    mock_api.handler = answer
    for mode in ((), ("--json",), ("-q",)):
        r = cli(*argv, *mode)
        assert "Traceback" not in r.stderr + r.stdout
        assert "No such command" not in r.stderr, r.stderr
        if r.exit_code != 0:
            _assert_one_error(r, 1)
