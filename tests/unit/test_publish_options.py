"""The v2 publish settings (retry delay, flow control, redaction, callback settings, --upstash-header) on publish,
--cron, schedules create, batch lines, schedules apply files and dlq retry: the exact headers sent, and every bad
value refused before anything is sent."""

from __future__ import annotations

import json

import pytest

from tests.unit.helpers import assert_one_error
from tests.unit.test_publish import DEST, MSG, route, sent

OPTION_CASES = [
    (["--retry-delay", "1000 * pow(2, retried)"], {"Upstash-Retry-Delay": "1000 * pow(2, retried)"}),
    (["--retry-delay", "max(100, retried * 50)"], {"Upstash-Retry-Delay": "max(100, retried * 50)"}),
    (
        ["--flow-control-key", "user-42", "--rate", "10"],
        {"Upstash-Flow-Control-Key": "user-42", "Upstash-Flow-Control-Value": "rate=10"},
    ),
    (
        ["--flow-control-key", "user-42", "--parallelism", "3", "--rate", "10", "--period", "1m"],
        {"Upstash-Flow-Control-Key": "user-42", "Upstash-Flow-Control-Value": "parallelism=3, rate=10, period=60s"},
    ),
    (["--redact", "body"], {"Upstash-Redact-Fields": "body"}),
    (
        ["--redact", "body", "--redact", "header[Authorization]", "--redact", "headers"],
        {"Upstash-Redact-Fields": "body,header[Authorization],header"},
    ),
    (
        [
            "--callback",
            "https://e.com/cb",
            "--callback-method",
            "put",
            "--callback-timeout",
            "30s",
            "--callback-retries",
            "2",
            "--callback-retry-delay",
            "500",
            "--callback-delay",
            "1m",
            "--callback-header",
            "X-Cb: 1",
        ],
        {
            "Upstash-Callback": "https://e.com/cb",
            "Upstash-Callback-Method": "PUT",
            "Upstash-Callback-Timeout": "30s",
            "Upstash-Callback-Retries": "2",
            "Upstash-Callback-Retry-Delay": "500",
            "Upstash-Callback-Delay": "60s",
            "Upstash-Callback-Forward-X-Cb": "1",
        },
    ),
    (
        [
            "--failure-callback",
            "https://e.com/f",
            "--failure-callback-method",
            "GET",
            "--failure-callback-timeout",
            "5m",
            "--failure-callback-retries",
            "0",
            "--failure-callback-retry-delay",
            "retried * 1000",
            "--failure-callback-delay",
            "10s",
            "--failure-callback-header",
            "X-F: a b",
        ],
        {
            "Upstash-Failure-Callback": "https://e.com/f",
            "Upstash-Failure-Callback-Method": "GET",
            "Upstash-Failure-Callback-Timeout": "300s",
            "Upstash-Failure-Callback-Retries": "0",
            "Upstash-Failure-Callback-Retry-Delay": "retried * 1000",
            "Upstash-Failure-Callback-Delay": "10s",
            "Upstash-Failure-Callback-Forward-X-F": "a b",
        },
    ),
    (["--upstash-header", "Upstash-Future-Thing: on"], {"Upstash-Future-Thing": "on"}),
    (["--upstash-header", "upstash-retries: 9"], {"upstash-retries": "9"}),
]


@pytest.mark.parametrize(("flags", "headers"), OPTION_CASES)
def test_publish_sends_each_setting_as_its_header(cli, mock_api, flags, headers) -> None:
    route(mock_api, "v2")
    r = cli("publish", DEST, *flags, "-q")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == headers
    assert r.stdout == "msg_1\n" and "Warning" not in r.stderr


@pytest.mark.parametrize(("flags", "headers"), OPTION_CASES[:6])
def test_schedules_create_and_publish_cron_send_them_too(cli, mock_api, flags, headers) -> None:
    mock_api.add("POST", f"/v2/schedules/{DEST}", {"scheduleId": "scd_1"})
    for command in (("schedules", "create"), ("publish",)):
        r = cli(*command, DEST, "--cron", "0 * * * *", *flags, "-q")
        assert r.exit_code == 0, r.stderr
        assert sent(mock_api.last) == {"Upstash-Cron": "0 * * * *", **headers}


def test_enqueue_carries_them(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/enqueue/jobs/{DEST}", MSG)
    r = cli("publish", DEST, "--queue", "jobs", "--retry-delay", "1000", "--redact", "body")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {"Upstash-Retry-Delay": "1000", "Upstash-Redact-Fields": "body"}


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--retry-delay", "import os"], "--retry-delay"),
        (["--retry-delay", "retried ** 2"], "--retry-delay"),
        (["--retry-delay", "__import__('os')"], "--retry-delay"),
        (["--retry-delay", "attempts * 10"], "unknown name 'attempts'"),
        (["--retry-delay", "pow(2"], "--retry-delay"),
        (["--retry-delay", "'1000'"], "only numbers"),
        (["--rate", "10"], "need --flow-control-key"),
        (["--flow-control-key", "k"], "needs --rate"),
        (["--flow-control-key", "k", "--parallelism", "2", "--period", "1m"], "--period needs --rate"),
        (["--flow-control-key", "k", "--rate", "0"], "--rate"),
        (["--flow-control-key", "a b", "--rate", "1"], "flow-control key"),
        (["--flow-control-key", "k", "--rate", "1", "--period", "soon"], "--period"),
        (["--redact", "bodies"], "--redact"),
        (["--redact", "header[]"], "--redact"),
        (["--callback-method", "FETCH"], "method"),
        (["--callback-retries", "-1"], "--callback-retries"),
        (["--callback-timeout", "x"], "--callback-timeout"),
        (["--failure-callback-retry-delay", "x +"], "--failure-callback-retry-delay"),
        (["--callback-header", "no colon"], "header"),
        (["--upstash-header", "X-Other: 1"], "--upstash-header"),
        (["--upstash-header", "Upstash-Ok"], "--upstash-header"),
    ],
)
def test_bad_settings_are_refused_before_sending(cli, mock_api, flags, needle) -> None:
    assert_one_error(cli("publish", DEST, "-d", "x", *flags), 2, needle)
    assert mock_api.requests == []


def test_v1_refuses_v2_settings(cli, mock_api) -> None:
    assert_one_error(
        cli("--api", "v1", "publish", DEST, "--retry-delay", "100"), 2, "v1 API has no Upstash-Retry-Delay"
    )
    assert mock_api.requests == []


def test_dash_h_naming_an_upstash_header_warns(cli, mock_api) -> None:
    route(mock_api, "v2")
    r = cli("publish", DEST, "-H", "Upstash-Retry-Delay: 100")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {"Upstash-Forward-Upstash-Retry-Delay": "100"}
    assert r.stderr.count("Warning:") == 1 and "--upstash-header" in r.stderr


def test_callback_settings_without_a_callback_warn(cli, mock_api) -> None:
    route(mock_api, "v2")
    r = cli("publish", DEST, "--callback-retries", "1")
    assert r.exit_code == 0 and "--callback-* settings have no effect without --callback" in r.stderr


# -- batch lines -----------------------------------------------------------------------------------------------


def test_batch_lines_carry_the_settings_over_the_flag_defaults(cli, mock_api, tmp_path) -> None:
    mock_api.add("POST", "/v2/batch", [{"messageId": "m1"}, {"messageId": "m2"}])
    lines = [
        {"destination": DEST},
        {
            "destination": DEST,
            "retryDelay": "500",
            "flowControlKey": "other",
            "rate": 5,
            "period": "1h",
            "redact": ["body", "header[X-Key]"],
            "callback": "https://e.com/cb",
            "callbackMethod": "PATCH",
            "callbackRetries": 1,
            "callbackHeaders": {"X-Cb": "y"},
            "failureCallbackTimeout": "20s",
        },
    ]
    f = tmp_path / "m.jsonl"
    f.write_text("".join(json.dumps(line) + "\n" for line in lines))
    r = cli("publish", "--batch", str(f), "--flow-control-key", "k", "--parallelism", "2", "--retry-delay", "100")
    assert r.exit_code == 0, r.stderr
    items = json.loads(mock_api.last.content)
    assert items[0]["headers"] == {
        "Upstash-Retry-Delay": "100",
        "Upstash-Flow-Control-Key": "k",
        "Upstash-Flow-Control-Value": "parallelism=2",
    }
    assert items[1]["headers"] == {
        "Upstash-Callback": "https://e.com/cb",
        "Upstash-Retry-Delay": "500",
        "Upstash-Flow-Control-Key": "other",
        "Upstash-Flow-Control-Value": "parallelism=2, rate=5, period=3600s",
        "Upstash-Redact-Fields": "body,header[X-Key]",
        "Upstash-Callback-Method": "PATCH",
        "Upstash-Callback-Retries": "1",
        "Upstash-Callback-Forward-X-Cb": "y",
        "Upstash-Failure-Callback-Timeout": "20s",
    }


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ({"rate": "5"}, "invalid rate"),
        ({"retryDelay": "os.system"}, "retry-delay"),
        ({"redact": 1}, "invalid redact"),
        ({"callbackHeaders": ["X: 1"]}, "callbackHeaders"),
    ],
)
def test_batch_line_settings_are_validated(cli, mock_api, tmp_path, line, needle) -> None:
    f = tmp_path / "m.jsonl"
    f.write_text(json.dumps({"destination": DEST, **line}) + "\n")
    r = cli("publish", "--batch", str(f))
    assert r.exit_code == 2 and needle in r.stderr and mock_api.requests == []


# -- schedules apply -------------------------------------------------------------------------------------------

APPLY = """
[[schedule]]
id = "nightly"
destination = "https://example.com/report"
cron = "0 3 * * *"
retry_delay = "1000 * retried"
flow_control_key = "reports"
rate = 2
period = "1m"
redact = "body"
failure_callback = "https://e.com/f"
failure_callback_retries = 1
failure_callback_headers = { "X-F" = "1" }
upstash_headers = { "Upstash-Future" = "yes" }
"""
SERVER = {
    "scheduleId": "nightly",
    "cron": "0 3 * * *",
    "destination": "https://example.com/report",
    "method": "POST",
    "header": {},
    "failureCallback": "https://e.com/f",
    "retryDelayExpression": "1000 * retried",
    "flowControlKey": "reports",
    "rate": 2,
    "period": 60,
}


def test_apply_sends_the_settings_and_compares_the_reported_ones(cli, mock_api, tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(APPLY)
    mock_api.add("GET", "/v2/schedules", [])
    mock_api.add("POST", "/v2/schedules/https://example.com/report", {"scheduleId": "nightly"})
    r = cli("schedules", "apply", str(path))
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {
        "Upstash-Failure-Callback": "https://e.com/f",
        "Upstash-Cron": "0 3 * * *",
        "Upstash-Schedule-Id": "nightly",
        "Upstash-Retry-Delay": "1000 * retried",
        "Upstash-Flow-Control-Key": "reports",
        "Upstash-Flow-Control-Value": "rate=2, period=60s",
        "Upstash-Redact-Fields": "body",
        "Upstash-Failure-Callback-Retries": "1",
        "Upstash-Failure-Callback-Forward-X-F": "1",
        "Upstash-Future": "yes",
    }
    mock_api.routes[("GET", "/v2/schedules")] = []
    mock_api.add("GET", "/v2/schedules", [SERVER])
    assert "unchanged" in cli("schedules", "apply", str(path), "--dry-run").stdout
    mock_api.routes[("GET", "/v2/schedules")] = []
    mock_api.add("GET", "/v2/schedules", [{**SERVER, "rate": 3, "retryDelayExpression": "1"}])
    plan = cli("schedules", "apply", str(path), "--dry-run").stdout
    assert "update" in plan and "retry_delay, rate" in plan


def test_apply_validates_the_settings(cli, mock_api, tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(APPLY.replace("rate = 2", 'rate = "2"'))
    assert_one_error(cli("schedules", "apply", str(path)), 2, "schedule #1", "invalid rate")
    assert mock_api.requests == []


# -- dlq retry -------------------------------------------------------------------------------------------------


def test_dlq_retry_sends_the_overrides(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry/1-0", {"messageId": "msg_new"}, status=201)
    r = cli("dlq", "retry", "1-0", "--retries", "5", "--timeout", "1m", "-H", "X-Retry: manual", "--retry-delay", "10")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {
        "Upstash-Forward-X-Retry": "manual",
        "Upstash-Retries": "5",
        "Upstash-Timeout": "60s",
        "Upstash-Retry-Delay": "10",
    }


def test_dlq_bulk_retry_sends_the_overrides_on_every_round(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry", {"cursor": "c1", "responses": [{"messageId": "a"}]}, times=1)
    mock_api.add("POST", "/v2/dlq/retry", {"responses": [{"messageId": "b"}]})
    r = cli("dlq", "retry", "--all", "--yes", "--method", "PUT", "-q")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "a\nb\n"
    assert [sent(req) for req in mock_api.requests] == [{"Upstash-Method": "PUT"}] * 2


def test_dlq_retry_without_overrides_sends_no_upstash_header(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry/1-0", {"messageId": "msg_new"}, status=201)
    assert cli("dlq", "retry", "1-0").exit_code == 0
    assert sent(mock_api.last) == {}
