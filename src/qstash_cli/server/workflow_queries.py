"""Read jobs over workflow runs: the filtered, paginated run listing and each run's steps and pending deliveries."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

Conn = sqlite3.Connection
Params = Mapping[str, Sequence[str]]


def _values(params: Params, name: str) -> list[str]:
    return [v.strip() for raw in params.get(name, []) for v in raw.split(",") if v.strip()]


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"invalid {name} {value!r}: want an integer") from None


def run_filter(params: Params) -> tuple[str, list[Any]]:
    """SQL over `wf_runs` for the documented run filters (OR within one filter, AND across filters)."""
    clauses: list[str] = []
    args: list[Any] = []

    def any_of(column: str, values: list[str]) -> None:
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)

    any_of("id", _values(params, "workflowRunId") + _values(params, "workflowRunIds"))
    any_of("state", [v.upper() for v in _values(params, "state")])
    any_of("caller_ip", _values(params, "callerIp"))
    any_of("flow_control_key", _values(params, "flowControlKey"))
    labels = _values(params, "label")
    if labels:
        clauses.append(
            "("
            + " OR ".join(
                "EXISTS (SELECT 1 FROM json_each(json_extract(config, '$.labels')) WHERE value = ?)" for _ in labels
            )
            + ")"
        )
        args.extend(labels)
    urls = _values(params, "workflowUrl")
    if urls:
        exact = (params.get("workflowUrlExactMatch") or ["false"])[0].lower() == "true"
        clauses.append("(" + " OR ".join("url = ?" if exact else "substr(url, 1, ?) = ?" for _ in urls) + ")")
        for url in urls:
            args.extend([url] if exact else [len(url), url])
    created = _values(params, "workflowCreatedAt")
    if created:
        any_of("created_at", [str(_int(v, "workflowCreatedAt")) for v in created])
    for name, op in (("fromDate", ">="), ("toDate", "<=")):
        values = _values(params, name)
        if values:
            clauses.append(f"created_at {op} ?")
            args.append(_int(values[0], name))
    message_ids = _values(params, "messageId")
    if message_ids:
        clauses.append(
            f"id IN (SELECT run_id FROM wf_messages WHERE message_id IN ({','.join('?' * len(message_ids))}))"
        )
        args.extend(message_ids)
    return " AND ".join(clauses), args


def runs_page(conn: Conn, params: Params, default_count: int = 10) -> tuple[list[dict[str, Any]], str]:
    """Newest runs first, after the `cursor`; (runs with their steps, next cursor or "")."""
    where, args = run_filter(params)
    count = min(max(_int((params.get("count") or [str(default_count)])[0], "count"), 1), 1000)
    cursor = (params.get("cursor") or [""])[0]
    if cursor:
        where = f"{where + ' AND ' if where else ''}rowid < ?"
        args.append(_int(cursor, "cursor"))
    rows = conn.execute(
        f"SELECT rowid AS _row, * FROM wf_runs {'WHERE ' + where if where else ''} ORDER BY rowid DESC LIMIT ?",
        [*args, count + 1],
    ).fetchall()
    more = len(rows) > count
    rows = rows[:count]
    return [run_detail(conn, r) for r in rows], (str(rows[-1]["_row"]) if more and rows else "")


def run_ids(conn: Conn, params: Params, limit: int | None) -> list[str]:
    """Ids of running runs matching the filters (bulk cancel)."""
    where, args = run_filter(params)
    sql = f"SELECT id FROM wf_runs WHERE state = 'RUN_STARTED'{' AND ' + where if where else ''} ORDER BY rowid"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in conn.execute(sql, args).fetchall()]


def run_detail(conn: Conn, row: Any) -> dict[str, Any]:
    """A run with its history entries and its pending (or failed) deliveries."""
    run = dict(row)
    run["config"] = json.loads(row["config"] or "{}")
    run["entries"] = [
        dict(r)
        for r in conn.execute(
            "SELECT s.seq, s.message_id, s.call_type, s.body, s.created_at, m.url, "
            "json_extract(m.meta, '$.method') AS method FROM wf_steps s LEFT JOIN messages m ON m.id = s.message_id "
            "WHERE s.run_id = ? ORDER BY s.seq",
            (row["id"],),
        ).fetchall()
    ]
    run["pending"] = [
        {**dict(t), "errors": _errors(conn, t["message_id"], t["id"])}
        for t in conn.execute(
            "SELECT t.* FROM wf_messages w JOIN tasks t ON t.message_id = w.message_id "
            "WHERE w.run_id = ? AND w.kind != 'call' AND t.state IN ('CREATED', 'RETRY', 'ACTIVE', 'FAILED') "
            "ORDER BY t.created_at",
            (row["id"],),
        ).fetchall()
        if t["state"] != "FAILED" or row["state"] == "RUN_FAILED"
    ]
    return run


def _errors(conn: Conn, message_id: str, task_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT time, error, response_status, response_header, response_body FROM logs "
        "WHERE message_id = ? AND task_id = ? AND state = 'ERROR' ORDER BY seq",
        (message_id, task_id),
    ).fetchall()
    return [
        {
            "error": r["error"] or "",
            "status": r["response_status"] or 0,
            "headers": json.loads(r["response_header"] or "{}"),
            "body": base64.b64decode(r["response_body"]).decode("utf-8", "replace") if r["response_body"] else "",
            "time": r["time"],
        }
        for r in rows
    ]
