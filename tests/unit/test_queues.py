"""`qstash queues` (v2): exact requests for list, get, upsert, delete, pause, resume, and the output modes."""

from __future__ import annotations

import pytest

from tests.unit.helpers import assert_one_error, assert_sent

QUEUE = {
    "name": "orders",
    "parallelism": 5,
    "lag": 12,
    "paused": False,
    "createdAt": 1700000000000,
    "updatedAt": 1700000060000,
}


def test_list_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/queues", [QUEUE, {**QUEUE, "name": "mail", "paused": True, "lag": 0}])
    r = cli("queues", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/queues")
    assert r.stdout.splitlines() == [
        "name\tparallelism\tlag\tpaused\tcreated\tupdated",
        "orders\t5\t12\tfalse\t2023-11-14T22:13:20Z\t2023-11-14T22:14:20Z",
        "mail\t5\t0\ttrue\t2023-11-14T22:13:20Z\t2023-11-14T22:14:20Z",
    ]
    assert cli("queues", "list", "-q").stdout == "orders\nmail\n"
    assert cli("queues", "list", "--limit", "1", "-q").stdout == "orders\n"
    assert cli("queues", "list", "--json").json[0] == QUEUE
    table = cli("queues", "list", tty=True).stdout
    assert "orders" in table and "parallelism" in table and "lag" in table


def test_get(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/queues/orders", QUEUE)
    r = cli("queues", "get", "orders")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/queues/orders")
    assert "parallelism\t5" in r.stdout.splitlines() and "lag\t12" in r.stdout.splitlines()
    assert cli("queues", "get", "orders", "--json").json == QUEUE


@pytest.mark.parametrize(
    ("flags", "sent"),
    [
        ((), {"queueName": "orders"}),
        (("--parallelism", "5"), {"queueName": "orders", "parallelism": 5}),
        (("--parallelism", "2", "--paused"), {"queueName": "orders", "parallelism": 2, "paused": True}),
        (("--active",), {"queueName": "orders", "paused": False}),
    ],
)
def test_upsert_sends_the_settings_then_reads_back(cli, mock_api, flags, sent) -> None:
    mock_api.add("POST", "/v2/queues")
    mock_api.add("GET", "/v2/queues/orders", QUEUE)
    r = cli("queues", "upsert", "orders", *flags, "-q")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", "/v2/queues", sent, request=mock_api.requests[0])
    assert_sent(mock_api, "GET", "/v2/queues/orders")
    assert r.stdout == "orders\n"


def test_upsert_rejects_a_bad_parallelism_and_name_before_sending(cli, mock_api) -> None:
    assert_one_error(cli("queues", "upsert", "orders", "--parallelism", "0"), 2, "--parallelism")
    assert_one_error(cli("queues", "upsert", "a/b"), 2, "queue name")
    assert mock_api.requests == []


def test_delete_needs_yes_without_a_terminal(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/queues/orders")
    assert_one_error(cli("queues", "delete", "orders"), 2, "--yes")
    assert mock_api.requests == []
    r = cli("queues", "delete", "orders", "--yes")
    assert r.exit_code == 0 and "Deleted queue orders" in r.stderr
    assert_sent(mock_api, "DELETE", "/v2/queues/orders")


@pytest.mark.parametrize(("action", "status"), [("pause", "paused"), ("resume", "resumed")])
def test_pause_resume(cli, mock_api, action, status) -> None:
    mock_api.add("POST", f"/v2/queues/orders/{action}")
    r = cli("queues", action, "orders")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", f"/v2/queues/orders/{action}")
    assert r.stdout.splitlines() == ["name\torders", f"status\t{status}"]


def test_not_found_is_exit_3(cli, mock_api) -> None:
    assert_one_error(cli("queues", "get", "nope"), 3, "HTTP 404")


def test_v1_has_no_queues(cli, mock_api) -> None:
    assert_one_error(cli("--api", "v1", "queues", "list"), 2, "v1 has no queues")
    assert mock_api.requests == []
