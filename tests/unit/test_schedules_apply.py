"""`qstash schedules apply FILE.toml`: the plan (create / update / delete / unchanged), the exact writes, idempotence,
--prune safety, --dry-run, and file validation."""

from __future__ import annotations

import json

import pytest

from qstash_cli import schedule_file as F
from tests.unit.test_publish import assert_one_error, plain_text, sent

FILE = """
[[schedule]]
id = "nightly-report"
destination = "https://example.com/report"
cron = "0 3 * * *"
body = '{"kind":"nightly"}'
headers = { "Content-Type" = "application/json", "X-Team" = "data" }
retries = 3

[[schedule]]
id = "hourly-ping"
destination = "pings"
cron = "CRON_TZ=Europe/Berlin 0 * * * *"
delay = "30s"
"""

# The server's view of the first entry, as `GET /v2/schedules` shows it (dev server / reference B.4 shape).
NIGHTLY = {
    "scheduleId": "nightly-report",
    "cron": "0 3 * * *",
    "destination": "https://example.com/report",
    "method": "POST",
    "header": {"Content-Type": ["application/json"], "X-Team": ["data"]},
    "body": '{"kind":"nightly"}',
    "retries": 3,
    "isPaused": False,
    "createdAt": 1700000000000,
}
HOURLY = {
    "scheduleId": "hourly-ping",
    "cron": "CRON_TZ=Europe/Berlin 0 * * * *",
    "destination": "pings",
    "method": "POST",
    "header": {},
    "retries": 3,
    "delay": 30,
    "isPaused": False,
}
STRAY = {"scheduleId": "scd_hand_made", "cron": "* * * * *", "destination": "https://x.com", "header": {}}


@pytest.fixture
def toml(tmp_path):
    def write(text: str = FILE) -> str:
        path = tmp_path / "schedules.toml"
        path.write_text(text)
        return str(path)

    return write


def writes(mock_api) -> list:
    return [r for r in mock_api.requests if r.method != "GET"]


def test_dry_run_plans_without_writing(cli, mock_api, toml) -> None:
    mock_api.add("GET", "/v2/schedules", [{**NIGHTLY, "retries": 5}, STRAY])
    r = cli("schedules", "apply", toml(), "--prune", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert writes(mock_api) == [] and mock_api.path() == "/v2/schedules"
    assert r.stdout.splitlines() == [
        "action\tid\tcron\tdestination\tchanges",
        "update\tnightly-report\t0 3 * * *\thttps://example.com/report\tretries",
        "create\thourly-ping\tCRON_TZ=Europe/Berlin 0 * * * *\tpings\t",
        "delete\tscd_hand_made\t* * * * *\thttps://x.com\t",
    ]
    assert "dry run" in r.stderr
    table = plain_text(cli("schedules", "apply", toml(), "--prune", "--dry-run", tty=True).stdout)
    assert "update" in table and "scd_hand_made" in table
    js = cli("schedules", "apply", toml(), "--dry-run", "--json").json
    assert js[0] == {
        "action": "update",
        "scheduleId": "nightly-report",
        "cron": "0 3 * * *",
        "destination": "https://example.com/report",
        "changes": ["retries"],
    }
    assert writes(mock_api) == []


def test_apply_creates_updates_and_prunes_with_exact_requests(cli, mock_api, toml) -> None:
    mock_api.add("GET", "/v2/schedules", [{**NIGHTLY, "body": "old"}, STRAY])
    mock_api.add("POST", "/v2/schedules/https://example.com/report", {"scheduleId": "nightly-report"})
    mock_api.add("POST", "/v2/schedules/pings", {"scheduleId": "hourly-ping"})
    mock_api.add("DELETE", "/v2/schedules/scd_hand_made", None)
    r = cli("schedules", "apply", toml(), "--prune", "--yes")
    assert r.exit_code == 0, r.stderr
    update, create, delete = writes(mock_api)
    assert (update.method, mock_api.path(update)) == ("POST", "/v2/schedules/https://example.com/report")
    assert sent(update) == {
        "Content-Type": "application/json",
        "Upstash-Forward-X-Team": "data",
        "Upstash-Retries": "3",
        "Upstash-Cron": "0 3 * * *",
        "Upstash-Schedule-Id": "nightly-report",
    }
    assert update.content == b'{"kind":"nightly"}'
    assert (create.method, mock_api.path(create)) == ("POST", "/v2/schedules/pings")
    assert sent(create) == {
        "Upstash-Delay": "30s",
        "Upstash-Cron": "CRON_TZ=Europe/Berlin 0 * * * *",
        "Upstash-Schedule-Id": "hourly-ping",
    }
    assert create.content == b""
    assert (delete.method, mock_api.path(delete)) == ("DELETE", "/v2/schedules/scd_hand_made")
    assert [line.split("\t")[:2] for line in r.stdout.splitlines()[1:]] == [
        ["update", "nightly-report"],
        ["create", "hourly-ping"],
        ["delete", "scd_hand_made"],
    ]
    assert "1 created, 1 updated, 1 deleted, 0 unchanged" in r.stderr


def test_second_run_is_all_unchanged_and_writes_nothing(cli, mock_api, toml) -> None:
    mock_api.add("GET", "/v2/schedules", [NIGHTLY, HOURLY])
    r = cli("schedules", "apply", toml(), "--prune")
    assert r.exit_code == 0, r.stderr
    assert writes(mock_api) == []
    assert [line.split("\t")[0] for line in r.stdout.splitlines()[1:]] == ["unchanged", "unchanged"]
    assert cli("schedules", "apply", toml(), "-q").stdout == ""  # quiet: only changed ids
    assert writes(mock_api) == []


def test_without_prune_strays_are_left_alone(cli, mock_api, toml) -> None:
    mock_api.add("GET", "/v2/schedules", [NIGHTLY, HOURLY, STRAY])
    r = cli("schedules", "apply", toml())
    assert r.exit_code == 0 and writes(mock_api) == [] and "scd_hand_made" not in r.stdout


def test_prune_needs_yes_without_terminal_and_then_writes_nothing(cli, mock_api, toml) -> None:
    mock_api.add("GET", "/v2/schedules", [STRAY])
    r = cli("schedules", "apply", toml(), "--prune")
    assert_one_error(r, 2, "without --yes", "scd_hand_made")
    assert writes(mock_api) == []  # not even the creates


def test_prune_match_limits_deletions(cli, mock_api, toml) -> None:
    team = {**STRAY, "scheduleId": "nightly-old"}
    mock_api.add("GET", "/v2/schedules", [NIGHTLY, HOURLY, STRAY, team])
    mock_api.add("DELETE", "/v2/schedules/nightly-old", None)
    r = cli("schedules", "apply", toml(), "--prune", "--prune-match", "nightly-*", "-y", "-q")
    assert r.exit_code == 0, r.stderr
    assert [(w.method, mock_api.path(w)) for w in writes(mock_api)] == [("DELETE", "/v2/schedules/nightly-old")]
    assert r.stdout == "nightly-old\n"


def test_v1_is_unsupported(cli, mock_api, toml) -> None:
    r = cli("--api", "v1", "schedules", "apply", toml())
    assert_one_error(r, 2, "needs the v2 API", "--api v2")
    assert mock_api.requests == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[schedule]]\ndestination = "https://e.com"\ncron = "* * * * *"\n', "'id' is required"),
        ('[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * *"\n', "invalid cron"),
        ('[[schedule]]\nid = "a b"\ndestination = "https://e.com"\ncron = "* * * * *"\n', "schedule id"),
        ('[[schedule]]\nid = "a"\ndestination = "e.com/x"\ncron = "* * * * *"\n', "destination"),
        ('[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * * * *"\ncolour = 1\n', "unknown key"),
        ('[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * * * *"\nretries = "3"\n', "retries"),
        ('[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * * * *"\ndelay = "3 days"\n', "delay"),
        ('[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * * * *"\n' * 2, "duplicate id"),
        ("[[schedule]\n", "invalid TOML"),
        ('[[schedules]]\nid = "a"\n', "unknown top-level key"),
        (
            '[[schedule]]\nid = "a"\ndestination = "https://e.com"\ncron = "* * * * *"\n'
            'headers = { "Upstash-Retries" = "3" }\n',
            "Upstash-Retries",
        ),
    ],
)
def test_invalid_files_exit_2_before_any_request(cli, mock_api, toml, text, needle) -> None:
    r = cli("schedules", "apply", toml(text))
    assert_one_error(r, 2, needle)
    assert mock_api.requests == []


def test_missing_file(cli, mock_api) -> None:
    assert_one_error(cli("schedules", "apply", "/nonexistent.toml"), 2, "schedule file not found")
    assert mock_api.requests == []


# -- the diff itself -------------------------------------------------------------------------------------------------


def entry(**extra) -> F.Desired:
    return F.parse_entry({"id": "a", "destination": "https://e.com", "cron": "0 * * * *", **extra})


SERVER = {"scheduleId": "a", "destination": "https://e.com", "cron": "0 * * * *", "method": "POST", "retries": 3}


@pytest.mark.parametrize(
    ("want", "have", "changes"),
    [
        ({}, {}, []),
        ({}, {"header": {"Upstash-Forward-X": ["1"]}}, ["headers"]),
        ({"headers": {"x": "1"}}, {"header": {"X": ["1"]}}, []),
        ({"headers": {"x": "1"}}, {"header": {"Upstash-Forward-X": "1"}}, []),
        ({"headers": {"Content-Type": "a/b"}}, {"header": {"Content-Type": ["a/c"]}}, ["content-type"]),
        ({}, {"header": {"Content-Type": ["text/plain"]}}, []),  # server default, file silent
        ({"body": "hi"}, {"bodyBase64": "aGk="}, []),
        ({"body": "hi"}, {"body": "ho"}, ["body"]),
        ({"method": "get"}, {}, ["method"]),
        ({"delay": "1m"}, {"delay": 60}, []),
        ({"delay": "1m"}, {"delay": "60s"}, []),
        ({}, {"delay": 60}, ["delay"]),
        ({"timeout": "30s"}, {"timeout": 30}, []),
        ({}, {"timeout": 30}, []),  # file silent: server default kept
        ({"retries": 0}, {}, ["retries"]),
        ({}, {"retries": 9}, []),
        ({"callback": "https://c.com"}, {}, ["callback"]),
        ({}, {"failureCallback": "https://f.com"}, ["failure_callback"]),
        ({"queue": "q"}, {"queueName": "q"}, []),
        ({"cron": "0  *  * * *"}, {}, []),
        ({"cron": "5 * * * *"}, {}, ["cron"]),
        ({"destination": "https://e.com/x"}, {}, ["destination"]),
    ],
)
def test_differences(want, have, changes) -> None:
    assert F.differences(entry(**want), {**SERVER, **have}) == changes


def test_plan_json_round_trip_is_plain_data() -> None:
    steps = F.plan([entry()], [SERVER, {**SERVER, "scheduleId": "b"}], prune=True)
    assert json.loads(json.dumps([s.row() for s in steps])) == [
        {"action": "unchanged", "scheduleId": "a", "cron": "0 * * * *", "destination": "https://e.com", "changes": []},
        {"action": "delete", "scheduleId": "b", "cron": "0 * * * *", "destination": "https://e.com", "changes": []},
    ]
