"""`qstash topics` in both dialects: exact requests (method, raw path, headers, body) and every output mode."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MOCK_TOKEN
from tests.unit.helpers import assert_one_error, assert_sent

V1_TOPIC = {
    "topicId": "tpc_1",
    "name": "orders",
    "endpoints": [
        {"endpointId": "ept_1", "url": "https://a.example.com/hook", "topicId": "tpc_1"},
        {"endpointId": "ept_2", "url": "https://b.example.com/hook", "topicId": "tpc_1"},
    ],
    "createdAt": 1700000000000,
    "updatedAt": 1700000060000,
}
V2_GROUP = {
    "name": "orders",
    "createdAt": 1700000000000,
    "updatedAt": 1700000060000,
    "endpoints": [{"name": "billing", "url": "https://a.example.com/hook"}, {"url": "https://b.example.com/hook"}],
}


# -- list ---------------------------------------------------------------------------------------------------------


def test_v1_list_request_and_plain_output(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/topics", [V1_TOPIC, {"topicId": "tpc_2", "name": "empty", "endpoints": []}])
    r = cli("--api", "v1", "topics", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v1/topics")
    assert r.stdout.splitlines() == [
        "name\tid\tendpoints\tcreated\tupdated",
        "orders\ttpc_1\t2\t2023-11-14T22:13:20Z\t2023-11-14T22:14:20Z",
        "empty\ttpc_2\t0\t\t",
    ]


def test_v1_list_json_quiet_table(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/topics", [V1_TOPIC])
    assert cli("--api", "v1", "topics", "list", "--json").json == [V1_TOPIC]
    assert cli("--api", "v1", "topics", "list", "-q").stdout == "tpc_1\n"
    table = cli("--api", "v1", "topics", "list", tty=True).stdout
    assert "name" in table and "tpc_1" in table and "orders" in table and "2023-11-14T22:13:20Z (" in table


def test_v2_list_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics", [V2_GROUP])
    r = cli("topics", "list")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/topics")
    assert r.stdout.splitlines() == [
        "name\tendpoints\tcreated\tupdated",
        "orders\t2\t2023-11-14T22:13:20Z\t2023-11-14T22:14:20Z",
    ]
    assert cli("topics", "list", "--json").json == [V2_GROUP]
    assert cli("topics", "list", "-q").stdout == "orders\n"
    table = cli("topics", "list", tty=True).stdout
    assert "orders" in table and "endpoints" in table and "tpc_" not in table


def test_list_limit(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics", [V2_GROUP, {**V2_GROUP, "name": "b"}, {**V2_GROUP, "name": "c"}])
    assert cli("topics", "list", "--limit", "2", "-q").stdout == "orders\nb\n"
    assert cli("topics", "list", "--all", "-q").stdout == "orders\nb\nc\n"


def test_empty_list_table_says_none(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics", [])
    r = cli("topics", "list", tty=True)
    assert r.exit_code == 0 and r.stdout == "" and "(none)" in r.stderr
    assert cli("topics", "list", "--json").json == []


# -- get ----------------------------------------------------------------------------------------------------------


def test_v1_get_by_id_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/topics/tpc_1", V1_TOPIC)
    r = cli("--api", "v1", "topics", "get", "tpc_1")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v1/topics/tpc_1")
    assert r.stdout.splitlines() == [
        "name\torders",
        "id\ttpc_1",
        "created\t2023-11-14T22:13:20Z",
        "updated\t2023-11-14T22:14:20Z",
        "endpoints\tept_1=https://a.example.com/hook ept_2=https://b.example.com/hook",
    ]
    assert cli("--api", "v1", "topics", "get", "tpc_1", "--json").json == V1_TOPIC
    assert cli("--api", "v1", "topics", "get", "tpc_1", "-q").stdout == "tpc_1\n"
    table = cli("--api", "v1", "topics", "get", "tpc_1", tty=True).stdout
    assert "ept_1=https://a.example.com/hook\n" in table and "ept_2=https://b.example.com/hook" in table


def test_v1_get_by_name(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/topics/orders", V1_TOPIC)
    assert cli("--api", "v1", "topics", "get", "orders", "-q").stdout == "tpc_1\n"
    assert_sent(mock_api, "GET", "/v1/topics/orders")


def test_v2_get_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics/orders", V2_GROUP)
    r = cli("topics", "get", "orders")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/topics/orders")
    assert r.stdout.splitlines() == [
        "name\torders",
        "created\t2023-11-14T22:13:20Z",
        "updated\t2023-11-14T22:14:20Z",
        "endpoints\tbilling=https://a.example.com/hook https://b.example.com/hook",
    ]
    assert cli("topics", "get", "orders", "--json").json == V2_GROUP
    assert cli("topics", "get", "orders", "-q").stdout == "orders\n"
    table = cli("topics", "get", "orders", tty=True).stdout
    assert "billing=https://a.example.com/hook" in table and "id " not in table


# -- create -------------------------------------------------------------------------------------------------------


def test_v1_create_without_endpoints(cli, mock_api) -> None:
    created = {"topicId": "tpc_9", "name": "orders", "endpoints": []}
    mock_api.add("POST", "/v1/topics", created)
    r = cli("--api", "v1", "topics", "create", "orders", "--json")
    assert r.exit_code == 0 and r.json == created
    assert len(mock_api.requests) == 1
    assert_sent(mock_api, "POST", "/v1/topics", {"name": "orders"})


def test_v1_create_with_endpoints_creates_them_after_the_topic(cli, mock_api) -> None:
    mock_api.add("POST", "/v1/topics", {"topicId": "tpc_1", "name": "orders", "endpoints": []})
    mock_api.add("POST", "/v1/endpoints", {"endpointId": "ept_x", "url": "x", "topicId": "tpc_1"})
    mock_api.add("GET", "/v1/topics/tpc_1", V1_TOPIC)
    r = cli(
        "--api", "v1", "topics", "create", "orders",
        "--endpoint", "https://a.example.com/hook", "-e", "https://b.example.com/hook", "-q",
    )  # fmt: skip
    assert r.exit_code == 0 and r.stdout == "tpc_1\n"
    reqs = mock_api.requests
    assert len(reqs) == 4
    assert_sent(mock_api, "POST", "/v1/topics", {"name": "orders"}, reqs[0])
    assert_sent(mock_api, "POST", "/v1/endpoints", {"url": "https://a.example.com/hook", "topicId": "tpc_1"}, reqs[1])
    assert_sent(mock_api, "POST", "/v1/endpoints", {"url": "https://b.example.com/hook", "topicId": "tpc_1"}, reqs[2])
    assert_sent(mock_api, "GET", "/v1/topics/tpc_1", None, reqs[3])


def test_v2_create_posts_endpoints_then_reads_the_group(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("GET", "/v2/topics/orders", V2_GROUP)
    r = cli("topics", "create", "orders", "-e", "https://a.example.com/hook", "-e", "https://b.example.com/hook")
    assert r.exit_code == 0, r.stderr
    first, second = mock_api.requests
    assert_sent(
        mock_api,
        "POST",
        "/v2/topics/orders/endpoints",
        {"endpoints": [{"url": "https://a.example.com/hook"}, {"url": "https://b.example.com/hook"}]},
        first,
    )
    assert_sent(mock_api, "GET", "/v2/topics/orders", None, second)
    assert "name\torders" in r.stdout.splitlines()
    assert cli("topics", "create", "orders", "-e", "https://a.example.com/hook", "--json").json == V2_GROUP


def test_v2_create_requires_an_endpoint(cli, mock_api) -> None:
    r = cli("topics", "create", "orders")
    assert_one_error(r, 2, "--endpoint")
    assert mock_api.requests == []


# -- update -------------------------------------------------------------------------------------------------------


def test_v1_update_renames_with_put(cli, mock_api) -> None:
    mock_api.add("PUT", "/v1/topics/tpc_1", {**V1_TOPIC, "name": "orders-eu"})
    r = cli("--api", "v1", "topics", "update", "tpc_1", "--name", "orders-eu")
    assert r.exit_code == 0
    assert_sent(mock_api, "PUT", "/v1/topics/tpc_1", {"name": "orders-eu"})
    assert "name\torders-eu" in r.stdout.splitlines()


def test_v2_update_is_unsupported_and_names_the_alternative(cli, mock_api) -> None:
    r = cli("topics", "update", "orders", "--name", "orders-eu")
    assert_one_error(r, 2, "topics create", "topics delete")
    assert mock_api.requests == []


def test_update_requires_name(cli, mock_api) -> None:
    r = cli("--api", "v1", "topics", "update", "tpc_1")
    assert_one_error(r, 2, "--name")
    assert mock_api.requests == []


# -- delete -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "path", "reply"), [("v1", "/v1/topics/orders", {"status": "ok"}), ("v2", "/v2/topics/orders", None)]
)
def test_delete_with_yes(cli, mock_api, api, path, reply) -> None:
    if reply is None:
        mock_api.add("DELETE", path, content=b"")
    else:
        mock_api.add("DELETE", path, reply)
    r = cli("--api", api, "topics", "delete", "orders", "--yes")
    assert r.exit_code == 0 and r.stdout == "" and "Deleted" in r.stderr
    assert_sent(mock_api, "DELETE", path)
    j = cli("--api", api, "topics", "delete", "orders", "-y", "--json")
    assert j.stdout == ("" if reply is None else json.dumps(reply, indent=2) + "\n")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_delete_without_yes_and_without_terminal_refuses(cli, mock_api, api) -> None:
    r = cli("--api", api, "topics", "delete", "orders")
    assert_one_error(r, 2, "--yes")
    assert mock_api.requests == []


def test_delete_asks_on_a_terminal(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/topics/orders", content=b"")
    no = cli("topics", "delete", "orders", stdin="n\n", stdin_tty=True)
    assert no.exit_code == 1 and mock_api.requests == [] and "aborted" in no.stderr
    yes = cli("topics", "delete", "orders", stdin="y\n", stdin_tty=True)
    assert yes.exit_code == 0
    assert_sent(mock_api, "DELETE", "/v2/topics/orders")


# -- invalid input and API errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("bad", ["bad name", "a/b", "..", "../x", "ümlaut", "x?y=1"])
@pytest.mark.parametrize("command", ["get", "delete", "create"])
def test_bad_topic_name_is_exit_2_and_nothing_sent(cli, mock_api, api, bad, command) -> None:
    extra = ["-e", "https://a.example.com"] if command == "create" else ["-y"] if command == "delete" else []
    r = cli("--api", api, "topics", command, bad, *extra)
    assert_one_error(r, 2, "invalid")
    assert mock_api.requests == []


@pytest.mark.parametrize("bad", ["ftp://a.example.com", "a.example.com", "http://", "https://a b.example.com"])
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_bad_endpoint_url_is_exit_2_and_nothing_sent(cli, mock_api, api, bad) -> None:
    r = cli("--api", api, "topics", "create", "orders", "--endpoint", bad)
    assert_one_error(r, 2, "endpoint URL")
    assert mock_api.requests == []


def test_bad_new_name_is_exit_2(cli, mock_api) -> None:
    r = cli("--api", "v1", "topics", "update", "tpc_1", "--name", "a/b")
    assert_one_error(r, 2, "'a/b'")
    assert mock_api.requests == []


def test_missing_argument_is_exit_2(cli, mock_api) -> None:
    assert_one_error(cli("topics", "get"), 2)
    assert mock_api.requests == []


@pytest.mark.parametrize(("api", "path"), [("v1", "/v1/topics/nope"), ("v2", "/v2/topics/nope")])
def test_not_found_is_exit_3(cli, mock_api, api, path) -> None:
    mock_api.add("GET", path, {"error": "topic nope not found"}, status=404)
    assert_one_error(cli("--api", api, "topics", "get", "nope"), 3, "topic nope not found")


@pytest.mark.parametrize(("api", "path"), [("v1", "/v1/topics"), ("v2", "/v2/topics")])
def test_unauthorized_is_exit_4(cli, mock_api, api, path) -> None:
    mock_api.add("GET", path, {"error": "unauthorized"}, status=401)
    r = cli("--api", api, "topics", "list")
    assert r.exit_code == 4 and r.stderr.startswith("Error: HTTP 401: unauthorized")
    assert MOCK_TOKEN not in r.stderr + r.stdout


def test_every_command_documents_an_example() -> None:
    from qstash_cli.commands import topics

    names = {c.name for c in topics.app.registered_commands}
    assert names == {"list", "get", "create", "update", "delete"}
    for command in topics.app.registered_commands:
        assert "Example:\n" in command.callback.__doc__ and "qstash " in command.callback.__doc__


def test_url_groups_is_an_alias_of_topics(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics", [V2_GROUP])
    mock_api.add("GET", "/v2/topics/orders", V2_GROUP)
    assert cli("url-groups", "list", "-q").stdout == "orders\n"
    assert_sent(mock_api, "GET", "/v2/topics")
    assert cli("url-groups", "get", "orders", "--json").json == V2_GROUP
