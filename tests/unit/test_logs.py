"""`qstash logs`: v2 /v2/events|/v2/logs with filters, v1 /v1/logs; --limit, --all (cursors), --follow."""

from __future__ import annotations

import json

import pytest

from qstash_cli.commands import logs as logs_cmd
from tests.unit.test_messages import T0, assert_sent, assert_usage_error, event, sent

E1 = event("msg_1", "CREATED", T0)
E2 = event("msg_1", "DELIVERED", T0 + 1000, responseStatus=200)
E3 = event("msg_2", "ERROR", T0 + 2000, responseStatus=500, error="HTTP 500")
E3B = event("msg_3", "CREATED", T0 + 2000)  # same millisecond as E3, different entry


def test_v2_default_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"cursor": "2", "events": [E3, E2]})
    r = cli("logs")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/events")
    assert r.stdout.splitlines() == [
        "time\tstate\tmessage\turl\tstatus\terror\tnext delivery",
        "2023-11-14T22:13:22Z\tERROR\tmsg_2\thttps://a.example.com/hook\t500\tHTTP 500\t",
        "2023-11-14T22:13:21Z\tDELIVERED\tmsg_1\thttps://a.example.com/hook\t200\t\t",
    ]
    assert len(mock_api.requests) == 1  # one page without --all
    assert cli("logs", "--json").json == [E3, E2]
    assert cli("logs", "-q").stdout == "msg_2\nmsg_1\n"
    table = cli("logs", tty=True).stdout
    assert "msg_1" in table and "ERROR" in table and "2023-11-14T22:13:22Z" in table


def test_v2_every_filter_goes_into_the_query(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"events": []})
    r = cli(
        "logs", "--message-id", "msg_1", "--message-id", "msg_2", "--state", "failed", "--endpoint",
        "https://a.example.com/x?y=1", "--topic", "orders", "--schedule-id", "scd_1", "--queue", "q1",
        "--label", "nightly", "--from", "2023-11-14T22:13:20Z", "--to", str(T0 + 5), "--order", "earliestFirst",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert_sent(
        mock_api,
        "GET",
        "/v2/events?messageId=msg_1&messageId=msg_2&state=FAILED&url=https%3A%2F%2Fa.example.com%2Fx%3Fy%3D1"
        f"&topicName=orders&scheduleId=scd_1&queueName=q1&label=nightly&fromDate={T0}&toDate={T0 + 5}"
        "&order=earliestFirst",
    )
    assert r.stdout.splitlines() == ["time\tstate\tmessage\turl\tstatus\terror\tnext delivery"]


def test_v2_source_logs_reads_the_logs_key(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/logs", {"logs": [E2]})
    r = cli("logs", "--source", "logs", "--json")
    assert r.exit_code == 0 and r.json == [E2]
    assert_sent(mock_api, "GET", "/v2/logs")


def test_v2_limit_sends_count_and_stops_early(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"cursor": "abc-2", "events": [E3, E2]}, times=1)
    mock_api.add("GET", "/v2/events", {"cursor": "abc-1", "events": [E1, E1]})
    r = cli("logs", "--limit", "3", "--json")
    assert r.exit_code == 0 and r.json == [E3, E2, E1]
    assert sent(mock_api) == [("GET", "/v2/events?count=3"), ("GET", "/v2/events?count=3&cursor=abc-2")]


def test_v2_all_follows_string_cursors_to_the_end(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"cursor": "abc-2", "events": [E3]}, times=1)
    mock_api.add("GET", "/v2/events", {"cursor": "abc-1", "events": [E2]}, times=1)
    mock_api.add("GET", "/v2/events", {"events": [E1]})
    r = cli("logs", "--all", "--state", "IN_PROGRESS", "--json")
    assert r.exit_code == 0 and r.json == [E3, E2, E1]
    assert r.stdout.startswith("[\n  {") and r.stdout.endswith("}\n]\n")  # one array, streamed
    assert sent(mock_api) == [
        ("GET", "/v2/events?state=IN_PROGRESS"),
        ("GET", "/v2/events?state=IN_PROGRESS&cursor=abc-2"),
        ("GET", "/v2/events?state=IN_PROGRESS&cursor=abc-1"),
    ]


V1_L1 = {"time": T0 + 2000, "state": "error", "messageId": "msg_2", "taskId": "tsk_2", "error": "HTTP 500"}
V1_L2 = {"time": T0, "state": "delivered", "messageId": "msg_1", "taskId": "tsk_1"}


def test_v1_request_outputs_and_int_cursor(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/logs", {"cursor": T0 + 1, "logs": [V1_L1]}, times=1)
    mock_api.add("GET", "/v1/logs", {"cursor": 0, "logs": [V1_L2]})
    r = cli("--api", "v1", "logs", "--all")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [("GET", "/v1/logs"), ("GET", f"/v1/logs?cursor={T0 + 1}")]
    assert_sent(mock_api, "GET", f"/v1/logs?cursor={T0 + 1}")
    assert r.stdout.splitlines() == [
        "time\tstate\tmessage\ttask\turl\terror\tnext delivery",
        "2023-11-14T22:13:22Z\terror\tmsg_2\ttsk_2\t\tHTTP 500\t",
        "2023-11-14T22:13:20Z\tdelivered\tmsg_1\ttsk_1\t\t\t",
    ]
    assert cli("--api", "v1", "logs", "-q").stdout == "msg_1\n"  # the remaining page
    assert cli("--api", "v1", "logs", "--json").json == [V1_L2]
    assert "tsk_1" in cli("--api", "v1", "logs", tty=True).stdout


def test_v1_limit_stops_early(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/logs", {"cursor": T0 + 1, "logs": [V1_L1, V1_L2]})
    r = cli("--api", "v1", "logs", "--limit", "1", "--json")
    assert r.exit_code == 0 and r.json == [V1_L1]
    assert sent(mock_api) == [("GET", "/v1/logs")]  # no count parameter in v1


def test_v1_message_id_and_time_window(cli, mock_api) -> None:
    older = {**V1_L2, "time": T0 - 10_000}
    mock_api.add("GET", "/v1/messages/msg_1/logs", {"cursor": T0 - 10_000, "logs": [V1_L2, older]})
    r = cli("--api", "v1", "logs", "--message-id", "msg_1", "--from", str(T0 - 5000), "--to", str(T0), "--all", "-q")
    assert r.exit_code == 0 and r.stdout == "msg_1\n"  # `older` is cut, and no further page is read
    assert sent(mock_api) == [("GET", f"/v1/messages/msg_1/logs?cursor={T0 + 1}")]


def test_v1_source_events_uses_the_string_cursor(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/events", {"cursor": "1686652644442-12", "events": [E2]}, times=1)
    mock_api.add("GET", "/v1/events", {"events": [E1]})
    r = cli("--api", "v1", "logs", "--source", "events", "--all", "--json")
    assert r.exit_code == 0 and r.json == [E2, E1]
    assert sent(mock_api) == [("GET", "/v1/events"), ("GET", "/v1/events?cursor=1686652644442-12")]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--state", "FAILED"), "v1 logs cannot be filtered by state"),
        (("--topic", "orders"), "use --api v2"),
        (("--order", "earliestFirst"), "newest first only"),
    ],
)
def test_v1_filters_it_lacks_are_unsupported(cli, mock_api, args, needle) -> None:
    r = cli("--api", "v1", "logs", *args)
    assert_usage_error(r, mock_api, needle)
    assert len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--state", "DONE"), "invalid --state"),
        (("--order", "sideways"), "invalid --order"),
        (("--source", "kafka"), "invalid --source"),
        (("--from", "yesterday"), "invalid --from"),
        (("--message-id", "a b"), "invalid message id"),
        (("--follow", "--all"), "do not mix"),
        (("--label", "a,b"), "invalid --label"),
    ],
)
def test_invalid_input_is_caught_before_sending(cli, mock_api, args, needle) -> None:
    assert_usage_error(cli("logs", *args), mock_api, needle)


# -- --follow -----------------------------------------------------------------------------------------------------


@pytest.fixture
def polls(monkeypatch):
    """Replace the poll wait: record each interval; Ctrl-C on the third wait."""
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(logs_cmd, "_sleep", fake_sleep)
    return waits


def test_v2_follow_prints_only_new_entries_and_exits_0_on_ctrl_c(cli, mock_api, polls) -> None:
    mock_api.add("GET", "/v2/events", {"events": [E2, E1]}, times=1)  # backlog, newest first
    mock_api.add("GET", "/v2/events", {"events": [E3, E2]}, times=1)  # poll 1: E3 is new, E2 seen
    mock_api.add("GET", "/v2/events", {"events": [E3B, E3]}, times=1)  # poll 2: same ms as E3, but new
    mock_api.add("GET", "/v2/events", {"events": [E3B, E3]})
    r = cli("logs", "--follow", "--interval", "0.5", "--topic", "orders", "--json")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line) for line in r.stdout.splitlines()] == [E1, E2, E3, E3B]
    assert polls == [0.5, 0.5, 0.5]
    assert sent(mock_api) == [
        ("GET", "/v2/events?topicName=orders&count=10"),
        ("GET", f"/v2/events?topicName=orders&fromDate={T0 + 1000}"),
        ("GET", f"/v2/events?topicName=orders&fromDate={T0 + 2000}"),
    ]


def test_v2_follow_plain_header_once_and_limit_sets_the_backlog(cli, mock_api, polls) -> None:
    mock_api.add("GET", "/v2/events", {"events": [E2]}, times=1)
    mock_api.add("GET", "/v2/events", {"cursor": "x", "events": [E3]}, times=1)
    mock_api.add("GET", "/v2/events", {"events": []})
    r = cli("logs", "-f", "--limit", "1", "--from", str(T0))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "time\tstate\tmessage\turl\tstatus\terror\tnext delivery",
        "2023-11-14T22:13:21Z\tDELIVERED\tmsg_1\thttps://a.example.com/hook\t200\t\t",
        "2023-11-14T22:13:22Z\tERROR\tmsg_2\thttps://a.example.com/hook\t500\tHTTP 500\t",
    ]
    assert "Ctrl-C" in r.stderr and "Traceback" not in r.stderr
    assert sent(mock_api)[:3] == [
        ("GET", f"/v2/events?fromDate={T0}&count=1"),
        ("GET", f"/v2/events?fromDate={T0 + 1000}"),
        ("GET", f"/v2/events?fromDate={T0 + 1000}&cursor=x"),  # a poll reads every new page
    ]


def test_v1_follow_polls_v1_logs_and_cuts_what_it_has_seen(cli, mock_api, polls) -> None:
    mock_api.add("GET", "/v1/logs", {"logs": [V1_L2]}, times=1)
    mock_api.add("GET", "/v1/logs", {"cursor": T0 - 1, "logs": [V1_L1, V1_L2]})
    r = cli("--api", "v1", "logs", "--follow", "-q")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "msg_1\nmsg_2\n"
    assert sent(mock_api) == [("GET", "/v1/logs")] * 3  # the older cursor page is never read


def test_follow_interrupted_during_the_first_request_exits_0(cli, mock_api, monkeypatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("qstash_cli.api.logs.V2.page", interrupt)
    r = cli("logs", "-f")
    assert r.exit_code == 0 and r.stdout == ""
