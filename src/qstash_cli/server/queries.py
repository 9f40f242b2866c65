"""Read jobs: paginated rows of messages, tasks, logs/events and the DLQ, under the filters a route declares.

They return rows (shaped by the route that asked); `NotFound` for a missing id, `BadValue` for a bad cursor/count.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from qstash_cli.server.catalog import NotFound
from qstash_cli.server.filters import Filters, Params, integer
from qstash_cli.server.parse import BadValue

Conn = sqlite3.Connection
Row = Any
V1_PAGE = 100


def _ms_page(conn: Conn, table: str, where: str, args: list[Any], cursor: int | None, col: str) -> tuple[list, int]:
    """Newest-first page of up to 100 rows below the ms `cursor`; a page never splits rows sharing one ms, so the
    last row's time is a safe next cursor (0 when there is no more)."""
    key = "seq" if table == "logs" else "id"
    base = f"({where})" if where else "1"
    clause, page_args = (f"{base} AND {col} < ?", [*args, cursor]) if cursor else (base, list(args))
    rows = conn.execute(
        f"SELECT * FROM {table} WHERE {clause} ORDER BY {col} DESC, {key} DESC LIMIT {V1_PAGE + 1}", page_args
    ).fetchall()
    if len(rows) <= V1_PAGE:
        return rows, 0
    rows = rows[:V1_PAGE]
    last = rows[-1][col]
    have = {r[key] for r in rows}
    extra = conn.execute(f"SELECT * FROM {table} WHERE {base} AND {col} = ? ORDER BY {key} DESC", [*args, last])
    rows += [r for r in extra.fetchall() if r[key] not in have]
    more = conn.execute(f"SELECT 1 FROM {table} WHERE {base} AND {col} < ? LIMIT 1", [*args, last]).fetchone()
    return rows, last if more else 0


def _row(conn: Conn, table: str, row_id: str | None) -> Row | None:
    return conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()


# -- v1 ---------------------------------------------------------------------------------------------------------


def _first_task(conn: Conn, message_id: str) -> Row | None:
    return conn.execute("SELECT * FROM tasks WHERE message_id = ? LIMIT 1", (message_id,)).fetchone()


def v1_messages(conn: Conn, cursor: int | None) -> tuple[list[tuple[Row, Row]], int]:
    """(message, its first task) pairs of one page, and the next cursor (0: none)."""
    rows, nxt = _ms_page(conn, "messages", "", [], cursor, "created_at")
    return [(m, _first_task(conn, m["id"])) for m in rows], nxt


def v1_message(conn: Conn, message_id: str) -> tuple[Row, Row | None]:
    m = _row(conn, "messages", message_id)
    if m is None:
        raise NotFound(f"message {message_id!r} not found")
    return m, _first_task(conn, message_id)


def v1_tasks(conn: Conn, message_id: str, cursor: int | None) -> tuple[list[Row], int]:
    v1_message(conn, message_id)
    return _ms_page(conn, "tasks", "message_id = ?", [message_id], cursor, "created_at")


def v1_task(conn: Conn, task_id: str) -> Row:
    t = _row(conn, "tasks", task_id)
    if t is None:
        raise NotFound(f"task {task_id!r} not found")
    return t


def v1_logs(
    conn: Conn, cursor: int | None, *, message_id: str | None = None, task_id: str | None = None
) -> tuple[list[Row], int]:
    if message_id is not None:
        v1_message(conn, message_id)
        where, args = "message_id = ?", [message_id]
    elif task_id is not None:
        task = v1_task(conn, task_id)
        where, args = "message_id = ? AND task_id = ?", [task["message_id"], task_id]  # through `logs_message`
    else:
        where, args = "", []
    return _ms_page(conn, "logs", where, args, cursor, "time")


def v1_events(conn: Conn, cursor: str | None) -> tuple[list[Row], str | None]:
    """One page of log rows by sequence, and the next cursor (`<ms>-<seq>`, None: no more)."""
    seq = seq_cursor(cursor)
    rows = conn.execute("SELECT * FROM logs WHERE seq < ? ORDER BY seq DESC LIMIT ?", (seq, V1_PAGE + 1)).fetchall()
    more = len(rows) > V1_PAGE
    rows = rows[:V1_PAGE]
    return rows, (f"{rows[-1]['time']}-{rows[-1]['seq']}" if more else None)


def seq_cursor(cursor: str | None, default: int = 1 << 62) -> int:
    """Sequence number from a v2 cursor (`<seq>` or `<ms>-<seq>`)."""
    if not cursor:
        return default
    tail = cursor.rsplit("-", 1)[-1]
    if not tail.isdigit():
        raise BadValue(f"invalid cursor {cursor!r}")
    return int(tail)


# -- v2 ---------------------------------------------------------------------------------------------------------


def v2_message(conn: Conn, message_id: str, since: int) -> tuple[Row, Row | None]:
    """A pending message, or one delivered or failed (not cancelled) at `since` or later, and its most relevant
    task."""
    m = conn.execute(
        "SELECT * FROM messages WHERE id = ? AND (EXISTS (SELECT 1 FROM tasks WHERE message_id = messages.id "
        "AND state IN ('CREATED', 'RETRY', 'ACTIVE')) OR (NOT EXISTS (SELECT 1 FROM tasks WHERE message_id = "
        "messages.id AND state = 'CANCELLED') AND (SELECT MAX(completed_at) FROM tasks WHERE message_id = "
        "messages.id) > ?))",
        (message_id, since),
    ).fetchone()
    if m is None:
        raise NotFound(f"message {message_id!r} not found (delivered, cancelled or unknown)")
    task = conn.execute(
        "SELECT * FROM tasks WHERE message_id = ? ORDER BY state IN ('CREATED', 'RETRY', 'ACTIVE') DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return m, task


def _count(params: Params, default: int) -> int:
    return min(max(integer((params.get("count") or [str(default)])[0], "count"), 1), 1000)


def v2_logs(conn: Conn, filters: Filters, params: Params) -> tuple[list[tuple[Row, Row, Row | None]], str | None]:
    """`/v2/events` and `/v2/logs`: (log, message, task) triples; the cursor is the last entry's sequence number."""
    where, args = filters.where(params)
    count = _count(params, 1000)
    earliest = (params.get("order") or ["latestFirst"])[0].lower() == "earliestfirst"
    cursor = (params.get("cursor") or [None])[0]
    if cursor:
        seq = seq_cursor(cursor)
        where = f"{where + ' AND ' if where else ''}seq {'>' if earliest else '<'} ?"
        args.append(seq)
    rows = conn.execute(
        f"SELECT * FROM logs {'WHERE ' + where if where else ''} ORDER BY seq {'ASC' if earliest else 'DESC'} LIMIT ?",
        [*args, count + 1],
    ).fetchall()
    more = len(rows) > count
    rows = rows[:count]
    messages: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    entries = []
    for r in rows:
        mid, tid = r["message_id"], r["task_id"]
        if mid not in messages:
            messages[mid] = _row(conn, "messages", mid)
        if tid and tid not in tasks:
            tasks[tid] = _row(conn, "tasks", tid)
        entries.append((r, messages[mid], tasks.get(tid)))
    return entries, (str(rows[-1]["seq"]) if more else None)


def dlq_rows(conn: Conn, filters: Filters, params: Params, default_count: int = 100) -> tuple[list, str | None]:
    where, args = filters.where(params)
    count = _count(params, default_count)
    cursor = (params.get("cursor") or [None])[0]
    if cursor:
        where = f"{where + ' AND ' if where else ''}seq < ?"
        args.append(seq_cursor(cursor))
    rows = conn.execute(
        f"SELECT * FROM dlq {'WHERE ' + where if where else ''} ORDER BY seq DESC LIMIT ?", [*args, count + 1]
    ).fetchall()
    more = len(rows) > count
    rows = rows[:count]
    return rows, (f"{rows[-1]['created_at']}-{rows[-1]['seq']}" if more else None)


def dlq_list(
    conn: Conn, filters: Filters, params: Params
) -> tuple[list[tuple[Row, Row | None, Row | None]], str | None]:
    """(DLQ row, its message, its task) of one page, and the next cursor."""
    rows, cursor = dlq_rows(conn, filters, params)
    return [dlq_entry(conn, r) for r in rows], cursor


def dlq_entry(conn: Conn, row: Row) -> tuple[Row, Row | None, Row | None]:
    return row, _row(conn, "messages", row["message_id"]), _row(conn, "tasks", row["task_id"])


def dlq_get(conn: Conn, dlq_id: str) -> tuple[Row, Row | None, Row | None]:
    row = _row(conn, "dlq", dlq_id)
    if row is None:
        raise NotFound(f"dlq message {dlq_id!r} not found")
    return dlq_entry(conn, row)


def dlq_delete(conn: Conn, ids: list[str]) -> int:
    return sum(conn.execute("DELETE FROM dlq WHERE id = ?", (i,)).rowcount for i in ids)
