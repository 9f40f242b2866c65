"""`qstash tasks get|logs`: v1 by task id; v2 by message id (+ --endpoint), derived from /v2/events."""

from __future__ import annotations

from tests.conftest import MOCK_TOKEN
from tests.unit.test_messages import T0, assert_sent, assert_usage_error, event, sent

V1_TASK = {
    "taskId": "tsk_1",
    "messageId": "msg_1",
    "url": "https://a.example.com/hook",
    "state": "DELIVERED",
    "retried": 1,
    "maxRetry": 3,
    "completedAt": T0 + 5000,
    "deadline": T0 + 60000,
}
V1_LOGS = [
    {"time": T0 + 5000, "state": "delivered", "messageId": "msg_1", "taskId": "tsk_1"},
    {"time": T0, "state": "error", "messageId": "msg_1", "taskId": "tsk_1", "error": "HTTP 500"},
]
A, B = "https://a.example.com/hook", "https://b.example.com/hook"


def test_v1_get_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/tasks/tsk_1", V1_TASK)
    r = cli("--api", "v1", "tasks", "get", "tsk_1")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v1/tasks/tsk_1")
    lines = r.stdout.splitlines()
    assert lines[:4] == ["taskId\ttsk_1", "messageId\tmsg_1", f"url\t{A}", "state\tDELIVERED"]
    assert "completedAt\t2023-11-14T22:13:25Z" in lines and "deadline\t2023-11-14T22:14:20Z" in lines
    assert cli("--api", "v1", "tasks", "get", "tsk_1", "--json").json == V1_TASK
    assert cli("--api", "v1", "tasks", "get", "tsk_1", "-q").stdout == "tsk_1\n"
    table = cli("--api", "v1", "tasks", "get", "tsk_1", tty=True).stdout
    assert "DELIVERED" in table and "lastErrorAt" not in table  # empty fields hidden on a terminal


def test_v1_logs_object_and_cursor(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/tasks/tsk_1/logs", {"cursor": T0 - 1, "logs": V1_LOGS[:1]}, times=1)
    mock_api.add("GET", "/v1/tasks/tsk_1/logs", {"logs": V1_LOGS[1:]})
    r = cli("--api", "v1", "tasks", "logs", "tsk_1", "--all")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [("GET", "/v1/tasks/tsk_1/logs"), ("GET", f"/v1/tasks/tsk_1/logs?cursor={T0 - 1}")]
    assert mock_api.last.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    assert r.stdout.splitlines() == [
        "time\tstate\tmessage\ttask\turl\terror\tnext delivery",
        "2023-11-14T22:13:25Z\tdelivered\tmsg_1\ttsk_1\t\t\t",
        "2023-11-14T22:13:20Z\terror\tmsg_1\ttsk_1\t\tHTTP 500\t",
    ]


def test_v1_logs_accepts_a_bare_list(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/tasks/tsk_1/logs", V1_LOGS)
    r = cli("--api", "v1", "tasks", "logs", "tsk_1", "--json")
    assert r.exit_code == 0 and r.json == V1_LOGS
    assert cli("--api", "v1", "tasks", "logs", "tsk_1", "-q").stdout == "msg_1\nmsg_1\n"
    assert "HTTP 500" in cli("--api", "v1", "tasks", "logs", "tsk_1", tty=True).stdout


def test_v1_endpoint_selector_is_unsupported(cli, mock_api) -> None:
    r = cli("--api", "v1", "tasks", "get", "tsk_1", "--endpoint", A)
    assert_usage_error(r, mock_api, "task id alone")


EVENTS = [
    event("msg_1", "DELIVERED", T0 + 3000, responseStatus=200, maxRetries=3),
    event("msg_1", "ACTIVE", T0 + 2500),
    event("msg_1", "RETRY", T0 + 2000, nextDeliveryTime=T0 + 2500, error="HTTP 500"),
    event("msg_1", "ERROR", T0 + 1000, responseStatus=500, error="HTTP 500"),
    event("msg_1", "ACTIVE", T0 + 500),
    event("msg_1", "CREATED", T0),
]


def test_v2_get_summarises_all_events_of_the_message(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"cursor": "4", "events": EVENTS[:3]}, times=1)
    mock_api.add("GET", "/v2/events", {"events": EVENTS[3:]})
    r = cli("tasks", "get", "msg_1", "--json")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api) == [("GET", "/v2/events?messageId=msg_1"), ("GET", "/v2/events?messageId=msg_1&cursor=4")]
    assert r.json == {
        "messageId": "msg_1",
        "url": A,
        "state": "DELIVERED",
        "time": T0 + 3000,
        "createdAt": T0,
        "attempts": 2,
        "maxRetries": 3,
        "nextDeliveryTime": None,
        "topicName": None,
        "endpointName": None,
        "responseStatus": 200,
        "error": "HTTP 500",
        "events": 6,
    }
    mock_api.routes.clear()
    mock_api.add("GET", "/v2/events", {"events": EVENTS})
    plain = cli("tasks", "get", "msg_1").stdout.splitlines()
    assert "state\tDELIVERED" in plain and "attempts\t2" in plain and "firstEvent\t2023-11-14T22:13:20Z" in plain
    assert cli("tasks", "get", "msg_1", "-q").stdout == "msg_1\n"
    assert "DELIVERED" in cli("tasks", "get", "msg_1", tty=True).stdout


def test_v2_get_of_a_fan_out_needs_endpoint(cli, mock_api) -> None:
    fan = [event("msg_1", "DELIVERED", T0 + 1, topicName="orders"), {**event("msg_1", "FAILED", T0), "url": B}]
    mock_api.add("GET", "/v2/events", {"events": fan})
    r = cli("tasks", "get", "msg_1")
    assert r.exit_code == 2 and "went to 2 URLs" in r.stderr and "--endpoint" in r.stderr
    mock_api.requests.clear()
    mock_api.routes.clear()
    mock_api.add("GET", "/v2/events", {"events": fan[1:]})
    r = cli("tasks", "get", "msg_1", "--endpoint", B, "--json")
    assert r.exit_code == 0 and r.json["state"] == "FAILED" and r.json["url"] == B
    assert_sent(mock_api, "GET", "/v2/events?messageId=msg_1&url=https%3A%2F%2Fb.example.com%2Fhook")


def test_v2_get_without_events_exits_3(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"events": []})
    r = cli("tasks", "get", "msg_9")
    assert r.exit_code == 3 and r.stderr.startswith("Error: no events for message 'msg_9'")


def test_v2_logs_are_the_message_events(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/logs", {"cursor": "4", "logs": EVENTS[:3]}, times=1)
    mock_api.add("GET", "/v2/events", {"cursor": "4", "events": EVENTS[:3]}, times=1)
    mock_api.add("GET", "/v2/events", {"events": EVENTS[3:]})
    r = cli("tasks", "logs", "msg_1", "--endpoint", A, "--limit", "4", "--json")
    assert r.exit_code == 0 and r.json == EVENTS[:4]
    url = "url=https%3A%2F%2Fa.example.com%2Fhook"
    assert sent(mock_api) == [
        ("GET", f"/v2/events?messageId=msg_1&{url}"),
        ("GET", f"/v2/events?messageId=msg_1&{url}&cursor=4"),
    ]
    plain = cli("tasks", "logs", "msg_1").stdout.splitlines()
    assert plain[0] == "time\tstate\tmessage\turl\tstatus\terror\tnext delivery" and len(plain) == 4
    assert cli("tasks", "logs", "msg_1", "-q").stdout == "msg_1\n" * 3


def test_bad_ids_are_rejected_before_sending(cli, mock_api) -> None:
    assert_usage_error(cli("tasks", "get", "a b"), mock_api, "invalid message id")
    assert_usage_error(cli("--api", "v1", "tasks", "logs", "x/y"), mock_api, "invalid task id")
    assert_usage_error(cli("tasks", "logs", "msg_1", "--endpoint", "nope"), mock_api, "invalid --endpoint URL")
