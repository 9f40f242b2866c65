"""Tables on a terminal: ids and URLs never broken, other columns cut with …, key/value blocks when narrow."""

from __future__ import annotations

import re

import pytest

from qstash_cli.table_layout import key_value_lines, table_lines, widths

MSG = "msg_26hZCxZCuWyyTWPmSVBrNC1RADwpgWxPcak2rQD51EMjFMuzcW7qYXpPiZyDS8"
URL = "https://example.com/webhooks/orders/created?tenant=acme"
SCD = "scd_7Gx9fK2mQw8vR4pLt6Ys"


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_ids_and_urls_stay_whole_and_text_shrinks() -> None:
    headers = ["id", "url", "error"]
    rows = [[MSG, URL, "the destination answered 500 Internal Server Error after 30s of waiting"]]
    header, body = table_lines(headers, rows, 150)
    assert MSG in body[0] and URL in body[0]
    assert body[0].endswith("…") and len(body[0]) <= 150
    assert header.split() == headers


def test_a_cut_keeps_whole_words_of_a_time() -> None:
    rows = [["2023-11-14T22:13:20Z (5m ago)", MSG]]
    sizes = widths(["time", "message"], rows, 90)
    assert sizes is not None
    _, body = table_lines(["time", "message"], rows, 90)
    assert body[0].startswith("2023-11-14T22:13:20Z …") and MSG in body[0]


def test_too_narrow_for_the_whole_columns_is_none() -> None:
    assert table_lines(["id", "url"], [[MSG, URL]], 60) is None


def test_key_value_lines_keep_values_whole_and_indent_more_lines() -> None:
    lines = key_value_lines([("id", MSG), ("endpoints", "a=https://a\nb=https://b")])
    assert lines == [f"id         {MSG}", "endpoints  a=https://a", "           b=https://b"]


@pytest.mark.parametrize("columns", ["120", "80"])
def test_logs_table_never_breaks_an_id_or_url(cli, mock_api, monkeypatch, columns) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    event = {
        "time": 1700000000000,
        "state": "ERROR",
        "messageId": MSG,
        "url": URL,
        "responseStatus": 500,
        "error": "connection refused by the destination after several attempts",
    }
    mock_api.add("GET", "/v2/events", {"events": [event]})
    out = plain(cli("logs", tty=True).stdout)
    assert MSG in out and URL in out
    assert all(len(line) <= int(columns) or MSG in line or URL in line for line in out.splitlines())


def test_narrow_terminal_falls_back_to_key_value_blocks(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    rows = [
        {"scheduleId": SCD, "cron": "0 3 * * *", "destination": URL, "isPaused": False},
        {"scheduleId": "b", "cron": "* * * * *", "destination": URL, "isPaused": True},
    ]
    mock_api.add("GET", "/v2/schedules", rows)
    out = plain(cli("schedules", "list", tty=True).stdout).splitlines()
    assert out[0] == f"id           {SCD}"
    assert f"destination  {URL}" in out and "" in out  # one block per row, a blank line between
    assert out.count("paused       true") == 1


def test_headers_do_not_wrap_at_60_columns(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    mock_api.add("GET", "/v2/queues", [{"name": "orders", "parallelism": 5, "lag": 0, "paused": False}])
    out = plain(cli("queues", "list", tty=True).stdout).splitlines()
    assert out[0].split() == ["name", "parallelism", "lag", "paused", "created", "updated"]
    assert out[1].split()[:4] == ["orders", "5", "0", "false"]


def test_a_record_never_folds_a_long_value(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    mock_api.add("GET", f"/v2/messages/{MSG}", {"messageId": MSG, "url": URL})
    out = plain(cli("messages", "get", MSG, tty=True).stdout).splitlines()
    assert f"messageId  {MSG}" in out and f"url        {URL}" in out


def test_one_header_casing_in_every_table() -> None:
    """No table of any command shouts its headers (`SETTING` next to `name`): lower case (or an API field name)."""
    import importlib

    from qstash_cli.app import COMMAND_MODULES
    from qstash_cli.output import Column

    headers = set()
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"qstash_cli.commands.{name}")
        for value in vars(module).values():
            if isinstance(value, list) and value and all(isinstance(c, Column) for c in value):
                headers |= {c.header for c in value}
    assert len(headers) > 30
    assert sorted(h for h in headers if h.isupper()) == []
