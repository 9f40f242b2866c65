"""`qstash dlq list|get|retry|delete` (v2 only): exact requests, cursors, bulk guards, output modes."""

from __future__ import annotations

import pytest

from tests.unit.test_messages import T0, assert_sent, assert_usage_error, sent

D1 = {
    "dlqId": "1700000002000-0",
    "messageId": "msg_1",
    "url": "https://a.example.com/hook",
    "method": "POST",
    "createdAt": T0 + 2000,
    "responseStatus": 500,
    "responseBody": "boom",
}
D2 = {
    "dlqId": "1700000000000-0",
    "messageId": "msg_2",
    "topicName": "orders",
    "url": "",
    "createdAt": T0,
    "responseStatus": 0,
    "error": "connection refused",
}
URL_Q = "url=https%3A%2F%2Fa.example.com%2Fhook"


def test_list_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/dlq", {"cursor": "1700000000000-0", "messages": [D1, D2]})
    r = cli("dlq", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/dlq")
    assert r.stdout.splitlines() == [
        "id\tmessage\tdestination\tstatus\tcreated\terror",
        "1700000002000-0\tmsg_1\thttps://a.example.com/hook\t500\t2023-11-14T22:13:22Z\tboom",
        "1700000000000-0\tmsg_2\torders\t0\t2023-11-14T22:13:20Z\tconnection refused",
    ]
    assert len(mock_api.requests) == 1
    assert cli("dlq", "list", "--json").json == [D1, D2]
    assert cli("dlq", "list", "-q").stdout == "1700000002000-0\n1700000000000-0\n"
    assert "connection refused" in cli("dlq", "list", tty=True).stdout


def test_list_filters_in_the_query(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/dlq", {"messages": []})
    r = cli(
        "dlq", "list", "--endpoint", "https://a.example.com/hook", "--topic", "orders", "--schedule-id", "scd_1",
        "--queue", "q1", "--message-id", "msg_1", "--status", "500", "--status", "503", "--label", "nightly",
        "--from", str(T0), "--to", str(T0 + 1),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert_sent(
        mock_api,
        "GET",
        f"/v2/dlq?messageId=msg_1&{URL_Q}&topicName=orders&scheduleId=scd_1&queueName=q1&label=nightly"
        f"&responseStatus=500&responseStatus=503&fromDate={T0}&toDate={T0 + 1}",
    )


def test_list_all_follows_cursors_and_limit_stops_early(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/dlq", {"cursor": "1700000002000-0", "messages": [D1]}, times=1)
    mock_api.add("GET", "/v2/dlq", {"messages": [D2]})
    r = cli("dlq", "list", "--all", "-q")
    assert r.exit_code == 0 and r.stdout == "1700000002000-0\n1700000000000-0\n"
    assert sent(mock_api) == [("GET", "/v2/dlq"), ("GET", "/v2/dlq?cursor=1700000002000-0")]
    mock_api.requests.clear()
    mock_api.routes.clear()
    mock_api.add("GET", "/v2/dlq", {"cursor": "c", "messages": [D1, D2]})
    r = cli("dlq", "list", "--limit", "1", "--json")
    assert r.json == [D1] and sent(mock_api) == [("GET", "/v2/dlq?count=1")]


def test_get(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/dlq/1700000002000-0", D1)
    r = cli("dlq", "get", "1700000002000-0")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/dlq/1700000002000-0")
    assert "responseStatus\t500" in r.stdout.splitlines() and "createdAt\t2023-11-14T22:13:22Z" in r.stdout
    assert cli("dlq", "get", "1700000002000-0", "--json").json == D1
    assert cli("dlq", "get", "1700000002000-0", "-q").stdout == "1700000002000-0\n"
    assert "boom" in cli("dlq", "get", "1700000002000-0", tty=True).stdout


def test_retry_ids_one_request_each(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry/d-1", {"messageId": "msg_new1"}, status=201)
    mock_api.add("POST", "/v2/dlq/retry/d-2", {"messageId": "msg_new2"}, status=201)
    r = cli("dlq", "retry", "d-1", "d-2")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", "/v2/dlq/retry/d-1", request=mock_api.requests[0])
    assert_sent(mock_api, "POST", "/v2/dlq/retry/d-2", request=mock_api.requests[1])
    assert r.stdout.splitlines() == ["dlq id\tnew message", "d-1\tmsg_new1", "d-2\tmsg_new2"]
    assert cli("dlq", "retry", "d-1", "-q").stdout == "msg_new1\n"
    assert cli("dlq", "retry", "d-1", "--json").json == [{"dlqId": "d-1", "messageId": "msg_new1"}]
    assert "msg_new1" in cli("dlq", "retry", "d-1", tty=True).stdout


def test_retry_all_follows_the_bulk_cursor(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry", {"cursor": "c1", "responses": [{"messageId": "m1"}]}, times=1)
    mock_api.add("POST", "/v2/dlq/retry", {"cursor": "", "responses": [{"messageId": "m2"}]})
    r = cli("dlq", "retry", "--all", "--yes", "-q")
    assert r.exit_code == 0 and r.stdout == "m1\nm2\n"
    assert sent(mock_api) == [("POST", "/v2/dlq/retry"), ("POST", "/v2/dlq/retry?cursor=c1")]
    assert mock_api.requests[0].content == b""


def test_retry_all_with_filters_sends_the_query_form(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/dlq/retry", {"responses": [{"messageId": "m1"}]})
    r = cli("dlq", "retry", "--all", "--endpoint", "https://a.example.com/hook", "--status", "500", "-y", "--json")
    assert r.exit_code == 0 and r.json == [{"messageId": "m1"}]
    assert_sent(mock_api, "POST", f"/v2/dlq/retry?{URL_Q}&responseStatus=500")


def test_delete_one_id(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/dlq/d-1", None)
    r = cli("dlq", "delete", "d-1", "--yes")
    assert r.exit_code == 0 and r.stdout == "deleted\t1\n"
    assert_sent(mock_api, "DELETE", "/v2/dlq/d-1")


def test_delete_several_ids_sends_the_json_body_form(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 2})
    r = cli("dlq", "delete", "d-1", "d-2", "-y", "--json")
    assert r.exit_code == 0 and r.json == {"deleted": 2, "dlqIds": ["d-1", "d-2"]}
    assert_sent(mock_api, "DELETE", "/v2/dlq", {"dlqIds": ["d-1", "d-2"]})
    assert cli("dlq", "delete", "d-1", "d-2", "-y", "-q").stdout == "2\n"
    assert "deleted" in cli("dlq", "delete", "d-1", "d-2", "-y", tty=True).stdout


def test_delete_all_with_filters_follows_the_cursor(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 100, "cursor": "c1"}, times=1)
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 5})
    r = cli("dlq", "delete", "--all", "--topic", "orders", "--yes")
    assert r.exit_code == 0 and r.stdout == "deleted\t105\n"
    assert sent(mock_api) == [("DELETE", "/v2/dlq?topicName=orders"), ("DELETE", "/v2/dlq?topicName=orders&cursor=c1")]
    assert_sent(mock_api, "DELETE", "/v2/dlq?topicName=orders&cursor=c1")


def test_delete_all_without_filters_sends_nothing_but_the_path(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 3})
    r = cli("dlq", "delete", "--all", "--yes", "-q")
    assert r.exit_code == 0 and r.stdout == "3\n"
    assert_sent(mock_api, "DELETE", "/v2/dlq")


@pytest.mark.parametrize("verb", ["retry", "delete"])
def test_bulk_needs_all_and_yes(cli, mock_api, verb) -> None:
    assert_usage_error(cli("dlq", verb, "--yes"), mock_api, "--all")
    assert_usage_error(cli("dlq", verb, "--status", "500", "--yes"), mock_api, "add --all")
    assert_usage_error(cli("dlq", verb, "--all"), mock_api, "without --yes")
    assert_usage_error(cli("dlq", verb, "d-1", "--all", "-y"), mock_api, "not both")


def test_delete_by_id_needs_yes_without_a_terminal(cli, mock_api) -> None:
    assert_usage_error(cli("dlq", "delete", "d-1"), mock_api, "without --yes")


def test_bulk_delete_on_a_terminal_asks_naming_the_filters(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 1})
    declined = cli("dlq", "delete", "--all", "--status", "500", stdin="n\n", stdin_tty=True)
    assert declined.exit_code == 1 and mock_api.requests == []
    assert "Delete every DLQ entry matching responseStatus=500?" in declined.stderr
    mock_api.add("POST", "/v2/dlq/retry", {"responses": [{"messageId": "m1"}]})
    accepted = cli("dlq", "retry", "--all", stdin="y\n", stdin_tty=True)
    assert "Retry every message in the DLQ (all of them)?" in accepted.stderr
    assert accepted.exit_code == 0 and "m1" in accepted.stdout
    assert sent(mock_api) == [("POST", "/v2/dlq/retry")]


@pytest.mark.parametrize(
    "args", [("list",), ("get", "d-1"), ("retry", "d-1"), ("delete", "d-1", "-y"), ("delete", "--all", "-y")]
)
def test_v1_is_unsupported_and_names_the_alternative(cli, mock_api, args) -> None:
    r = cli("--api", "v1", "dlq", *args)
    assert_usage_error(r, mock_api, "v1 has no dead-letter queue", "--api v2")
    assert len(r.stderr.splitlines()) == 1


def test_bad_input_is_caught_before_sending(cli, mock_api) -> None:
    assert_usage_error(cli("dlq", "get", "a/b"), mock_api, "invalid DLQ id")
    assert_usage_error(cli("dlq", "list", "--status", "42"), mock_api, "invalid --status")
    assert_usage_error(cli("dlq", "list", "--to", "1d", "--from", "1h"), mock_api, "after --to")
