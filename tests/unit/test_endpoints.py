"""`qstash endpoints` in both dialects: v1 by id (`/v1/endpoints`), v2 inside URL groups (group + url or name)."""

from __future__ import annotations

import json

import pytest

from tests.unit.helpers import assert_one_error, assert_sent

A, B, NEW = "https://a.example.com/hook", "https://b.example.com/hook", "https://new.example.com/hook"
EPT = {"endpointId": "ept_1", "url": A, "topicId": "tpc_1"}
EPT2 = {"endpointId": "ept_2", "url": B, "topicId": "tpc_2"}
GROUP = {"name": "orders", "createdAt": 1, "updatedAt": 2, "endpoints": [{"name": "billing", "url": A}, {"url": B}]}
OTHER = {"name": "audit", "createdAt": 1, "updatedAt": 2, "endpoints": [{"url": NEW}]}


V1 = ("--api", "v1", "endpoints")
V2 = ("endpoints",)


# -- list ---------------------------------------------------------------------------------------------------------


def test_v1_list_all_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/endpoints", [EPT, EPT2])
    r = cli(*V1, "list")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v1/endpoints")
    assert r.stdout.splitlines() == ["id\ttopic\turl", f"ept_1\ttpc_1\t{A}", f"ept_2\ttpc_2\t{B}"]
    assert cli(*V1, "list", "--json").json == [EPT, EPT2]
    assert cli(*V1, "list", "-q").stdout == "ept_1\nept_2\n"
    table = cli(*V1, "list", tty=True).stdout
    assert "ept_1" in table and "tpc_2" in table and A in table
    assert cli(*V1, "list", "--limit", "1", "-q").stdout == "ept_1\n"


def test_v1_list_of_one_topic_reads_the_topic(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/topics/orders", {"topicId": "tpc_1", "name": "orders", "endpoints": [EPT]})
    r = cli(*V1, "list", "--topic", "orders", "-q")
    assert r.exit_code == 0 and r.stdout == "ept_1\n"
    assert_sent(mock_api, "GET", "/v1/topics/orders")


def test_v2_list_flattens_every_group(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics", [GROUP, OTHER])
    r = cli(*V2, "list")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/topics")
    assert r.stdout.splitlines() == [
        "topic\tname\turl",
        f"orders\tbilling\t{A}",
        f"orders\t\t{B}",
        f"audit\t\t{NEW}",
    ]
    assert cli(*V2, "list", "--json").json == [
        {"topicName": "orders", "name": "billing", "url": A},
        {"topicName": "orders", "url": B},
        {"topicName": "audit", "url": NEW},
    ]
    assert cli(*V2, "list", "-q").stdout == f"{A}\n{B}\n{NEW}\n"
    table = cli(*V2, "list", tty=True).stdout
    assert "billing" in table and "audit" in table and "topic" in table
    assert cli(*V2, "list", "--limit", "2", "-q").stdout == f"{A}\n{B}\n"


def test_v2_list_topic_filter_reads_one_group(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    r = cli(*V2, "list", "--topic", "orders", "-q")
    assert r.exit_code == 0 and r.stdout == f"{A}\n{B}\n"
    assert_sent(mock_api, "GET", "/v2/topics/orders")
    assert len(mock_api.requests) == 1


# -- create -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "ref"),
    [(("--topic", "orders"), {"topicName": "orders"}), (("--topic-id", "tpc_1"), {"topicId": "tpc_1"})],
)
def test_v1_create(cli, mock_api, flags, ref) -> None:
    mock_api.add("POST", "/v1/endpoints", EPT)
    r = cli(*V1, "create", A, *flags)
    assert r.exit_code == 0
    assert_sent(mock_api, "POST", "/v1/endpoints", {"url": A, **ref})
    assert r.stdout.splitlines() == ["id\tept_1", "topic\ttpc_1", f"url\t{A}"]
    assert cli(*V1, "create", A, *flags, "-q").stdout == "ept_1\n"
    assert cli(*V1, "create", A, *flags, "--json").json == EPT


@pytest.mark.parametrize("flags", [(), ("--topic", "orders", "--topic-id", "tpc_1")])
def test_v1_create_needs_exactly_one_topic_option(cli, mock_api, flags) -> None:
    assert_one_error(cli(*V1, "create", A, *flags), 2, "exactly one of --topic NAME or --topic-id ID")
    assert mock_api.requests == []


def test_v1_create_has_no_names(cli, mock_api) -> None:
    assert_one_error(cli(*V1, "create", A, "--topic", "orders", "--name", "x"), 2, "no names")
    assert mock_api.requests == []


def test_v2_create_adds_to_the_group_then_reads_it_back(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    r = cli(*V2, "create", A, "--topic", "orders", "--name", "billing")
    assert r.exit_code == 0, r.stderr
    post, get = mock_api.requests
    assert_sent(mock_api, "POST", "/v2/topics/orders/endpoints", {"endpoints": [{"url": A, "name": "billing"}]}, post)
    assert_sent(mock_api, "GET", "/v2/topics/orders", None, get)
    assert r.stdout.splitlines() == ["topic\torders", "name\tbilling", f"url\t{A}"]
    unnamed = cli(*V2, "create", B, "--topic", "orders", "--json")
    assert unnamed.json == {"topicName": "orders", "url": B}
    assert json.loads(mock_api.requests[-2].content) == {"endpoints": [{"url": B}]}


def test_v2_create_needs_topic_and_has_no_topic_ids(cli, mock_api) -> None:
    assert_one_error(cli(*V2, "create", A), 2, "--topic")
    assert_one_error(cli(*V2, "create", A, "--topic-id", "tpc_1"), 2, "no ids", "--topic NAME")
    assert mock_api.requests == []


# -- get ----------------------------------------------------------------------------------------------------------


def test_v1_get_by_id_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/endpoints/ept_1", EPT)
    r = cli(*V1, "get", "ept_1")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v1/endpoints/ept_1")
    assert r.stdout.splitlines() == ["id\tept_1", "topic\ttpc_1", f"url\t{A}"]
    assert cli(*V1, "get", "ept_1", "--json").json == EPT
    assert cli(*V1, "get", "ept_1", "-q").stdout == "ept_1\n"
    assert "ept_1" in cli(*V1, "get", "ept_1", tty=True).stdout


@pytest.mark.parametrize(
    ("flags", "want"),
    [
        (("--name", "billing"), {"topicName": "orders", "name": "billing", "url": A}),
        (("-e", B), {"topicName": "orders", "url": B}),
    ],
)
def test_v2_get_by_name_or_url(cli, mock_api, flags, want) -> None:
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    r = cli(*V2, "get", "orders", *flags, "--json")
    assert r.exit_code == 0 and r.json == want
    assert_sent(mock_api, "GET", "/v2/topics/orders")
    assert cli(*V2, "get", "orders", *flags, "-q").stdout == want["url"] + "\n"
    plain = cli(*V2, "get", "orders", *flags).stdout.splitlines()
    assert plain[0] == "topic\torders" and plain[-1] == f"url\t{want['url']}"
    assert want["url"] in cli(*V2, "get", "orders", *flags, tty=True).stdout


def test_v2_get_absent_endpoint_is_not_found_exit_3(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    assert_one_error(cli(*V2, "get", "orders", "--name", "nope"), 3, "'nope'", "'orders'")
    assert_one_error(cli(*V2, "get", "orders", "--endpoint", NEW), 3, NEW)


@pytest.mark.parametrize("flags", [(), ("--name", "billing", "--endpoint", A)])
def test_v2_get_needs_exactly_one_selector(cli, mock_api, flags) -> None:
    assert_one_error(cli(*V2, "get", "orders", *flags), 2, "--name NAME or --endpoint URL")
    assert mock_api.requests == []


def test_v1_rejects_v2_selectors(cli, mock_api) -> None:
    assert_one_error(cli(*V1, "get", "ept_1", "--name", "billing"), 2, "by their id")
    assert_one_error(cli(*V1, "delete", "ept_1", "-e", A, "-y"), 2, "by their id")
    assert mock_api.requests == []


# -- update -------------------------------------------------------------------------------------------------------


def test_v1_update_puts_the_url(cli, mock_api) -> None:
    mock_api.add("PUT", "/v1/endpoints/ept_1", {**EPT, "url": NEW})
    r = cli(*V1, "update", "ept_1", NEW)
    assert r.exit_code == 0
    assert_sent(mock_api, "PUT", "/v1/endpoints/ept_1", {"url": NEW})
    assert f"url\t{NEW}" in r.stdout.splitlines()


def test_v2_update_is_a_replace_keeping_the_name(cli, mock_api) -> None:
    after = {**GROUP, "endpoints": [{"url": B}, {"name": "billing", "url": NEW}]}
    mock_api.add("GET", "/v2/topics/orders", GROUP, times=1)
    mock_api.add("GET", "/v2/topics/orders", after)
    mock_api.add("DELETE", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    r = cli(*V2, "update", "orders", NEW, "--name", "billing", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json == {"topicName": "orders", "name": "billing", "url": NEW}
    find, remove, add, reread = mock_api.requests
    assert_sent(mock_api, "GET", "/v2/topics/orders", None, find)
    assert_sent(mock_api, "DELETE", "/v2/topics/orders/endpoints", {"endpoints": [{"name": "billing"}]}, remove)
    assert_sent(mock_api, "POST", "/v2/topics/orders/endpoints", {"endpoints": [{"url": NEW, "name": "billing"}]}, add)
    assert_sent(mock_api, "GET", "/v2/topics/orders", None, reread)


def test_v2_update_by_old_url_with_new_name_says_it_replaces(cli, mock_api) -> None:
    after = {**GROUP, "endpoints": [{"name": "billing", "url": A}, {"name": "b2", "url": NEW}]}
    mock_api.add("GET", "/v2/topics/orders", GROUP, times=1)
    mock_api.add("GET", "/v2/topics/orders", after)
    mock_api.add("DELETE", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    r = cli(*V2, "update", "orders", NEW, "--endpoint", B, "--new-name", "b2")
    assert r.exit_code == 0, r.stderr
    assert "Replaced" in r.stderr and "removed the old" in r.stderr
    assert r.stdout.splitlines() == ["topic\torders", "name\tb2", f"url\t{NEW}"]
    assert json.loads(mock_api.requests[1].content) == {"endpoints": [{"url": B}]}
    assert json.loads(mock_api.requests[2].content) == {"endpoints": [{"url": NEW, "name": "b2"}]}


def test_v2_update_of_absent_endpoint_is_exit_3_and_changes_nothing(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    assert_one_error(cli(*V2, "update", "orders", NEW, "--name", "nope"), 3)
    assert [r.method for r in mock_api.requests] == ["GET"]


# -- delete -------------------------------------------------------------------------------------------------------


def test_v1_delete(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v1/endpoints/ept_1", {"status": "ok"})
    r = cli(*V1, "delete", "ept_1", "--yes")
    assert r.exit_code == 0 and r.stdout == "" and "Deleted endpoint ept_1" in r.stderr
    assert_sent(mock_api, "DELETE", "/v1/endpoints/ept_1")
    assert cli(*V1, "delete", "ept_1", "-y", "--json").json == {"status": "ok"}


@pytest.mark.parametrize(
    ("flags", "item"), [(("--endpoint", A), {"url": A}), (("--name", "billing"), {"name": "billing"})]
)
def test_v2_delete_sends_a_json_body(cli, mock_api, flags, item) -> None:
    mock_api.add("DELETE", "/v2/topics/orders/endpoints", content=b"")
    r = cli(*V2, "delete", "orders", *flags, "-y")
    assert r.exit_code == 0 and r.stdout == ""
    assert_sent(mock_api, "DELETE", "/v2/topics/orders/endpoints", {"endpoints": [item]})


@pytest.mark.parametrize("args", [(*V1, "delete", "ept_1"), (*V2, "delete", "orders", "--name", "billing")])
def test_delete_without_yes_and_without_terminal_refuses(cli, mock_api, args) -> None:
    assert_one_error(cli(*args), 2, "--yes")
    assert mock_api.requests == []


def test_v2_delete_checks_the_selector_before_asking(cli, mock_api) -> None:
    assert_one_error(cli(*V2, "delete", "orders", stdin_tty=True), 2, "--name NAME or --endpoint URL")
    assert mock_api.requests == []


# -- invalid input and API errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a/b", "..", "../etc", "ept 1", "x%2Fy"])
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_bad_id_or_topic_is_exit_2_and_nothing_sent(cli, mock_api, api, bad) -> None:
    for args in (
        ("get", bad, "--name", "n"),
        ("delete", bad, "--name", "n", "-y"),
        ("update", bad, NEW, "--name", "n"),
    ):
        r = cli("--api", api, "endpoints", *args)
        assert_one_error(r, 2, "invalid", repr(bad))
    assert_one_error(cli("--api", api, "endpoints", "list", "--topic", bad), 2, "invalid topic")
    assert_one_error(cli("--api", api, "endpoints", "create", A, "--topic", bad), 2, "invalid topic")
    assert mock_api.requests == []


@pytest.mark.parametrize("bad", ["ftp://x.example.com", "example.com/hook", "https://", "https://a b"])
def test_bad_url_is_exit_2_and_nothing_sent(cli, mock_api, bad) -> None:
    assert_one_error(cli(*V2, "create", bad, "--topic", "orders"), 2, "endpoint URL")
    assert_one_error(cli(*V1, "create", bad, "--topic", "orders"), 2, "endpoint URL")
    assert_one_error(cli(*V1, "update", "ept_1", bad), 2, "new endpoint URL")
    assert_one_error(cli(*V2, "get", "orders", "--endpoint", bad), 2, "endpoint URL")
    assert mock_api.requests == []


def test_bad_endpoint_name_and_missing_argument(cli, mock_api) -> None:
    assert_one_error(cli(*V2, "create", A, "--topic", "orders", "--name", "a/b"), 2, "endpoint name")
    assert_one_error(cli(*V2, "update", "orders"), 2)
    assert_one_error(cli(*V2, "create"), 2)
    assert mock_api.requests == []


@pytest.mark.parametrize(
    ("args", "method", "path"),
    [
        ((*V1, "get", "ept_9"), "GET", "/v1/endpoints/ept_9"),
        ((*V2, "list", "--topic", "nope"), "GET", "/v2/topics/nope"),
    ],
)
def test_not_found_is_exit_3(cli, mock_api, args, method, path) -> None:
    mock_api.add(method, path, {"error": "not found"}, status=404)
    assert_one_error(cli(*args), 3, "not found")


@pytest.mark.parametrize("args", [(*V1, "list"), (*V2, "list")])
def test_unauthorized_is_exit_4(cli, mock_api, args) -> None:
    mock_api.add("GET", "/v1/endpoints", {"error": "unauthorized"}, status=401)
    mock_api.add("GET", "/v2/topics", {"error": "unauthorized"}, status=401)
    r = cli(*args)
    assert r.exit_code == 4 and r.stderr.startswith("Error: HTTP 401")


def test_global_url_option_still_works_after_the_command(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    r = cli(*V2, "get", "orders", "--name", "billing", "--url", "https://other.example", "-q")
    assert r.exit_code == 0
    assert str(mock_api.last.url) == "https://other.example/v2/topics/orders"


def test_every_command_documents_an_example() -> None:
    from qstash_cli.commands import endpoints

    assert {c.name for c in endpoints.app.registered_commands} == {"list", "get", "create", "update", "delete"}
    for command in endpoints.app.registered_commands:
        doc = command.callback.__doc__
        assert "Example:\n" in doc and "qstash endpoints" in doc and "qstash --api v1 endpoints" in doc


def test_v2_create_shows_what_was_sent_if_the_server_lists_it_differently(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("GET", "/v2/topics/orders", {**GROUP, "endpoints": [{"url": A + "/"}]})
    r = cli(*V2, "create", A, "--topic", "orders", "--json")
    assert r.exit_code == 0 and r.json == {"topicName": "orders", "url": A}


def test_create_takes_the_group_first_like_get_update_delete(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/topics/orders/endpoints", content=b"")
    mock_api.add("GET", "/v2/topics/orders", GROUP)
    r = cli(*V2, "create", "orders", A, "--name", "billing")
    assert r.exit_code == 0, r.stderr
    assert_sent(
        mock_api,
        "POST",
        "/v2/topics/orders/endpoints",
        {"endpoints": [{"url": A, "name": "billing"}]},
        mock_api.requests[0],
    )
    mock_api.add("POST", "/v1/endpoints", EPT)
    assert cli(*V1, "create", "orders", A, "-q").stdout == "ept_1\n"
    assert_sent(mock_api, "POST", "/v1/endpoints", {"url": A, "topicName": "orders"})
    assert (
        "Usage: qstash endpoints create [OPTIONS] GROUP [ENDPOINT_URL]" in cli("endpoints", "create", "--help").stdout
    )


def test_create_refuses_the_group_twice(cli, mock_api) -> None:
    assert_one_error(cli(*V2, "create", "orders", A, "--topic", "other"), 2, "give the group once")
    assert mock_api.requests == []
