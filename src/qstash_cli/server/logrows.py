"""The `logs` table's rows: one per state change of a task (CREATED, ACTIVE, DELIVERED, ERROR, RETRY, FAILED,
CANCELLED), written by the database jobs of `data`."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

from qstash_cli.server.models import Delivery, Outcome, label_column

_dumps = json.JSONEncoder(check_circular=False).encode  # json.dumps for header lists, without a new encoder a call
LOG_SQL = (
    "INSERT INTO logs (time, message_id, task_id, state, error, next_delivery_time, url, topic_name, endpoint_name, "
    "schedule_id, queue_name, label, response_status, response_header, response_body, request_header) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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
    conn.execute(LOG_SQL, log_row(time, state, d, **details))
