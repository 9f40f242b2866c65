"""The `logs` table's rows: one per state change of a task (CREATED, ACTIVE, DELIVERED, ERROR, RETRY, FAILED,
CANCELLED), written by the database jobs of `data`."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

from qstash_cli.server.models import Delivery, Outcome, label_column

_dumps = json.JSONEncoder(check_circular=False).encode  # json.dumps for header lists, without a new encoder a call
_COLUMNS = (
    "time, message_id, task_id, state, error, next_delivery_time, url, topic_name, endpoint_name, schedule_id, "
    "queue_name, label, response_status, response_header, response_body, request_header"
)
LOG_SQL = f"INSERT INTO logs ({_COLUMNS}) VALUES ({', '.join('?' * 16)})"  # a row of `log_row`, seq by SQLite
_SEQ_SQL = f"INSERT INTO logs (seq, {_COLUMNS}) VALUES ({', '.join('?' * 17)})"  # seq given: `SeqConnection`
SEQ_KEY = "logs.seq"  # kv: the largest seq given before a prune deleted the newest rows


class SeqConnection(sqlite3.Connection):
    """The store's writer connection: it numbers the log rows itself (`last_seq`, the largest seq given), so the
    `logs` table needs no AUTOINCREMENT — SQLite's one extra write (to `sqlite_sequence`) per row — and a seq is
    still never given twice, also after retention pruned the newest rows (`remember_seq`, `start_seq`)."""

    last_seq = 0


def start_seq(conn: SeqConnection) -> None:
    """Continue after the largest seq the data file holds or remembers."""
    top = conn.execute("SELECT MAX(seq) FROM logs").fetchone()[0] or 0
    kept = conn.execute("SELECT v FROM kv WHERE k = ?", (SEQ_KEY,)).fetchone()
    conn.last_seq = max(top, int(kept[0]) if kept else 0)


def remember_seq(conn: sqlite3.Connection) -> None:
    """Before deleting log rows: keep the largest seq given in `kv`, for `start_seq` after a restart."""
    last = getattr(conn, "last_seq", None) or conn.execute("SELECT MAX(seq) FROM logs").fetchone()[0]
    if last:
        conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (SEQ_KEY, str(last)))


def insert_logs(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Append `log_row` rows, in order: numbered by a `SeqConnection`, else by SQLite (max seq + 1)."""
    if not isinstance(conn, SeqConnection):
        conn.executemany(LOG_SQL, rows)
        return
    first = conn.last_seq + 1
    conn.last_seq += len(rows)
    conn.executemany(_SEQ_SQL, [(seq, *row) for seq, row in enumerate(rows, first)])


def log_row(
    time: int,
    state: str,
    d: Delivery,
    *,
    error: str | None = None,
    next_delivery_time: int | None = None,
    outcome: Outcome | None = None,
) -> tuple:
    """The `logs` row (for LOG_SQL) of one state change of a task; an attempt's row (DELIVERED, ERROR) keeps the
    request headers as sent and the response."""
    status = header = body = sent = None
    if outcome is not None and outcome.status is not None:
        status = outcome.status
        header = _dumps(outcome.headers)
        body = base64.b64encode(outcome.body[:4096]).decode()
    if outcome is not None and outcome.request_headers is not None and state in ("DELIVERED", "ERROR"):
        sent = _dumps(outcome.request_headers)
    return (
        time,
        d.message_id,
        d.task_id,
        state,
        error,
        next_delivery_time,
        d.url,
        d.topic_name,
        d.endpoint_name,
        d.schedule_id,
        d.queue_name,
        label_column(d.meta),
        status,
        header,
        body,
        sent,
    )


def add_log(conn: sqlite3.Connection, time: int, state: str, d: Delivery, **details: Any) -> None:
    """Append one state change of a task to the log (`log_row`'s fields)."""
    insert_logs(conn, [log_row(time, state, d, **details)])
