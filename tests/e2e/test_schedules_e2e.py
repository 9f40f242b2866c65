"""`qstash schedules` against a real `qstash dev`: create/list/get/pause/resume/delete, and `schedules apply`
(idempotent second run with no writes, updates, --prune removing only what the file lacks)."""

from __future__ import annotations

import httpx
import pytest

from qstash_cli.api import transport


@pytest.fixture
def live(dev_server, cli, monkeypatch):
    """`run(*args)` runs the CLI against the dev server; `run.sent` records every request the CLI made."""
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    sent: list[tuple[str, str]] = []

    def make(base_url: str) -> httpx.Client:
        def record(request: httpx.Request) -> None:
            sent.append((request.method, request.url.raw_path.decode()))

        return httpx.Client(base_url=base_url, timeout=10, event_hooks={"request": [record]})

    monkeypatch.setattr(transport, "make_http_client", make)

    def run(*args: str, code: int = 0, **kwargs):
        r = cli(*args, **kwargs)
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        return r

    run.sent = sent
    return run


def rows(result) -> dict[str, list[str]]:
    """Plain listing → {first column: row}."""
    return {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()[1:]}


def test_create_list_get_pause_resume_delete(live, sink) -> None:
    url = f"{sink.url}/report"
    r = live(
        "schedules", "create", url, "--cron", "0 3 * * *", "--schedule-id", "nightly", "-d", "{}",
        "-t", "application/json", "-H", "X-Team: data", "--retries", "2", "--delay", "30s",
    )  # fmt: skip
    assert r.stdout == "scheduleId\tnightly\n" and "next fire times" in r.stderr
    listed = rows(live("schedules", "list"))
    assert listed["nightly"][1:3] == ["0 3 * * *", url] and listed["nightly"][5] == "false"
    assert listed["nightly"][3].endswith("T03:00:00Z")
    got = live("schedules", "get", "nightly", "--json").json
    assert got["destination"] == url and got["retries"] == 2 and got["body"] == "{}"
    assert got["header"]["X-Team"] == ["data"]

    assert live("schedules", "pause", "nightly").stdout == "scheduleId\tnightly\nstatus\tpaused\n"
    assert live("schedules", "get", "nightly", "--json").json["isPaused"] is True
    assert rows(live("schedules", "list"))["nightly"][5] == "true"
    live("schedules", "resume", "nightly")
    assert live("schedules", "get", "nightly", "--json").json["isPaused"] is False

    live("schedules", "delete", "nightly", code=2)  # no terminal, no --yes
    assert "nightly" in live("schedules", "list", "-q").stdout
    live("schedules", "delete", "nightly", "--yes")
    assert live("schedules", "list", "-q").stdout == ""
    live("schedules", "get", "nightly", code=3)


def test_v1_schedules_round_trip_and_pause_unsupported(live, sink) -> None:
    sid = live("--api", "v1", "schedules", "create", f"{sink.url}/v1", "--cron", "*/10 * * * *", "-q").stdout.strip()
    assert sid in live("--api", "v1", "schedules", "list", "-q").stdout.split()
    detail = live("--api", "v1", "schedules", "get", sid, "--json").json
    assert detail["destination"]["url"] == f"{sink.url}/v1"
    before = len(live.sent)
    r = live("--api", "v1", "schedules", "pause", sid, code=2)
    assert "v1 API cannot pause" in r.stderr and len(live.sent) == before
    live("--api", "v1", "schedules", "delete", sid, "-y")
    assert live("--api", "v1", "schedules", "list", "-q").stdout == ""


FILE = """
[[schedule]]
id = "nightly-report"
destination = "{sink}/report"
cron = "0 3 * * *"
body = '{{"kind":"nightly"}}'
headers = {{ "Content-Type" = "application/json", "X-Team" = "data" }}
retries = 3

[[schedule]]
id = "hourly-ping"
destination = "{sink}/ping"
cron = "{cron}"
delay = "30s"
timeout = "20s"
method = "PUT"
callback = "{sink}/cb"
"""


def write(tmp_path, sink, cron: str = "CRON_TZ=Europe/Berlin 0 * * * *") -> str:
    path = tmp_path / "schedules.toml"
    path.write_text(FILE.format(sink=sink.url, cron=cron))
    return str(path)


def test_apply_twice_second_run_is_a_no_op(live, sink, tmp_path) -> None:
    f = write(tmp_path, sink)
    first = live("schedules", "apply", f)
    assert [line.split("\t")[:2] for line in first.stdout.splitlines()[1:]] == [
        ["create", "nightly-report"],
        ["create", "hourly-ping"],
    ]
    assert sorted(live("schedules", "list", "-q").stdout.split()) == ["hourly-ping", "nightly-report"]
    got = live("schedules", "get", "hourly-ping", "--json").json
    assert (got["method"], got["delay"], got["callback"]) == ("PUT", 30, f"{sink.url}/cb")

    live.sent.clear()
    second = live("schedules", "apply", f, "--prune")
    assert [line.split("\t")[0] for line in second.stdout.splitlines()[1:]] == ["unchanged", "unchanged"]
    assert "0 created, 0 updated, 0 deleted, 2 unchanged" in second.stderr
    assert live.sent == [("GET", "/v2/schedules")]  # no writes at all


def test_apply_updates_a_changed_schedule_in_place(live, sink, tmp_path) -> None:
    live("schedules", "apply", write(tmp_path, sink))
    live("schedules", "pause", "nightly-report")
    live.sent.clear()
    r = live("schedules", "apply", write(tmp_path, sink, cron="15 * * * *"), "--dry-run")
    assert rows(r)["update"][1:] == ["hourly-ping", "15 * * * *", f"{sink.url}/ping", "cron"]
    assert live.sent == [("GET", "/v2/schedules")]
    live("schedules", "apply", write(tmp_path, sink, cron="15 * * * *"))
    assert live("schedules", "get", "hourly-ping", "--json").json["cron"] == "15 * * * *"
    assert sorted(live("schedules", "list", "-q").stdout.split()) == ["hourly-ping", "nightly-report"]
    again = live("schedules", "apply", write(tmp_path, sink, cron="15 * * * *"))
    assert {line.split("\t")[0] for line in again.stdout.splitlines()[1:]} == {"unchanged"}
    assert live("schedules", "get", "nightly-report", "--json").json["isPaused"] is True  # untouched


def test_prune_removes_only_what_the_file_lacks(live, sink, tmp_path) -> None:
    f = write(tmp_path, sink)
    live("schedules", "apply", f)
    stray = live("publish", f"{sink.url}/stray", "--cron", "*/7 * * * *", "-q").stdout.strip()
    live("schedules", "create", f"{sink.url}/other", "--cron", "0 0 * * *", "--schedule-id", "team-b-job")

    plan = live("schedules", "apply", f, "--prune", "--dry-run")
    assert sorted(line.split("\t")[1] for line in plan.stdout.splitlines()[1:] if line.startswith("delete")) == sorted(
        [stray, "team-b-job"]
    )
    assert len(live("schedules", "list", "-q").stdout.split()) == 4  # dry run changed nothing

    refused = live("schedules", "apply", f, "--prune", code=2)
    assert "without --yes" in refused.stderr
    assert len(live("schedules", "list", "-q").stdout.split()) == 4

    live("schedules", "apply", f, "--prune", "--prune-match", "scd_*", "--yes")
    assert sorted(live("schedules", "list", "-q").stdout.split()) == ["hourly-ping", "nightly-report", "team-b-job"]
    live("schedules", "apply", f, "--prune", "--yes")
    assert sorted(live("schedules", "list", "-q").stdout.split()) == ["hourly-ping", "nightly-report"]


def test_apply_v1_is_unsupported_and_sends_nothing(live, sink, tmp_path) -> None:
    r = live("--api", "v1", "schedules", "apply", write(tmp_path, sink), code=2)
    assert r.stderr.startswith("Error: schedules apply needs the v2 API") and live.sent == []


def test_cron_command_needs_no_server(cli) -> None:
    r = cli("cron", "CRON_TZ=Europe/Berlin 30 6 * * 1", "-n", "2", "--json")
    assert r.exit_code == 0, r.stderr
    assert all(row["zone"][10:] in ("T06:30:00+01:00", "T06:30:00+02:00") for row in r.json)
