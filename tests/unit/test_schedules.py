"""`qstash schedules list|get|create|delete|pause|resume` and `qstash cron` in both dialects: exact requests and
every output mode; invalid input and dialect gaps rejected before anything is sent."""

from __future__ import annotations

import re

import pytest

from tests.unit.test_publish import assert_one_error, plain_text, sent

DEST = "https://example.com/report"
V2_SCHEDULE = {
    "scheduleId": "nightly",
    "cron": "0 3 * * *",
    "destination": DEST,
    "method": "POST",
    "header": {"Content-Type": ["application/json"]},
    "body": '{"kind":"nightly"}',
    "retries": 3,
    "isPaused": False,
    "createdAt": 1700000000000,
    "nextScheduleTime": 1900000000000,
    "lastScheduleTime": 1700000600000,
}
V1_SCHEDULE = {
    "scheduleId": "scd_1",
    "cron": "*/5 * * * *",
    "createdAt": 1700000000000,
    "content": {"header": {}, "body": "tick"},
    "destination": {"type": "url", "url": DEST},
    "settings": {"retries": 3},
}
V1_TOPIC_SCHEDULE = {**V1_SCHEDULE, "scheduleId": "scd_2", "destination": {"type": "topic", "topic": {"name": "t1"}}}


# -- list / get -----------------------------------------------------------------------------------------------------


def test_v2_list_outputs(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")  # wide enough for every column whole
    mock_api.add("GET", "/v2/schedules", [V2_SCHEDULE, {**V2_SCHEDULE, "scheduleId": "paused", "isPaused": True}])
    plain = cli("schedules", "list")
    assert plain.exit_code == 0, plain.stderr
    assert (mock_api.last.method, mock_api.path()) == ("GET", "/v2/schedules")
    assert plain.stdout.splitlines() == [
        "id\tcron\tdestination\tnext run\tlast run\tpaused",
        f"nightly\t0 3 * * *\t{DEST}\t2030-03-17T17:46:40Z\t2023-11-14T22:23:20Z\tfalse",
        f"paused\t0 3 * * *\t{DEST}\t2030-03-17T17:46:40Z\t2023-11-14T22:23:20Z\ttrue",
    ]
    table = plain_text(cli("schedules", "list", tty=True).stdout)
    assert re.search(r"nightly\s+0 3 \* \* \*", table) and "2030-03-17T17:46:40Z" in table and "(in " in table
    assert cli("schedules", "list", "--json").json == [
        V2_SCHEDULE,
        {**V2_SCHEDULE, "scheduleId": "paused", "isPaused": True},
    ]
    assert cli("schedules", "list", "-q").stdout == "nightly\npaused\n"
    assert cli("schedules", "list", "-q", "--limit", "1").stdout == "nightly\n"


def test_v1_list_flattens_the_nested_destination(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/schedules", [V1_SCHEDULE, V1_TOPIC_SCHEDULE])
    r = cli("--api", "v1", "schedules", "list")
    assert r.exit_code == 0, r.stderr
    assert mock_api.path() == "/v1/schedules"
    assert r.stdout.splitlines()[1:] == [f"scd_1\t*/5 * * * *\t{DEST}\t\t\t", "scd_2\t*/5 * * * *\tt1\t\t\t"]


@pytest.mark.parametrize(("api", "data"), [("v1", V1_SCHEDULE), ("v2", V2_SCHEDULE)])
def test_get(cli, mock_api, api, data) -> None:
    sid = data["scheduleId"]
    mock_api.add("GET", f"/{api}/schedules/{sid}", data)
    r = cli("--api", api, "schedules", "get", sid)
    assert r.exit_code == 0, r.stderr
    assert (mock_api.last.method, mock_api.path()) == ("GET", f"/{api}/schedules/{sid}")
    assert f"scheduleId\t{sid}" in r.stdout.splitlines() and f"destination\t{DEST}" in r.stdout
    assert cli("--api", api, "schedules", "get", sid, "--json").json == data
    assert cli("--api", api, "schedules", "get", sid, "-q").stdout == f"{sid}\n"
    assert sid in cli("--api", api, "schedules", "get", sid, tty=True).stdout


def test_get_not_found_exit_3(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/schedules/nope", {"error": "schedule not found"}, status=404)
    assert_one_error(cli("schedules", "get", "nope"), 3, "schedule not found")


# -- create ---------------------------------------------------------------------------------------------------------


def test_v2_create_sends_every_header(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/schedules/{DEST}", {"scheduleId": "nightly"})
    r = cli(
        "schedules", "create", DEST, "--cron", "CRON_TZ=Europe/Berlin  0 3 * * *", "-d", "{}", "-t", "application/json",
        "--method", "PUT", "-H", "X-Team: data", "--delay", "10s", "--retries", "2", "--timeout", "1m",
        "--callback", "https://e.com/c", "--failure-callback", "https://e.com/f", "--schedule-id", "nightly",
        "--queue", "reports", "--label", "ops",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    req = mock_api.last
    assert (req.method, mock_api.path(req)) == ("POST", f"/v2/schedules/{DEST}")
    assert req.content == b"{}"
    assert sent(req) == {
        "Content-Type": "application/json",
        "Upstash-Method": "PUT",
        "Upstash-Forward-X-Team": "data",
        "Upstash-Delay": "10s",
        "Upstash-Retries": "2",
        "Upstash-Timeout": "60s",
        "Upstash-Callback": "https://e.com/c",
        "Upstash-Failure-Callback": "https://e.com/f",
        "Upstash-Label": "ops",
        "Upstash-Cron": "CRON_TZ=Europe/Berlin 0 3 * * *",
        "Upstash-Schedule-Id": "nightly",
        "Upstash-Queue-Name": "reports",
    }
    assert r.stdout == "scheduleId\tnightly\n"
    assert re.search(r"next fire times \(UTC\): (\S+Z, ){2}\S+Z$", r.stderr.strip())


def test_v1_create_is_publish_with_cron(cli, mock_api) -> None:
    mock_api.add("POST", f"/v1/publish/{DEST}", {"scheduleId": "scd_9"})
    r = cli("--api", "v1", "schedules", "create", DEST, "--cron", "*/5 * * * *", "-d", "tick", "--retries", "1")
    assert r.exit_code == 0, r.stderr
    assert (mock_api.last.method, mock_api.path()) == ("POST", f"/v1/publish/{DEST}")
    assert sent(mock_api.last) == {"Upstash-Retries": "1", "Upstash-Cron": "*/5 * * * *"}
    assert mock_api.last.content == b"tick"
    assert cli("--api", "v1", "schedules", "create", DEST, "--cron", "* * * * *", "-q").stdout == "scd_9\n"
    assert cli("--api", "v1", "schedules", "create", DEST, "--cron", "* * * * *", "--json").json == {
        "scheduleId": "scd_9"
    }


@pytest.mark.parametrize(
    "args",
    [["--schedule-id", "x"], ["--queue", "q"], ["--timeout", "5s"], ["--failure-callback", "https://e.com"]],
)
def test_v1_create_lacks_v2_settings(cli, mock_api, args) -> None:
    r = cli("--api", "v1", "schedules", "create", DEST, "--cron", "* * * * *", *args)
    assert_one_error(r, 2, "v1 API has no", "--api v2")
    assert mock_api.requests == []


def test_create_dry_run_sends_nothing_and_needs_no_token(cli) -> None:
    r = cli("schedules", "create", DEST, "--cron", "CRON_TZ=Asia/Tokyo 30 8 * * *", "--dry-run", "-n", "2")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "#\tutc\tlocal\tzone"
    assert len(lines) == 3 and lines[1].startswith("1\t") and lines[1].endswith("T08:30:00+09:00")
    assert re.match(r"1\t\d{4}-\d\d-\d\dT23:30:00Z\t", lines[1])
    assert "dry run: would send POST /v2/schedules/https://example.com/report" in r.stderr
    js = cli("schedules", "create", DEST, "--cron", "0 0 1 1 *", "--dry-run", "-n", "1", "--json").json
    assert js[0]["utc"].endswith("-01-01T00:00:00Z") and set(js[0]) == {"n", "utc", "local", "unix"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([DEST], "--cron"),
        ([DEST, "--cron", "0 25 * * *"], "cron"),
        (["not a dest", "--cron", "* * * * *"], "destination"),
        ([DEST, "--cron", "* * * * *", "--schedule-id", "bad id"], "schedule id"),
        ([DEST, "--cron", "* * * * *", "-H", "nocolon"], "header"),
        ([DEST, "--cron", "* * * * *", "--delay", "1y"], "--delay"),
        ([DEST, "--cron", "* * * * *", "-d", "@/nonexistent"], "body file not found"),
    ],
)
def test_create_invalid_input(cli, mock_api, args, needle) -> None:
    r = cli("schedules", "create", *args)
    assert r.exit_code == 2 and needle in r.stderr.splitlines()[0] and "Traceback" not in r.stderr
    assert mock_api.requests == []


# -- delete / pause / resume ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_delete_needs_yes_without_terminal(cli, mock_api, api) -> None:
    mock_api.add("DELETE", f"/{api}/schedules/nightly", {"status": "accepted"}, status=202)
    refused = cli("--api", api, "schedules", "delete", "nightly")
    assert_one_error(refused, 2, "without --yes")
    assert mock_api.requests == []
    r = cli("--api", api, "schedules", "delete", "nightly", "--yes")
    assert r.exit_code == 0, r.stderr
    assert (mock_api.last.method, mock_api.path()) == ("DELETE", f"/{api}/schedules/nightly")
    assert r.stdout == "scheduleId\tnightly\nstatus\tdeleted\n"
    assert cli("--api", api, "schedules", "delete", "nightly", "-y", "-q").stdout == "nightly\n"


def test_delete_asks_on_a_terminal(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/schedules/nightly", None)
    no = cli("schedules", "delete", "nightly", stdin="n\n", stdin_tty=True)
    assert no.exit_code == 1 and mock_api.requests == []
    yes = cli("schedules", "delete", "nightly", stdin="y\n", stdin_tty=True)
    assert yes.exit_code == 0 and mock_api.path() == "/v2/schedules/nightly"


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_pause_resume_v2_patch(cli, mock_api, action) -> None:
    mock_api.add("PATCH", f"/v2/schedules/nightly/{action}", None)
    r = cli("schedules", action, "nightly")
    assert r.exit_code == 0, r.stderr
    assert (mock_api.last.method, mock_api.path()) == ("PATCH", f"/v2/schedules/nightly/{action}")
    assert r.stdout == f"scheduleId\tnightly\nstatus\t{action}d\n"
    assert cli("schedules", action, "nightly", "--json").json == {"scheduleId": "nightly", "status": f"{action}d"}


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_pause_resume_v1_unsupported(cli, mock_api, action) -> None:
    r = cli("--api", "v1", "schedules", action, "nightly")
    assert_one_error(r, 2, f"v1 API cannot {action}", "--api v2")
    assert mock_api.requests == []


def test_invalid_schedule_id(cli, mock_api) -> None:
    for cmd in (["get", "a/b"], ["delete", "a b", "--yes"], ["pause", "../x"]):
        assert_one_error(cli("schedules", *cmd), 2, "invalid schedule id")
    assert mock_api.requests == []


def test_missing_token_exit_4(cli) -> None:
    assert_one_error(cli("schedules", "list"), 4, "no QStash token")


# -- cron ---------------------------------------------------------------------------------------------------------


def test_cron_plain_json_quiet_table(cli) -> None:
    r = cli("cron", "0 12 * * *", "-n", "3")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "#\tutc\tlocal" and len(lines) == 4
    assert all(re.match(rf"{i}\t\d{{4}}-\d\d-\d\dT12:00:00Z\t", lines[i]) for i in (1, 2, 3))
    js = cli("cron", "0 12 * * *", "-n", "2", "--json").json
    assert len(js) == 2 and js[1]["unix"] - js[0]["unix"] == 86400
    q = cli("cron", "0 12 * * *", "-n", "2", "-q").stdout.splitlines()
    assert q == [row["utc"] for row in js]
    table = plain_text(cli("cron", "0 12 * * *", "-n", "1", tty=True).stdout)
    assert "utc" in table and "T12:00:00Z" in table


def test_cron_tz_is_honoured(cli) -> None:
    js = cli("cron", "CRON_TZ=America/New_York 0 9 * * *", "-n", "1", "--json").json
    assert js[0]["zone"].endswith(("T09:00:00-05:00", "T09:00:00-04:00"))
    assert js[0]["utc"].endswith(("T14:00:00Z", "T13:00:00Z"))


@pytest.mark.parametrize("expr", ["* * *", "99 * * * *", "CRON_TZ=Nowhere/Zone * * * * *", ""])
def test_cron_invalid(cli, expr) -> None:
    assert_one_error(cli("cron", expr), 2)


@pytest.mark.parametrize("answer", [5, {"schedules": []}, ["x"]])
def test_unexpected_listing_shape_is_one_error_line(cli, mock_api, answer) -> None:
    mock_api.add("GET", "/v2/schedules", answer)
    assert_one_error(cli("schedules", "list"), 1, "unexpected answer")
    mock_api.add("GET", "/v2/schedules/x", [1])
    assert_one_error(cli("schedules", "get", "x"), 1, "unexpected answer")
