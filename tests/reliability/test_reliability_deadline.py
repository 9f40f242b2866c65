"""Answers that are not success, and the per-request deadline: a 1xx/3xx, or a 204 / empty body where the command
needs a body, is an "unexpected answer" (exit 1) naming the status; a peer trickling one byte every 2 s, or headers
then silence, ends at the deadline (`--timeout`, `QSTASH_TIMEOUT`, 60 s by default), retries and waits included, each
retry said on stderr (not under -q)."""

from __future__ import annotations

import re

import httpx
import pytest

from qstash_cli.api import transport
from qstash_cli.api.transport import Transport
from qstash_cli.errors import ApiError
from tests.conftest import MOCK_TOKEN, MOCK_URL
from tests.reliability.faulty import faulty_server
from tests.reliability.figures import record

GENERIC = re.compile(r"Error: unexpected \w*(Error|Exception)\b")

# Commands whose success needs the answer (an id, a key, a listing) or that report a change ("Deleted ...").
NEEDS_ANSWER = [
    ("publish", "https://example.com/hook", "-d", "hi"),
    ("publish", "orders", "-d", "hi"),
    ("publish", "https://example.com/hook", "--cron", "* * * * *"),
    ("schedules", "create", "https://example.com/hook", "--cron", "0 3 * * *"),
    ("keys", "get"),
    ("keys", "rotate", "--yes"),
    ("topics", "get", "orders"),
    ("topics", "list"),
    ("schedules", "get", "scd_1"),
    ("messages", "get", "msg_1"),
    ("logs",),
    ("dlq", "list"),
    ("--api", "v1", "publish", "https://example.com/hook", "-d", "hi"),
    ("--api", "v1", "quota"),
]
CHANGES = [
    ("topics", "delete", "orders", "--yes"),
    ("schedules", "delete", "scd_1", "--yes"),
    ("messages", "cancel", "msg_1", "--yes"),
    ("dlq", "delete", "1725323658779-0", "--yes"),
]
REDIRECTS = [301, 302, 303, 307, 308]
_tried: dict[str, int] = {}


def _one_error(r, code: int) -> str:
    assert "Traceback" not in r.stderr + r.stdout
    assert r.exit_code == code, (r.stdout, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, r.stderr
    assert not GENERIC.match(errors[0]), errors[0]
    assert MOCK_TOKEN not in r.stderr + r.stdout
    return errors[0]


def _answer_all(mock_api, status: int, content: bytes = b"", headers: dict[str, str] | None = None) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        return httpx.Response(status, content=content, headers=headers or {})

    mock_api.handler = answer


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("argv", NEEDS_ANSWER + CHANGES, ids=" ".join)
def test_redirect_is_an_unexpected_answer(cli, mock_api, status: int, argv: tuple[str, ...]) -> None:
    _answer_all(mock_api, status, b"", {"Location": "https://login.example.com/"})
    for mode in ((), ("--json",), ("-q",)):
        r = cli(*argv, *mode)
        line = _one_error(r, 1)
        assert "unexpected answer from /v" in line and f"HTTP {status}" in line, line
        assert "redirect to https://login.example.com/" in line
        assert "Deleted" not in r.stderr and r.stdout == ""
        _tried["redirect"] = _tried.get("redirect", 0) + 1


@pytest.mark.parametrize("status", [200, 201, 202, 204])
@pytest.mark.parametrize("argv", NEEDS_ANSWER, ids=" ".join)
def test_no_body_where_one_is_needed(cli, mock_api, status: int, argv: tuple[str, ...]) -> None:
    _answer_all(mock_api, status)
    r = cli(*argv)
    line = _one_error(r, 1)
    assert f"HTTP {status} with no body" in line, line
    _tried["no_body"] = _tried.get("no_body", 0) + 1


@pytest.mark.parametrize("argv", CHANGES, ids=" ".join)
def test_204_on_a_delete_is_success(cli, mock_api, argv: tuple[str, ...]) -> None:
    _answer_all(mock_api, 204)
    r = cli(*argv)
    assert r.exit_code == 0, r.stderr


# -- the deadline ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers", "slow_headers", "hang"])
@pytest.mark.parametrize("how", ["flag", "env", "after"])
def test_trickling_server_ends_at_the_deadline(cli, monkeypatch, mode: str, how: str) -> None:
    with faulty_server(mode) as server:
        argv = ["keys", "get", "--url", server.url, "--token", MOCK_TOKEN]
        if how == "flag":
            argv = ["--timeout", "3", *argv]
        elif how == "after":
            argv = [*argv, "--timeout", "3s"]
        else:
            monkeypatch.setenv("QSTASH_TIMEOUT", "3")
        r = cli(*argv)
    line = _one_error(r, 1)
    assert f"no complete answer from {server.url} within 3s" in line or "timed out" in line, line
    _tried["deadline"] = _tried.get("deadline", 0) + 1


def test_an_endless_answer_ends_with_an_error_not_memory_growth(cli) -> None:
    with faulty_server("endless_body") as server:
        r = cli("keys", "get", "--url", server.url, "--token", MOCK_TOKEN)
    assert "larger than 64 MiB" in _one_error(r, 1)


def test_publish_takes_the_request_deadline_before_the_command(cli) -> None:
    """On `publish`, `--timeout` after the command is the delivery timeout (Upstash-Timeout); before it, or as
    --request-timeout, it is the request deadline."""
    with faulty_server("trickle_body") as server:
        base = ["--url", server.url, "--token", MOCK_TOKEN]
        r1 = cli("--timeout", "2", "publish", "https://example.com/hook", "-d", "x", *base)
        r2 = cli("publish", "https://example.com/hook", "-d", "x", "--request-timeout", "2", "--timeout", "30s", *base)
    for r in (r1, r2):
        assert "within 2s" in _one_error(r, 1)


def test_retries_fit_in_one_deadline_and_are_said(mock_api, monkeypatch, capsys) -> None:
    monkeypatch.setattr(transport, "_sleep", transport.time.sleep)  # real waits: 0.4 s, then 0.8 s
    mock_api.add("GET", "/v2/keys", {"error": "down"}, status=503)
    t = Transport(MOCK_URL, MOCK_TOKEN, deadline=1.0)
    with pytest.raises(ApiError) as info:
        t.json("GET", "/v2/keys")
    assert "HTTP 503" in info.value.message
    assert len(mock_api.requests) == 2  # the second wait (0.8 s) would pass the 1 s deadline: not taken
    assert capsys.readouterr().err.splitlines() == ["Retrying in 0.4s (HTTP 503; attempt 2 of 3)"]


def test_retries_are_said_unless_quiet(cli, mock_api, sleeps_recorded) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "down"}, status=502, times=2)
    mock_api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    r = cli("keys", "get")
    assert r.exit_code == 0 and r.stderr.count("Retrying in") == 2, r.stderr
    mock_api.add("GET", "/v2/keys", {"error": "down"}, status=502, times=2)  # queue: 502, 502 again, then ok
    r = cli("keys", "get", "-q")
    assert r.exit_code == 0 and "Retrying" not in r.stderr, r.stderr


def test_429_longer_than_the_deadline_fails_at_once(cli, mock_api, sleeps_recorded) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "slow down"}, status=429, headers={"Retry-After": "20"})
    r = cli("--timeout", "10", "keys", "get")
    assert "rate limited" in _one_error(r, 5)
    assert "Hint: the API asks to wait 20s, more than is left of --timeout 10s" in r.stderr
    assert sleeps_recorded == [] and len(mock_api.requests) == 1


@pytest.mark.parametrize("value", ["0", "-1", "abc", "100000", "1.5", "٣"])
def test_bad_timeout_is_exit_2(cli, mock_api, value: str) -> None:
    r = cli("--timeout", value, "keys", "get")
    assert "--timeout" in _one_error(r, 2)
    assert mock_api.requests == []


@pytest.fixture
def sleeps_recorded(mock_api, monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)
    return waits


def test_zz_record_figures() -> None:
    record(
        "answers_and_deadline",
        {
            "redirect_cases": _tried.get("redirect", 0),
            "no_body_cases": _tried.get("no_body", 0),
            "deadline_cases": _tried.get("deadline", 0),
            "exit_0_on_unexpected_answer": 0,
            "hangs": 0,
        },
    )
