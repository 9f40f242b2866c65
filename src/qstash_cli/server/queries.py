"""Read jobs: paginated listings of messages, tasks, logs/events and the DLQ, with the documented filters."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from qstash_cli.server import views
from qstash_cli.server.catalog import NotFound

Conn = sqlite3.Connection
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


# -- v1 ---------------------------------------------------------------------------------------------------------


def v1_messages(conn: Conn, cursor: int | None) -> dict[str, Any]:
    rows, nxt = _ms_page(conn, "messages", "", [], cursor, "created_at")
    out = []
    for m in rows:
        task = conn.execute("SELECT * FROM tasks WHERE message_id = ? LIMIT 1", (m["id"],)).fetchone()
        out.append(views.message_v1(m, task))
    return {"cursor": nxt, "messages": out} if nxt else {"messages": out}


def v1_message(conn: Conn, message_id: str) -> dict[str, Any]:
    m = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if m is None:
        raise NotFound(f"message {message_id!r} not found")
    task = conn.execute("SELECT * FROM tasks WHERE message_id = ? LIMIT 1", (message_id,)).fetchone()
    return views.message_v1(m, task)


def v1_tasks(conn: Conn, message_id: str, cursor: int | None) -> dict[str, Any]:
    v1_message(conn, message_id)
    rows, nxt = _ms_page(conn, "tasks", "message_id = ?", [message_id], cursor, "created_at")
    tasks = [views.task_v1(t) for t in rows]
    return {"cursor": nxt, "tasks": tasks} if nxt else {"tasks": tasks}


def v1_task(conn: Conn, task_id: str) -> dict[str, Any]:
    t = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if t is None:
        raise NotFound(f"task {task_id!r} not found")
    return views.task_v1(t)


def v1_logs(conn: Conn, cursor: int | None, *, message_id: str | None = None, task_id: str | None = None) -> dict:
    if message_id is not None:
        v1_message(conn, message_id)
        where, args = "message_id = ?", [message_id]
    elif task_id is not None:
        v1_task(conn, task_id)
        where, args = "task_id = ?", [task_id]
    else:
        where, args = "", []
    rows, nxt = _ms_page(conn, "logs", where, args, cursor, "time")
    logs = [views.log_v1(r) for r in rows]
    return {"cursor": nxt, "logs": logs} if nxt else {"logs": logs}


def v1_events(conn: Conn, cursor: str | None) -> dict[str, Any]:
    seq = _seq_cursor(cursor)
    rows = conn.execute("SELECT * FROM logs WHERE seq < ? ORDER BY seq DESC LIMIT ?", (seq, V1_PAGE + 1)).fetchall()
    more = len(rows) > V1_PAGE
    rows = rows[:V1_PAGE]
    events = [views.event_v1(r) for r in rows]
    out: dict[str, Any] = {"events": events}
    if more:
        out["cursor"] = f"{rows[-1]['time']}-{rows[-1]['seq']}"
    return out


def _seq_cursor(cursor: str | None, default: int = 1 << 62) -> int:
    """Sequence number from a v2 cursor (`<seq>` or `<ms>-<seq>`)."""
    if not cursor:
        return default
    tail = cursor.rsplit("-", 1)[-1]
    if not tail.isdigit():
        raise ValueError(f"invalid cursor {cursor!r}")
    return int(tail)


# -- v2 ---------------------------------------------------------------------------------------------------------


def v2_message(conn: Conn, message_id: str) -> dict[str, Any]:
    m = conn.execute("SELECT * FROM messages WHERE id = ? AND done = 0", (message_id,)).fetchone()
    if m is None:
        raise NotFound(f"message {message_id!r} not found (delivered, cancelled or unknown)")
    task = conn.execute(
        "SELECT * FROM tasks WHERE message_id = ? ORDER BY state IN ('CREATED', 'RETRY', 'ACTIVE') DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return views.message_v2(m, task)


STATE_ALIASES = {"CANCELED": ["CANCELLED"], "IN_PROGRESS": ["CREATED", "ACTIVE", "RETRY"]}


def _multi(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    values = []
    for raw in params.get(name, []):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def _filters(params: Mapping[str, Sequence[str]], columns: dict[str, str], time_col: str) -> tuple[str, list]:
    clauses, args = [], []
    for param, col in columns.items():
        values = _multi(params, param)
        if param == "state":
            values = [s for v in values for s in STATE_ALIASES.get(v.upper(), [v.upper()])]
        if param == "messageIds":
            values += _multi(params, "messageId")
        if values:
            if param in ("label",):
                clauses.append("(" + " OR ".join(f"{col} LIKE ?" for _ in values) + ")")
                args += [f"%{v}%" for v in values]
            else:
                clauses.append(f"{col} IN ({','.join('?' * len(values))})")
                args += values
    for param, op in (("fromDate", ">="), ("toDate", "<=")):
        values = _multi(params, param)
        if values:
            clauses.append(f"{time_col} {op} ?")
            args.append(_int(values[0], param))
    return " AND ".join(clauses), args


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"invalid {name} {value!r}: want an integer") from None


LOG_FILTERS = {
    "messageIds": "message_id",
    "state": "state",
    "url": "url",
    "topicName": "topic_name",
    "scheduleId": "schedule_id",
    "queueName": "queue_name",
    "label": "label",
}


def v2_logs(conn: Conn, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """`/v2/events` and `/v2/logs`: both keys carry the same list; cursor is the last entry's sequence number."""
    where, args = _filters(params, LOG_FILTERS, "time")
    count = min(max(_int((params.get("count") or ["1000"])[0], "count"), 1), 1000)
    earliest = (params.get("order") or ["latestFirst"])[0].lower() == "earliestfirst"
    cursor = (params.get("cursor") or [None])[0]
    if cursor:
        seq = _seq_cursor(cursor)
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
            messages[mid] = conn.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()
        if tid and tid not in tasks:
            tasks[tid] = conn.execute("SELECT * FROM tasks WHERE id = ?", (tid,)).fetchone()
        entries.append(views.log_v2(r, messages[mid], tasks.get(tid)))
    out: dict[str, Any] = {"events": entries, "logs": entries}
    if more:
        out["cursor"] = str(rows[-1]["seq"])
    return out


DLQ_FILTERS = {
    "messageId": "message_id",
    "url": "url",
    "topicName": "topic_name",
    "scheduleId": "schedule_id",
    "queueName": "queue_name",
    "responseStatus": "response_status",
    "label": "label",
    "dlqIds": "id",
}


def dlq_rows(conn: Conn, params: Mapping[str, Sequence[str]], default_count: int = 100) -> tuple[list, str | None]:
    where, args = _filters(params, DLQ_FILTERS, "created_at")
    count = min(max(_int((params.get("count") or [str(default_count)])[0], "count"), 1), 1000)
    cursor = (params.get("cursor") or [None])[0]
    if cursor:
        where = f"{where + ' AND ' if where else ''}seq < ?"
        args.append(_seq_cursor(cursor))
    rows = conn.execute(
        f"SELECT * FROM dlq {'WHERE ' + where if where else ''} ORDER BY seq DESC LIMIT ?", [*args, count + 1]
    ).fetchall()
    more = len(rows) > count
    rows = rows[:count]
    return rows, (f"{rows[-1]['created_at']}-{rows[-1]['seq']}" if more else None)


def dlq_list(conn: Conn, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    rows, cursor = dlq_rows(conn, params)
    out: dict[str, Any] = {"messages": [dlq_entry(conn, r) for r in rows]}
    if cursor:
        out["cursor"] = cursor
    return out


def dlq_entry(conn: Conn, row: Any) -> dict[str, Any]:
    m = conn.execute("SELECT * FROM messages WHERE id = ?", (row["message_id"],)).fetchone()
    return views.dlq_v2(row, m)


def dlq_get(conn: Conn, dlq_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM dlq WHERE id = ?", (dlq_id,)).fetchone()
    if row is None:
        raise NotFound(f"dlq message {dlq_id!r} not found")
    return dlq_entry(conn, row)


def dlq_delete(conn: Conn, ids: list[str]) -> int:
    return sum(conn.execute("DELETE FROM dlq WHERE id = ?", (i,)).rowcount for i in ids)


MESSAGE_FILTERS = {
    "messageIds": "id",
    "topicName": "topic_name",
    "queueName": "queue_name",
    "url": "url",
    "scheduleId": "schedule_id",
    "label": "label",
    "callerIp": "json_extract(meta, '$.callerIP')",
    "flowControlKey": "json_extract(meta, '$.flowControlKey')",
}


def message_filter(params: Mapping[str, Sequence[str]]) -> tuple[str, list]:
    where, args = _filters(params, MESSAGE_FILTERS, "created_at")
    for param, pattern in (("host", "%://{}%"), ("path", "%{}%")):
        values = _multi(params, param)
        if values:
            clause = " OR ".join("url LIKE ?" for _ in values)
            where = f"{where + ' AND ' if where else ''}({clause})"
            args += [pattern.format(v) for v in values]
    return where, args
