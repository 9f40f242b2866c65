"""The output contract: table on a terminal, TSV when piped, one JSON document, ids with -q; stderr for the rest."""

from __future__ import annotations

import io
import json

import pytest

from qstash_cli.errors import InputError
from qstash_cli.output import JSON, PLAIN, QUIET, TABLE, Column, Output, format_time

ROWS = [
    {"id": "a1", "name": "orders", "createdAt": 1_700_000_000_000, "tags": ["x", "y"]},
    {"id": "b2", "name": "bills\tand\nmore", "createdAt": None, "tags": []},
]
COLS = [Column("ID", "id"), Column("NAME", "name"), Column("CREATED", "createdAt", "time"), Column("TAGS", "tags")]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def make(mode: str) -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = (Tty() if mode == TABLE else io.StringIO()), io.StringIO()
    return Output(mode, stdout=out, stderr=err), out, err


def test_plain_rows_are_tsv_with_header_and_one_line_per_row() -> None:
    o, out, err = make(PLAIN)
    assert o.rows(iter(ROWS), COLS, id_key="id") == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == "ID\tNAME\tCREATED\tTAGS"
    assert lines[1] == 'a1\torders\t2023-11-14T22:13:20Z\t["x","y"]'
    assert lines[2] == "b2\tbills and\\nmore\t\t[]"
    assert err.getvalue() == ""


def test_json_rows_stream_one_array() -> None:
    o, out, _ = make(JSON)
    o.rows(iter(ROWS), COLS)
    assert json.loads(out.getvalue()) == ROWS
    o, out, _ = make(JSON)
    o.rows(iter([]), COLS)
    assert json.loads(out.getvalue()) == []


def test_quiet_prints_ids_only() -> None:
    o, out, _ = make(QUIET)
    o.rows(iter(ROWS), COLS, id_key="id")
    assert out.getvalue() == "a1\nb2\n"
    o, out, _ = make(QUIET)
    o.record({"messageId": "msg_1", "url": "u"}, id_key="messageId")
    assert out.getvalue() == "msg_1\n"


def test_table_rows_render_times_with_relative_age() -> None:
    o, out, _ = make(TABLE)
    o.rows(iter(ROWS), COLS)
    text = out.getvalue()
    assert "orders" in text and "2023-11-14T22:13:20Z (" in text and "ago)" in text
    assert "\t" not in text


def test_table_empty_listing_says_none_on_stderr() -> None:
    o, out, err = make(TABLE)
    assert o.rows(iter([]), COLS) == 0
    assert out.getvalue() == "" and "(none)" in err.getvalue()


def test_record_plain_and_table() -> None:
    o, out, _ = make(PLAIN)
    o.record({"messageId": "m", "createdAt": 1_700_000_000_000, "header": {"a": ["b"]}})
    assert out.getvalue().splitlines() == ["messageId\tm", "createdAt\t2023-11-14T22:13:20Z", 'header\t{"a":["b"]}']
    o, out, _ = make(TABLE)
    o.record({"messageId": "m", "missing": None})
    assert "messageId" in out.getvalue() and "missing" not in out.getvalue()


def test_info_is_silent_in_json_and_quiet_modes() -> None:
    for mode, shown in ((PLAIN, True), (TABLE, True), (JSON, False), (QUIET, False)):
        o, out, err = make(mode)
        o.info("note")
        assert ("note" in err.getvalue()) is shown and out.getvalue() == ""


def test_confirm_requires_yes_without_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())
    o, _, _ = make(PLAIN)
    o.confirm("delete everything", yes=True)
    with pytest.raises(InputError, match="without --yes"):
        o.confirm("delete everything", yes=False)


def test_format_time_relative_future() -> None:
    import time

    assert "(in " in format_time(int((time.time() + 7200) * 1000), human=True)


def test_table_cells_are_text_not_rich_markup() -> None:
    """Data such as `[bold]`, `[red]` or `(workflow …)` notes in square brackets is shown as sent, never styled away."""
    o, out, _ = make(TABLE)
    o.rows([{"id": "[bold]a[/bold]", "name": "x [workflow wfr_1] [red]"}], COLS[:2])
    assert "[bold]a[/bold]" in out.getvalue() and "x [workflow wfr_1] [red]" in out.getvalue()
    o, out, _ = make(TABLE)
    o.record({"error": "[link=http://x]boom[/link]"})
    assert "[link=http://x]boom[/link]" in out.getvalue()
