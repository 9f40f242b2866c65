"""The one output sink: Rich table (terminal) | plain TSV (piped) | JSON (--json) | ids (-q).

Data goes to stdout; messages, warnings, hints and progress go to stderr in every mode.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qstash_cli.errors import Aborted, ApiError, InputError
from qstash_cli.safe_text import escape_controls

TABLE, PLAIN, JSON, QUIET = "table", "plain", "json", "quiet"
MAX_TIME_MS = 253402300799999  # 9999-12-31: a larger "time" is shown as the number it is


@dataclass(frozen=True)
class Column:
    """One column of a listing: a header, a key (or a function of the row), and how to render it."""

    header: str
    key: str | Callable[[dict[str, Any]], Any]
    kind: str = "text"  # "text" | "time" (unix ms) | "json"

    def raw(self, row: dict[str, Any]) -> Any:
        return self.key(row) if callable(self.key) else row.get(self.key)

    def render(self, row: dict[str, Any], *, human: bool) -> str:
        """The cell's text (raw: `cell()` makes it safe for the terminal)."""
        return render_value(self.raw(row), self.kind, human=human)


def render_value(value: Any, kind: str = "text", *, human: bool = False) -> str:
    """A value as text: times as ISO (+ relative when human), containers as compact JSON."""
    if value is None or value == "":
        return "-" if human else ""
    if kind == "time" and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < MAX_TIME_MS:
        return format_time(int(value), human=human)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (RecursionError, ValueError):
            return "(nested too deep to show)"
    return str(value)


def format_time(ms: int, *, human: bool = False) -> str:
    """Unix milliseconds as ISO-8601 UTC, plus '(5m ago)' / '(in 2h)' when human."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    iso = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not human:
        return iso
    delta = ms / 1000 - datetime.now(tz=UTC).timestamp()
    return f"{iso} ({_relative(delta)})"


def _relative(seconds: float) -> str:
    future, s = seconds > 0, abs(int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            text = f"{s // size}{unit}"
            break
    else:
        text = f"{s}s"
    return f"in {text}" if future else f"{text} ago"


class Output:
    """Renders plain data in the selected mode. Construct with `Output.create()`."""

    def __init__(self, mode: str, *, stdout: Any = None, stderr: Any = None) -> None:
        self.mode = mode
        self._stdout = stdout
        self._stderr = stderr

    @classmethod
    def create(cls, *, json: bool = False, quiet: bool = False) -> Output:
        if json:
            mode = JSON
        elif quiet:
            mode = QUIET
        else:
            mode = TABLE if sys.stdout.isatty() and os.environ.get("TERM") != "dumb" else PLAIN
        return cls(mode)

    # -- streams ---------------------------------------------------------------------------------------------
    @property
    def stdout(self) -> Any:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> Any:
        return self._stderr or sys.stderr

    def _console(self, *, stderr: bool = False) -> Any:
        from rich.console import Console

        return Console(file=self.stderr if stderr else self.stdout, highlight=False, soft_wrap=False, markup=False)

    # -- data (stdout) ---------------------------------------------------------------------------------------
    def record(self, data: dict[str, Any], *, id_key: str | None = None, fields: list[Column] | None = None) -> None:
        """One object: key/value table, `key<TAB>value` lines, the JSON document, or its id."""
        if self.mode == JSON:
            self.json(data)
            return
        _require_object(data)
        if self.mode == QUIET:
            if id_key and data.get(id_key) is not None:
                self.line(escape_controls(str(data[id_key])))
            return
        cols = fields or [Column(k, k, "time" if _looks_like_time(k) else "text") for k in data]
        human = self.mode == TABLE
        pairs = [
            (escape_controls(str(c.header)), cell(c, data, human)) for c in cols if not (human and c.raw(data) is None)
        ]
        if human:
            from qstash_cli.table_layout import key_value_lines

            for text in key_value_lines(pairs):
                self.line(text)
        else:
            for key, value in pairs:
                self.line(f"{key}\t{_one_line(value)}")

    def rows(self, items: Iterable[dict[str, Any]], columns: list[Column], *, id_key: str | None = None) -> int:
        """A listing. JSON is one array, streamed item by item; returns the number of rows."""
        count = 0
        if self.mode == JSON:  # "[" comes with the first item; an error or Ctrl-C mid-way still closes the array
            if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
                raise unexpected_shape("a list", items)
            out = self.stdout
            with _RowGuard() as guard:
                try:
                    for item in items:
                        text = ("," if count else "[") + "\n  " + json.dumps(item, ensure_ascii=False)
                        guard.writing = True
                        out.write(text)
                        count += 1
                        guard.done()
                except BaseException:
                    guard.writing = True  # a second Ctrl-C waits until the array is closed
                    if count:
                        out.write("\n]\n")
                        out.flush()
                    raise
            out.write("\n]\n" if count else "[]\n")
            out.flush()
            return count
        items = _objects(items)
        if self.mode == QUIET:
            for item in items:
                if id_key and item.get(id_key) is not None:
                    self.line(escape_controls(str(item[id_key])))
                count += 1
            return count
        if self.mode == PLAIN:  # the header comes with the first row: an error before it leaves stdout empty
            with _RowGuard() as guard:
                for item in items:
                    row = "\t".join(_one_line(cell(c, item, False)) for c in columns)
                    guard.writing = True
                    self.line(row if count else _header_line(columns) + "\n" + row)
                    count += 1
                    guard.done()
            if not count:
                self.line(_header_line(columns))
            return count
        cells = [[cell(c, item, True) for c in columns] for item in items]
        if cells:
            self._table([escape_controls(str(c.header)) for c in columns], cells)
        else:
            self.info("(none)")
        return len(cells)

    def _table(self, headers: list[str], cells: list[list[str]]) -> None:
        """Aligned columns within the terminal's width (ids and URLs whole, other columns cut with …); when that
        cannot fit, one key/value block per row."""
        import shutil

        from qstash_cli.table_layout import key_value_lines, table_lines

        laid = table_lines(headers, cells, shutil.get_terminal_size((100, 24)).columns)
        if laid is None:
            for n, row in enumerate(cells):
                if n:
                    self.line("")
                for text in key_value_lines(list(zip(headers, row, strict=True))):
                    self.line(text)
            return
        header, body = laid
        from rich.text import Text

        self._console().print(Text(header, style="bold"), soft_wrap=True)
        for text in body:
            self.line(text)

    def json(self, data: Any) -> None:
        """One JSON document on stdout."""
        self.line(json.dumps(data, indent=2, ensure_ascii=False))

    def json_line(self, data: Any) -> None:
        """One JSON object on one line (for streams: listen, batch, logs --follow)."""
        self.line(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def line(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    # -- messages (stderr) -----------------------------------------------------------------------------------
    def info(self, message: str) -> None:
        """A human note on stderr; silent with -q and --json."""
        if self.mode in (TABLE, PLAIN):
            self.stderr.write(_lines(message) + "\n")

    def warn(self, message: str) -> None:
        self.stderr.write(f"Warning: {_lines(message)}\n")

    def confirm(self, question: str, *, yes: bool) -> None:
        """Ask before a destructive action; without a terminal, `--yes` is required."""
        if yes:
            return
        if not sys.stdin.isatty():
            raise InputError(f"refusing to {question} without --yes (no terminal to confirm on)")
        import typer

        if not typer.confirm(f"{question[0].upper()}{question[1:]}?", default=False, err=True):
            raise Aborted("aborted; nothing was changed")


class _RowGuard:
    """Ctrl-C during a listing never lands between writing a row and counting it (nor mid-row): while `writing`,
    SIGINT is held and raised by `done()`. Only in the main thread, where Python runs signal handlers."""

    def __init__(self) -> None:
        self.writing = False
        self._pending = False
        self._previous: Any = None

    def __enter__(self) -> _RowGuard:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if not self.writing:
            raise KeyboardInterrupt
        self._pending = True

    def done(self) -> None:
        self.writing = False
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGINT, self._previous)
        if self._pending and exc[0] is None:
            raise KeyboardInterrupt


def unexpected_shape(expected: str, data: Any) -> ApiError:
    """The error for a 2xx answer whose JSON has the wrong shape (e.g. a list where an object belongs)."""
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(data), "a number" if isinstance(data, (int, float)) else type(data).__name__
    )
    return ApiError(
        f"the API answer has the wrong shape: expected {expected}, got {kind}", hint="is --url pointing at QStash?"
    )


def _require_object(data: Any) -> None:
    if not isinstance(data, dict):
        raise unexpected_shape("a JSON object", data)


def _objects(items: Any) -> Iterable[dict[str, Any]]:
    """Rows of a listing, checked one by one: each must be a JSON object."""
    if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
        raise unexpected_shape("a list", items)
    for item in items:
        _require_object(item)
        yield item


def cell(column: Column, row: dict[str, Any], human: bool) -> str:
    """A column's text for a row, control characters escaped (text from the network never reaches the terminal
    raw; a table cell keeps its lines); a column that cannot render an odd value (`"endpoints": 5`) shows it as is."""
    try:
        text = column.render(row, human=human)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError):
        text = render_value(row.get(column.key) if isinstance(column.key, str) else None, human=human)
    text = text.replace("\t", " ")
    return _lines(text) if human else escape_controls(text)  # a table cell may hold several lines


def _header_line(columns: list[Column]) -> str:
    """The TSV header (a header may be a key from the API: `qstash api` lists whatever keys came)."""
    return "\t".join(_one_line(str(c.header)) for c in columns)


def _lines(text: str) -> str:
    """A note for stderr: its lines kept, control characters within them escaped."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def _one_line(text: str) -> str:
    return escape_controls(text.replace("\t", " "))


def _looks_like_time(key: str) -> bool:
    return key.endswith(("At", "Time")) or key in ("time", "notBefore", "deadline")
