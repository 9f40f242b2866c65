"""What the API sends never breaks the output layer or reaches the terminal raw: arbitrary JSON shapes (Hypothesis,
through `Output` in all four modes and through the CLI), control characters in values and errors, numbers a float
cannot hold, JSON nested 100k deep, a 429 whose reset header has 400 digits, `"endpoints": 5` in a topic. Every run
ends with exit 0 or one documented `Error:` line, never the boundary's generic "unexpected ..."; `--json` stays
exact JSON."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qstash_cli.errors import ApiError
from qstash_cli.output import JSON, PLAIN, QUIET, TABLE, Column, Output
from tests.conftest import MOCK_TOKEN
from tests.reliability.figures import record

GENERIC = re.compile(r"Error: unexpected \w*(Error|Exception)\b")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
RICH_STYLE = re.compile("\x1b\\[[0-9;]*m")  # the table's own bold header: not text from the network
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_count: dict[str, int] = {}


def _tally(name: str) -> None:
    _count[name] = _count.get(name, 0) + 1


# Text that is hard on terminals and tables: escapes, bells, bidi overrides, Rich markup, tabs and newlines.
nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["\x1b[2J\x1b[H", "\x07", "a\tb\nc\rd", "\u202eevil", "[/]", "[bold red]x", "\x9b31m", "\x00", "💥"]
    ),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=20,
)
KEYS = ["messageId", "time", "createdAt", "name", "url", "endpoints", "state", "error", "body", "header"]
json_object = st.dictionaries(st.one_of(st.sampled_from(KEYS), nasty_text), json_value, max_size=6)
COLUMNS = [Column("id", "messageId"), Column("at", "time", "time"), Column("created", "createdAt", "time")]
COLUMNS += [Column("name", "name"), Column("endpoints", "endpoints", "json"), Column("state", "state")]


def _render(mode: str, call) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    o = Output(mode, stdout=out, stderr=err)
    try:
        call(o)
    except ApiError as exc:  # the documented answer to a shape that is not a record / listing
        assert exc.message and "\n" not in exc.message
    return out.getvalue(), err.getvalue()


@PROPS
@given(data=json_value, mode=st.sampled_from([TABLE, PLAIN, JSON, QUIET]))
def test_record_of_any_shape(data: Any, mode: str) -> None:
    stdout, stderr = _render(mode, lambda o: o.record(data, id_key="messageId"))
    _tally("record")
    if mode == JSON:
        assert json.loads(stdout) == data  # exact JSON: what came is what goes out
    else:
        assert not RAW_CONTROL.search(RICH_STYLE.sub("", stdout + stderr)), repr(stdout + stderr)


@PROPS
@given(
    items=st.one_of(st.lists(json_object, max_size=5), st.lists(json_value, max_size=3), json_value),
    mode=st.sampled_from([TABLE, PLAIN, JSON, QUIET]),
)
def test_rows_of_any_shape(items: Any, mode: str) -> None:
    stdout, stderr = _render(mode, lambda o: o.rows(items, COLUMNS, id_key="messageId"))
    _tally("rows")
    if mode == JSON and isinstance(items, list):
        assert json.loads(stdout) == items
    elif mode != JSON:
        assert not RAW_CONTROL.search(RICH_STYLE.sub("", stdout + stderr)), repr(stdout + stderr)


# -- through the CLI ---------------------------------------------------------------------------------------------

CLI_COMMANDS = [
    ("keys", "get"),
    ("topics", "list"),
    ("topics", "get", "orders"),
    ("endpoints", "list"),
    ("schedules", "list"),
    ("messages", "get", "msg_1"),
    ("logs",),
    ("dlq", "list"),
    ("publish", "https://example.com/hook", "-d", "hi"),
    ("--api", "v1", "quota"),
    ("api", "GET", "/v2/anything"),  # keys from the API become column headers
]


def _answer(mock_api, status: int, content: bytes, headers: dict[str, str] | None = None) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        return httpx.Response(status, content=content, headers={"content-type": "application/json", **(headers or {})})

    mock_api.handler = answer


def _clean(r, *, json_mode: bool = False) -> None:
    shown = r.stdout + r.stderr
    assert "Traceback" not in shown and MOCK_TOKEN not in shown
    assert r.exit_code in (0, 1, 3, 5), (r.exit_code, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == (0 if r.exit_code == 0 else 1), r.stderr
    assert not any(GENERIC.match(line) for line in errors), errors
    assert not RAW_CONTROL.search(RICH_STYLE.sub("", r.stderr if json_mode else shown)), repr(shown)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=json_value, argv=st.sampled_from(CLI_COMMANDS), mode=st.sampled_from([(), ("--json",), ("-q",)]))
def test_cli_answers_of_any_shape(cli, mock_api, data: Any, argv: tuple[str, ...], mode: tuple[str, ...]) -> None:
    _answer(mock_api, 200, json.dumps(data).encode())
    r = cli(*argv, *mode)
    _tally("cli_shapes")
    _clean(r, json_mode=bool(mode == ("--json",)))


@pytest.mark.parametrize("tty", [True, False], ids=["table", "plain"])
@pytest.mark.parametrize("argv", CLI_COMMANDS, ids=" ".join)
def test_control_characters_from_the_api_are_escaped(cli, mock_api, tty: bool, argv: tuple[str, ...]) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e"
    keys = ["messageId", "name", "url", "state", "current", "next", "scheduleId", "destination", "cron", "dlqId"]
    row = {**dict.fromkeys(keys, evil), evil: evil}
    data: Any = [row] if argv[0] in ("topics", "schedules") and argv[-1] == "list" else row
    if argv[0] in ("logs", "dlq"):
        data = {"events": [row], "messages": [row], "cursor": ""}
    _answer(mock_api, 200, json.dumps(data).encode())
    r = cli(*argv, tty=tty)
    _clean(r)
    assert "\\x1b" in r.stdout + r.stderr or r.exit_code == 1, r.stdout  # shown, escaped
    _tally("escaped")


@pytest.mark.parametrize("argv", CLI_COMMANDS, ids=" ".join)
def test_control_characters_in_an_error_are_escaped(cli, mock_api, argv: tuple[str, ...]) -> None:
    _answer(mock_api, 400, json.dumps({"error": "bad \x1b[31mthing\x07 \u202eevil"}).encode())
    r = cli(*argv)
    _clean(r)
    assert "bad \\x1b[31mthing\\x07 \\u202eevil" in r.stderr
    _tally("escaped")


def test_json_output_stays_exact(cli, mock_api) -> None:
    data = {"current": "\x1b[31m\x07\u202e", "next": "ok", "nested": {"a": [1, 2.5, None, "\t"]}}
    _answer(mock_api, 200, json.dumps(data).encode())
    r = cli("keys", "get", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == data


# -- the named cases --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Retry-After", "Burst-RateLimit-Reset", "RateLimit-Reset", "X-RateLimit-Reset-Requests"]
)
@pytest.mark.parametrize("digits", ["9" * 400, "1" + "0" * 399, "9" * 400 + ".5", "-" + "9" * 400, "1e999", "nan"])
def test_429_with_a_huge_reset_header_is_exit_5(cli, mock_api, monkeypatch, header: str, digits: str) -> None:
    from qstash_cli.api import transport

    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    headers = {header: digits, **({"RateLimit-Limit": "100"} if header == "RateLimit-Reset" else {})}
    _answer(mock_api, 429, json.dumps({"error": "slow down"}).encode(), headers)
    r = cli("keys", "get")
    _clean(r)
    assert r.exit_code == 5, r.stderr
    _tally("named")


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1e400", "NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("argv", [("logs",), ("dlq", "list"), ("messages", "get", "msg_1"), ("--api", "v1", "quota")])
def test_a_number_a_float_cannot_hold(cli, mock_api, number: str, argv: tuple[str, ...]) -> None:
    entry = f'{{"messageId": "msg_1", "time": {number}, "createdAt": {number}, "state": "DELIVERED"}}'
    body = f'{{"events": [{entry}], "messages": [{entry}], "cursor": ""}}' if argv[0] in ("logs", "dlq") else entry
    _answer(mock_api, 200, body.encode())
    for mode in ((), ("--json",)):
        r = cli(*argv, *mode)
        _clean(r)
        assert r.exit_code == 1 and "out of range" in r.stderr, r.stderr
        assert r.stdout == ""
    _tally("named")


@pytest.mark.parametrize("when", [1e300, 10**18, -5, 0, 253402300800000])
def test_a_time_out_of_the_calendar_is_shown_as_the_number(cli, mock_api, when: float) -> None:
    _answer(mock_api, 200, json.dumps({"events": [{"messageId": "msg_1", "time": when}], "cursor": ""}).encode())
    r = cli("logs")
    _clean(r)
    assert r.exit_code == 0 and "msg_1" in r.stdout
    _tally("named")


@pytest.mark.parametrize("argv", CLI_COMMANDS + [("topics", "delete", "orders", "--yes")], ids=" ".join)
@pytest.mark.parametrize("shape", ["list", "object"])
def test_api_json_nested_100k_deep(cli, mock_api, argv: tuple[str, ...], shape: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000 if shape == "list" else '{"a":' * 100_000 + "1" + "}" * 100_000
    for status in (200, 400):
        _answer(mock_api, status, deep.encode())
        r = cli(*argv)
        _clean(r)
        assert r.exit_code == 1, r.stderr
        if status == 200:
            assert "nested too deep" in r.stderr
    _tally("named")


@pytest.mark.parametrize("endpoints", [5, "x", {"url": "https://a"}, [5, None, "ept_1", {"url": 7}], True, None])
@pytest.mark.parametrize(
    "argv",
    [
        ("topics", "get", "orders"),
        ("topics", "list"),
        ("endpoints", "list"),
        ("endpoints", "list", "--topic", "orders"),
    ],
)
def test_odd_endpoints_in_a_topic(cli, mock_api, endpoints: Any, argv: tuple[str, ...]) -> None:
    topic = {"name": "orders", "endpoints": endpoints, "createdAt": 1}
    _answer(mock_api, 200, json.dumps([topic] if argv[-1] == "list" else topic).encode())
    for tty in (True, False):
        r = cli(*argv, tty=tty)
        _clean(r)
        assert r.exit_code == 0, r.stderr
    _tally("named")


def test_zz_record_figures() -> None:
    record(
        "output_layer",
        {
            "property_examples_record": _count.get("record", 0),
            "property_examples_rows": _count.get("rows", 0),
            "property_examples_cli": _count.get("cli_shapes", 0),
            "escape_cases": _count.get("escaped", 0),
            "named_cases": _count.get("named", 0),
            "generic_errors": 0,
            "raw_control_characters_shown": 0,
        },
    )
