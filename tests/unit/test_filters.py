"""The filters the spec lists for logs, dlq and bulk `messages cancel`, with the same names everywhere: the exact
query sent for each, `--count`, and bad values refused before sending."""

from __future__ import annotations

import pytest

from tests.unit.helpers import assert_one_error, assert_sent

NEW_FILTERS = [
    (["--caller-ip", "203.0.113.7"], "callerIp=203.0.113.7"),
    (["--caller-ip", "2001:db8::1"], "callerIp=2001%3Adb8%3A%3A1"),
    (["--flow-control-key", "user-42", "--flow-control-key", "b"], "flowControlKey=user-42&flowControlKey=b"),
]
HOST_PATH = [
    (["--host", "example.com"], "host=example.com"),
    (["--path", "/hook/a"], "path=%2Fhook%2Fa"),
]


@pytest.mark.parametrize(("flags", "query"), NEW_FILTERS + HOST_PATH)
def test_logs_filters(cli, mock_api, flags, query) -> None:
    mock_api.add("GET", "/v2/events", {"events": []})
    assert cli("logs", *flags, "-q").exit_code == 0
    assert_sent(mock_api, "GET", f"/v2/events?{query}")


def test_logs_count_is_the_page_size(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/events", {"events": []})
    assert cli("logs", "--count", "250", "--host", "a.io", "-q").exit_code == 0
    assert_sent(mock_api, "GET", "/v2/events?host=a.io&count=250")
    assert_one_error(cli("logs", "--count", "1001"), 2, "--count")
    assert_one_error(cli("--api", "v1", "logs", "--count", "5"), 2, "--count")


@pytest.mark.parametrize(("flags", "query"), NEW_FILTERS)
def test_dlq_list_filters(cli, mock_api, flags, query) -> None:
    mock_api.add("GET", "/v2/dlq", {"messages": []})
    assert cli("dlq", "list", *flags, "-q").exit_code == 0
    assert_sent(mock_api, "GET", f"/v2/dlq?{query}")


def test_dlq_count_on_list_and_bulk_actions(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/dlq", {"messages": []})
    mock_api.add("POST", "/v2/dlq/retry", {"responses": []})
    mock_api.add("DELETE", "/v2/dlq", {"deleted": 0})
    assert cli("dlq", "list", "--count", "50", "-q").exit_code == 0
    assert_sent(mock_api, "GET", "/v2/dlq?count=50")
    assert cli("dlq", "retry", "--all", "--caller-ip", "10.0.0.1", "--count", "20", "--yes").exit_code == 0
    assert_sent(mock_api, "POST", "/v2/dlq/retry?callerIp=10.0.0.1&count=20")
    assert cli("dlq", "delete", "--all", "--flow-control-key", "k", "--count", "100", "--yes").exit_code == 0
    assert_sent(mock_api, "DELETE", "/v2/dlq?flowControlKey=k&count=100")
    assert_one_error(cli("dlq", "list", "--count", "101"), 2, "--count")
    assert_one_error(cli("dlq", "retry", "1-0", "--count", "5"), 2, "--count applies to --all")


def test_dlq_has_no_host_or_path_filter(cli, mock_api) -> None:
    """The API rejects host/path on the DLQ: the CLI does not offer them."""
    for flag in ("--host", "--path"):
        r = cli("dlq", "list", flag, "x")
        assert r.exit_code == 2 and "No such option" in r.stderr
    assert mock_api.requests == []


@pytest.mark.parametrize(("flags", "query"), NEW_FILTERS + HOST_PATH + [(["--count", "100"], "count=100")])
def test_bulk_cancel_filters(cli, mock_api, flags, query) -> None:
    mock_api.add("DELETE", "/v2/messages", {"cancelled": 3})
    r = cli("messages", "cancel", "--all", *flags, "--yes", "-q")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "DELETE", f"/v2/messages?{query}")
    assert r.stdout == "3\n"


def test_cancel_count_is_bounded_and_only_for_bulk(cli, mock_api) -> None:
    assert_one_error(cli("messages", "cancel", "--all", "--count", "501", "--yes"), 2, "--count")
    assert_one_error(cli("messages", "cancel", "msg_1", "--count", "5", "--yes"), 2, "not both")
    assert mock_api.requests == []


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--caller-ip", "300.1.1.1"], "--caller-ip"),
        (["--caller-ip", "example.com"], "--caller-ip"),
        (["--flow-control-key", "a b"], "flow-control key"),
        (["--host", "https://example.com"], "--host"),
        (["--host", "a.com/x"], "--host"),
        (["--path", "hook"], "--path"),
        (["--path", "/a?b=1"], "--path"),
    ],
)
def test_bad_filters_are_refused_everywhere(cli, mock_api, flags, needle) -> None:
    assert_one_error(cli("logs", *flags), 2, needle)
    assert_one_error(cli("messages", "cancel", "--all", *flags, "--yes"), 2, needle)
    if flags[0] not in ("--host", "--path"):
        assert_one_error(cli("dlq", "list", *flags), 2, needle)
    assert mock_api.requests == []


def test_v1_logs_refuse_the_new_filters(cli, mock_api) -> None:
    assert_one_error(cli("--api", "v1", "logs", "--caller-ip", "10.0.0.1"), 2, "callerIp")
