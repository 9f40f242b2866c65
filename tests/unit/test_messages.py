"""`qstash messages` in both dialects: exact requests (method, raw path, headers, body), pagination, the bulk-cancel
guards, and every output mode."""

from __future__ import annotations

import pytest

from tests.unit.helpers import assert_sent

T0 = 1700000000000  # 2023-11-14T22:13:20Z
V1_MSG = {
    "messageId": "msg_1",
    "url": "https://a.example.com/hook",
    "method": "POST",
    "header": {"Content-Type": ["text/plain"]},
    "body": "hi",
    "createdAt": T0,
    "destinationType": "url",
}
V1_MSG2 = {"messageId": "msg_2", "topicName": "orders", "url": "https://b.example.com", "createdAt": T0 - 60000}
V2_MSG = {
    "messageId": "msg_1",
    "url": "https://a.example.com/hook",
    "method": "POST",
    "header": {},
    "body": "hi",
    "maxRetries": 3,
    "notBefore": T0,
    "createdAt": T0,
}


def event(mid: str, state: str, t: int, **extra: object) -> dict:
    return {"messageId": mid, "state": state, "time": t, "url": "https://a.example.com/hook", **extra}


def sent(mock_api) -> list[tuple[str, str]]:
    return [(r.method, mock_api.path(r)) for r in mock_api.requests]


def assert_usage_error(r, mock_api, *needles: str) -> None:
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("Error: ") and "Traceback" not in r.stderr and r.stdout == ""
    for needle in needles:
        assert needle in r.stderr
    assert mock_api.requests == []


# -- list ---------------------------------------------------------------------------------------------------------


def test_v1_list_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages", {"messages": [V1_MSG, V1_MSG2]})
    r = cli("--api", "v1", "messages", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v1/messages")
    assert r.stdout.splitlines() == [
        "id\tdestination\tmethod\tcreated\tschedule",
        "msg_1\thttps://a.example.com/hook\tPOST\t2023-11-14T22:13:20Z\t",
        "msg_2\thttps://b.example.com\t\t2023-11-14T22:12:20Z\t",
    ]
    assert cli("--api", "v1", "messages", "list", "--json").json == [V1_MSG, V1_MSG2]
    assert cli("--api", "v1", "messages", "list", "-q").stdout == "msg_1\nmsg_2\n"
    table = cli("--api", "v1", "messages", "list", tty=True).stdout
    assert "destination" in table and "msg_2" in table and "2023-11-14T22:13:20Z (" in table


def test_v1_list_all_follows_the_int_cursor(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages", {"cursor": T0 - 1, "messages": [V1_MSG]}, times=1)
    mock_api.add("GET", "/v1/messages", {"cursor": 0, "messages": [V1_MSG2]})
    r = cli("--api", "v1", "messages", "list", "--all", "-q")
    assert r.exit_code == 0 and r.stdout == "msg_1\nmsg_2\n"
    assert sent(mock_api) == [("GET", "/v1/messages"), ("GET", f"/v1/messages?cursor={T0 - 1}")]


def test_v1_list_limit_stops_early(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages", {"cursor": T0 - 1, "messages": [V1_MSG, V1_MSG2]})
    r = cli("--api", "v1", "messages", "list", "--limit", "1", "--json")
    assert r.exit_code == 0 and r.json == [V1_MSG]
    assert sent(mock_api) == [("GET", "/v1/messages")]


def test_v1_list_without_all_reads_one_page(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages", {"cursor": T0 - 1, "messages": [V1_MSG]})
    assert cli("--api", "v1", "messages", "list", "-q").stdout == "msg_1\n"
    assert len(mock_api.requests) == 1


def test_v2_list_is_built_from_events_one_row_per_message(cli, mock_api) -> None:
    mock_api.add(
        "GET",
        "/v2/events",
        {
            "events": [
                event("msg_2", "DELIVERED", T0 + 2000, responseStatus=200),
                event("msg_1", "ERROR", T0 + 1000, responseStatus=500, error="HTTP 500"),
                event("msg_2", "ACTIVE", T0 + 500),
                event("msg_1", "CREATED", T0),
            ]
        },
    )
    r = cli("messages", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/events")
    assert r.stdout.splitlines() == [
        "id\tstate\tdestination\tlast event\tstatus\terror",
        "msg_2\tDELIVERED\thttps://a.example.com/hook\t2023-11-14T22:13:22Z\t200\t",
        "msg_1\tERROR\thttps://a.example.com/hook\t2023-11-14T22:13:21Z\t500\tHTTP 500",
    ]
    rows = cli("messages", "list", "--json").json
    assert [(m["messageId"], m["state"], m["time"]) for m in rows] == [
        ("msg_2", "DELIVERED", T0 + 2000),
        ("msg_1", "ERROR", T0 + 1000),
    ]
    assert cli("messages", "list", "-q").stdout == "msg_2\nmsg_1\n"
    assert "DELIVERED" in cli("messages", "list", tty=True).stdout


def test_v2_list_limit_reads_pages_until_enough_messages(cli, mock_api) -> None:
    page1 = {"cursor": "17-5", "events": [event("msg_1", "DELIVERED", T0 + 3), event("msg_1", "ACTIVE", T0 + 2)]}
    page2 = {"cursor": "17-3", "events": [event("msg_2", "FAILED", T0 + 1), event("msg_3", "CREATED", T0)]}
    mock_api.add("GET", "/v2/events", page1, times=1)
    mock_api.add("GET", "/v2/events", page2, times=1)
    mock_api.add("GET", "/v2/events", {"events": [event("msg_4", "CREATED", T0 - 1)]})
    r = cli("messages", "list", "--limit", "2", "-q")
    assert r.exit_code == 0 and r.stdout == "msg_1\nmsg_2\n"
    assert sent(mock_api) == [("GET", "/v2/events"), ("GET", "/v2/events?cursor=17-5")]


def test_v2_list_all_follows_string_cursors(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"cursor": "17-5", "events": [event("msg_1", "DELIVERED", T0 + 3)]}, times=1)
    mock_api.add("GET", "/v2/events", {"cursor": "", "events": [event("msg_2", "FAILED", T0)]})
    r = cli("messages", "list", "--all", "--json")
    assert r.exit_code == 0 and [m["messageId"] for m in r.json] == ["msg_1", "msg_2"]
    assert sent(mock_api) == [("GET", "/v2/events"), ("GET", "/v2/events?cursor=17-5")]


# -- get ----------------------------------------------------------------------------------------------------------


def test_v1_get(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages/msg_1", V1_MSG)
    r = cli("--api", "v1", "messages", "get", "msg_1")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v1/messages/msg_1")
    assert "messageId\tmsg_1" in r.stdout.splitlines() and "createdAt\t2023-11-14T22:13:20Z" in r.stdout
    assert cli("--api", "v1", "messages", "get", "msg_1", "--json").json == V1_MSG
    assert cli("--api", "v1", "messages", "get", "msg_1", "-q").stdout == "msg_1\n"


def test_v2_get_in_flight(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/messages/msg_1", V2_MSG)
    r = cli("messages", "get", "msg_1")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/messages/msg_1")
    assert "notBefore\t2023-11-14T22:13:20Z" in r.stdout and "maxRetries\t3" in r.stdout
    assert cli("messages", "get", "msg_1", "--json").json == V2_MSG
    assert "msg_1" in cli("messages", "get", "msg_1", tty=True).stdout


def test_v2_get_falls_back_to_the_latest_event(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/messages/msg_1", {"error": "message not found"}, status=404)
    mock_api.add("GET", "/v2/events", {"events": [event("msg_1", "DELIVERED", T0, responseStatus=200)]})
    r = cli("messages", "get", "msg_1")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [("GET", "/v2/messages/msg_1"), ("GET", "/v2/events?messageId=msg_1&count=1")]
    assert "no longer in flight" in r.stderr
    assert "state\tDELIVERED" in r.stdout and "responseStatus\t200" in r.stdout
    assert cli("messages", "get", "msg_1", "--json").json["state"] == "DELIVERED"


def test_v2_get_unknown_message_exits_3(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/messages/msg_x", {"error": "message not found"}, status=404)
    mock_api.add("GET", "/v2/events", {"events": []})
    r = cli("messages", "get", "msg_x")
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.startswith("Error: message msg_x not found") and "Hint:" in r.stderr


def test_v1_get_unknown_message_exits_3_without_fallback(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages/msg_x", {"error": "not found"}, status=404)
    r = cli("--api", "v1", "messages", "get", "msg_x")
    assert r.exit_code == 3 and sent(mock_api) == [("GET", "/v1/messages/msg_x")]


def test_get_rejects_a_bad_id_before_sending(cli, mock_api) -> None:
    assert_usage_error(cli("messages", "get", "msg/../x"), mock_api, "invalid message id")


# -- cancel -------------------------------------------------------------------------------------------------------


def test_v1_cancel_ids_one_by_one(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v1/messages/msg_1", {"status": "accepted"}, status=202)
    mock_api.add("DELETE", "/v1/messages/msg_2", {"status": "accepted"}, status=202)
    r = cli("--api", "v1", "messages", "cancel", "msg_1", "msg_2", "--yes")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "DELETE", "/v1/messages/msg_1", request=mock_api.requests[0])
    assert_sent(mock_api, "DELETE", "/v1/messages/msg_2", request=mock_api.requests[1])
    assert r.stdout == "cancelled\t2\n"


def test_v2_cancel_one_id(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/messages/msg_1", {"cancelled": 1})
    r = cli("messages", "cancel", "msg_1", "-y", "--json")
    assert r.exit_code == 0
    assert_sent(mock_api, "DELETE", "/v2/messages/msg_1")
    assert r.json == {"cancelled": 1, "messageIds": ["msg_1"]}


def test_v2_cancel_several_ids_sends_the_json_body_form(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/messages", {"cancelled": 2})
    r = cli("messages", "cancel", "msg_1", "msg_2", "--yes", "-q")
    assert r.exit_code == 0 and r.stdout == "2\n"
    assert_sent(mock_api, "DELETE", "/v2/messages", {"messageIds": ["msg_1", "msg_2"]})
    assert "cancelled" in cli("messages", "cancel", "msg_1", "msg_2", "--yes", tty=True).stdout


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_cancel_without_ids_and_without_all_sends_nothing(cli, mock_api, api) -> None:
    assert_usage_error(cli("--api", api, "messages", "cancel", "--yes"), mock_api, "--all")
    assert_usage_error(cli("--api", api, "messages", "cancel", "--topic", "orders", "--yes"), mock_api, "add --all")


def test_cancel_all_without_yes_and_no_terminal_sends_nothing(cli, mock_api) -> None:
    assert_usage_error(cli("messages", "cancel", "--all"), mock_api, "without --yes", "EVERY in-flight message")
    assert_usage_error(cli("messages", "cancel", "msg_1"), mock_api, "without --yes")


def test_cancel_ids_and_all_do_not_mix(cli, mock_api) -> None:
    assert_usage_error(cli("messages", "cancel", "msg_1", "--all", "--yes"), mock_api, "not both")


def test_v2_cancel_all_sends_no_body_and_no_query(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/messages", {"cancelled": 7})
    r = cli("messages", "cancel", "--all", "--yes")
    assert r.exit_code == 0 and r.stdout == "cancelled\t7\n"
    assert_sent(mock_api, "DELETE", "/v2/messages")


def test_v2_cancel_all_with_filters_sends_the_query_form(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/messages", {"cancelled": 3})
    r = cli(
        "messages", "cancel", "--all", "--yes", "--topic", "orders", "--queue", "q1",
        "--endpoint", "https://a.example.com/x", "--schedule-id", "scd_1", "--label", "nightly",
        "--from", str(T0), "--to", "2023-11-14T23:13:20Z", "--json",
    )  # fmt: skip
    assert r.exit_code == 0 and r.json == {"cancelled": 3}
    assert_sent(
        mock_api,
        "DELETE",
        "/v2/messages?url=https%3A%2F%2Fa.example.com%2Fx&topicName=orders&scheduleId=scd_1&queueName=q1"
        f"&label=nightly&fromDate={T0}&toDate={T0 + 3600000}",
    )


def test_cancel_all_on_a_terminal_asks_showing_the_filters(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/messages", {"cancelled": 1})
    declined = cli("messages", "cancel", "--all", "--topic", "orders", stdin="n\n", stdin_tty=True)
    assert declined.exit_code == 1 and mock_api.requests == []
    assert "Cancel every in-flight message matching topicName=orders?" in declined.stderr
    accepted = cli("messages", "cancel", "--all", "--topic", "orders", stdin="y\n", stdin_tty=True)
    assert accepted.exit_code == 0 and sent(mock_api) == [("DELETE", "/v2/messages?topicName=orders")]


def test_v1_cancel_all_is_unsupported_and_names_the_alternative(cli, mock_api) -> None:
    r = cli("--api", "v1", "messages", "cancel", "--all", "--yes")
    assert_usage_error(r, mock_api, "v1 has no bulk cancel", "messages cancel ID")
    assert len(r.stderr.splitlines()) == 1


def test_cancel_rejects_bad_filters_before_sending(cli, mock_api) -> None:
    assert_usage_error(cli("messages", "cancel", "--all", "-y", "--topic", "a b"), mock_api, "invalid topic name")
    assert_usage_error(cli("messages", "cancel", "--all", "-y", "--endpoint", "ftp://x"), mock_api, "invalid URL")
    assert_usage_error(cli("messages", "cancel", "--all", "-y", "--from", "soon"), mock_api, "invalid --from")
    assert_usage_error(cli("messages", "cancel", "--all", "-y", "--from", "1h", "--to", "2h"), mock_api, "after --to")


# -- tasks --------------------------------------------------------------------------------------------------------

V1_TASK = {
    "taskId": "tsk_1",
    "messageId": "msg_1",
    "url": "https://a.example.com/hook",
    "state": "RETRY",
    "retried": 1,
    "maxRetry": 3,
    "nextProcessAt": T0 + 60000,
    "lastErrorAt": T0,
    "error": "HTTP 500",
}


def test_v1_tasks_request_outputs_and_cursor(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/messages/msg_1/tasks", {"cursor": T0 - 5, "tasks": [V1_TASK]}, times=1)
    mock_api.add("GET", "/v1/messages/msg_1/tasks", {"tasks": [{**V1_TASK, "taskId": "tsk_0", "state": "ERROR"}]})
    r = cli("--api", "v1", "messages", "tasks", "msg_1", "--all")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [
        ("GET", "/v1/messages/msg_1/tasks"),
        ("GET", f"/v1/messages/msg_1/tasks?cursor={T0 - 5}"),
    ]
    assert_sent(mock_api, "GET", f"/v1/messages/msg_1/tasks?cursor={T0 - 5}")
    assert r.stdout.splitlines() == [
        "id\tstate\turl\tretried\tcompleted\tnext attempt\terror",
        "tsk_1\tRETRY\thttps://a.example.com/hook\t1/3\t\t2023-11-14T22:14:20Z\tHTTP 500",
        "tsk_0\tERROR\thttps://a.example.com/hook\t1/3\t\t2023-11-14T22:14:20Z\tHTTP 500",
    ]
    mock_api.requests.clear()
    assert cli("--api", "v1", "messages", "tasks", "msg_1", "-q").stdout == "tsk_0\n"  # the last page repeats
    assert cli("--api", "v1", "messages", "tasks", "msg_1", "--json").json[0]["taskId"] == "tsk_0"
    table = cli("--api", "v1", "messages", "tasks", "msg_1", "--limit", "1", tty=True).stdout
    assert "tsk_0" in table and "next attempt" in table


def test_v2_tasks_are_the_message_events(cli, mock_api) -> None:
    events = [
        event("msg_1", "ERROR", T0 + 1000, responseStatus=500, error="HTTP 500"),
        event("msg_1", "ACTIVE", T0 + 500),
        event("msg_1", "CREATED", T0, nextDeliveryTime=T0),
    ]
    mock_api.add("GET", "/v2/events", {"cursor": "9", "events": events[:2]}, times=1)
    mock_api.add("GET", "/v2/events", {"events": events[2:]})
    r = cli("messages", "tasks", "msg_1", "--all")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [("GET", "/v2/events?messageId=msg_1"), ("GET", "/v2/events?messageId=msg_1&cursor=9")]
    assert r.stdout.splitlines() == [
        "time\tstate\tmessage\turl\tstatus\terror\tnext delivery",
        "2023-11-14T22:13:21Z\tERROR\tmsg_1\thttps://a.example.com/hook\t500\tHTTP 500\t",
        "2023-11-14T22:13:20Z\tACTIVE\tmsg_1\thttps://a.example.com/hook\t\t\t",
        "2023-11-14T22:13:20Z\tCREATED\tmsg_1\thttps://a.example.com/hook\t\t\t2023-11-14T22:13:20Z",
    ]
    mock_api.requests.clear()
    mock_api.routes.clear()
    mock_api.add("GET", "/v2/events", {"cursor": "9", "events": events[:2]})
    limited = cli("messages", "tasks", "msg_1", "--limit", "1", "--json")
    assert limited.json == events[:1] and len(mock_api.requests) == 1
    assert cli("messages", "tasks", "msg_1", "-q").stdout == "msg_1\nmsg_1\n"
    assert "ERROR" in cli("messages", "tasks", "msg_1", tty=True).stdout


def _events(n: int) -> list[dict]:
    """Newest-first v2 events of `n` messages whose lifetimes overlap (two in flight at once), the last with two
    tasks (two CREATED events at the same time)."""
    out = []
    for i in range(n):
        mid = f"msg_{i}"
        out += [
            {"messageId": mid, "state": "CREATED", "time": 10 * i},
            {"messageId": mid, "state": "ACTIVE", "time": 10 * i + 12},
            {"messageId": mid, "state": "DELIVERED", "time": 10 * i + 15},
        ]
    out.append({"messageId": f"msg_{n - 1}", "state": "CREATED", "time": 10 * (n - 1)})
    return sorted(out, key=lambda e: e["time"], reverse=True)


def test_v2_message_summaries_one_row_each_with_latest_state():
    from qstash_cli.api.logs import message_summaries

    rows = list(message_summaries(_events(1000)))
    assert [r["messageId"] for r in rows] == [f"msg_{i}" for i in range(999, -1, -1)]
    assert {r["state"] for r in rows} == {"DELIVERED"}
    assert [r["messageId"] for r in message_summaries(_events(10), limit=3)] == ["msg_9", "msg_8", "msg_7"]


def test_v2_message_summaries_forget_ids_past_their_created_event():
    """Constant memory: an id is dropped once the listing is older than its CREATED event (so an impossible, older
    event of the same id would show again — the proof that it is no longer held)."""
    from qstash_cli.api.logs import message_summaries

    events = [
        {"messageId": "msg_a", "state": "DELIVERED", "time": 30},
        {"messageId": "msg_a", "state": "CREATED", "time": 20},
        {"messageId": "msg_a", "state": "CREATED", "time": 20},  # a second task: same time, not shown again
        {"messageId": "msg_b", "state": "DELIVERED", "time": 10},
        {"messageId": "msg_a", "state": "ACTIVE", "time": 5},
    ]
    assert [r["messageId"] for r in message_summaries(events)] == ["msg_a", "msg_b", "msg_a"]
