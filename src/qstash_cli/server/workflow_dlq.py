"""Failed workflow runs in the DLQ: the listing with its filters, the entry shape, and the copy of a run that a
resume or restart starts from (database jobs; workflow-protocol.md 3.3)."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from qstash_cli.server import data, workflow
from qstash_cli.server.catalog import NotFound
from qstash_cli.server.ids import new_id
from qstash_cli.server.models import MessageSpec, Target

Conn = sqlite3.Connection
Params = Mapping[str, Sequence[str]]
FILTERS = frozenset(
    {"fromDate", "toDate", "workflowUrl", "workflowRunId", "workflowCreatedAt", "label", "failureFunctionState",
     "callerIp", "flowControlKey", "url", "responseStatus", "dlqIds", "source"}
)  # fmt: skip
PAGING = frozenset({"cursor", "count", "qstash_token"})
_JOIN = "FROM dlq d JOIN wf_messages w ON w.message_id = d.message_id JOIN wf_runs r ON r.id = w.run_id"


def _values(params: Params, name: str) -> list[str]:
    return [v.strip() for raw in params.get(name, []) for v in raw.split(",") if v.strip()]


def _where(params: Params) -> tuple[str, list[Any]]:
    ids = _values(params, "dlqIds")
    if ids:  # ids select alone
        return f"d.id IN ({','.join('?' * len(ids))})", ids
    clauses: list[str] = []
    args: list[Any] = []
    columns = {
        "workflowRunId": "r.id", "workflowUrl": "r.url", "workflowCreatedAt": "r.created_at", "url": "d.url",
        "responseStatus": "d.response_status", "callerIp": "r.caller_ip", "flowControlKey": "r.flow_control_key",
        "failureFunctionState": "r.failure_state",
    }  # fmt: skip
    for name, column in columns.items():
        found = _values(params, name)
        if found:
            clauses.append(f"{column} IN ({','.join('?' * len(found))})")
            args += found
    labels = _values(params, "label")
    if labels:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(json_extract(r.config, '$.labels')) "
            f"WHERE value IN ({','.join('?' * len(labels))}))"
        )
        args += labels
    for name, op in (("fromDate", ">="), ("toDate", "<=")):
        found = _values(params, name)
        if found:
            if not found[0].isdigit():
                raise ValueError(f"invalid {name} {found[0]!r}: want an integer")
            clauses.append(f"d.created_at {op} ?")
            args.append(int(found[0]))
    return " AND ".join(clauses), args


def check(params: Params) -> Params:
    """The query of a workflow DLQ route; ValueError naming a parameter it does not declare."""
    for name, given in params.items():
        if name not in FILTERS | PAGING:
            raise ValueError(f"unknown filter: {name}")
        if name in FILTERS and not any(v.strip(" ,") for v in given):  # `label=` must not mean "no filter"
            raise ValueError(f"empty filter: {name} (give a value, or leave the parameter out)")
    return params


def page(conn: Conn, params: Params, default_count: int = 100) -> tuple[list[dict[str, Any]], str]:
    """Newest failed runs first: (entries, next cursor or "")."""
    where, args = _where(check(params))
    raw = (params.get("count") or [str(default_count)])[0]
    if not raw.isdigit():
        raise ValueError(f"invalid count {raw!r}: want an integer")
    count = min(max(int(raw), 1), 100)
    cursor = (params.get("cursor") or [""])[0]
    if cursor:
        if not cursor.rsplit("-", 1)[-1].isdigit():
            raise ValueError(f"invalid cursor {cursor!r}")
        where = f"{where + ' AND ' if where else ''}d.seq < ?"
        args.append(int(cursor.rsplit("-", 1)[-1]))
    rows = conn.execute(
        f"SELECT d.id AS dlq_id, d.seq AS dlq_seq, r.id AS run_id {_JOIN} {'WHERE ' + where if where else ''} "
        "ORDER BY d.seq DESC LIMIT ?",
        [*args, count + 1],
    ).fetchall()
    more = len(rows) > count
    rows = rows[:count]
    return [entry(conn, r["dlq_id"]) for r in rows], (str(rows[-1]["dlq_seq"]) if more and rows else "")


def entry(conn: Conn, dlq_id: str) -> dict[str, Any]:
    """One failed run's DLQ entry, in the shape the workflow clients read."""
    row = conn.execute(f"SELECT d.*, r.id AS run_id {_JOIN} WHERE d.id = ?", (dlq_id,)).fetchone()
    if row is None:
        raise NotFound(f"workflow dlq entry {dlq_id!r} not found")
    run = workflow.run_get(conn, row["run_id"])
    message = conn.execute("SELECT * FROM messages WHERE id = ?", (row["message_id"],)).fetchone()
    task = conn.execute("SELECT max_retries FROM tasks WHERE id = ?", (row["task_id"],)).fetchone()
    meta = json.loads(message["meta"]) if message is not None else {}
    labels = run["config"].get("labels") or []
    body = bytes(message["body"]) if message is not None else b""
    response = bytes(row["response_body"] or b"")
    out: dict[str, Any] = {
        "dlqId": row["id"],
        "messageId": row["message_id"],
        "workflowRunId": run["id"],
        "workflowUrl": run["url"],
        "workflowCreatedAt": run["created_at"],
        "url": row["url"] or run["url"],
        "method": meta.get("method", "POST"),
        "header": meta.get("header", {}),
        "maxRetries": task["max_retries"] if task is not None else 0,
        "notBefore": meta.get("notBefore", row["created_at"]),
        "createdAt": row["created_at"],
        "callerIP": run["caller_ip"] or "",
        "responseStatus": row["response_status"] or 0,
        "responseHeader": json.loads(row["response_header"] or "{}"),
    }
    for key, raw in (("body", body), ("responseBody", response)):
        try:
            out[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            out[key + "Base64"] = base64.b64encode(raw).decode()
    if meta.get("failureCallback"):
        out["failureCallback"] = meta["failureCallback"]
    if run["failure_state"]:
        out["failureFunctionState"] = run["failure_state"]
        out["failureCallbackInfo"] = {"state": run["failure_state"]}
    if labels:
        out["label"], out["labels"] = labels[0], labels
    if run["flow_control_key"]:
        out["flowControlKey"] = run["flow_control_key"]
    return out


def ids(conn: Conn, params: Params, limit: int) -> tuple[list[str], str]:
    """DLQ ids a bulk resume / restart / delete acts on (one page), and the cursor to the rest."""
    entries, cursor = page(conn, params, default_count=limit)
    return [e["dlqId"] for e in entries], cursor


def delete(conn: Conn, dlq_ids: list[str]) -> int:
    return sum(conn.execute("DELETE FROM dlq WHERE id = ?", (i,)).rowcount for i in dlq_ids)


def copy_run(conn: Conn, dlq_id: str, new_id: str, now: int, resume: bool) -> dict[str, Any]:
    """Start run `new_id` from a failed one: a resume keeps the history before the failed step, a restart only the
    initial payload. Returns the failed run and message for the caller to publish again; the entry leaves the DLQ."""
    row = conn.execute(f"SELECT d.*, r.id AS run_id, w.kind {_JOIN} WHERE d.id = ?", (dlq_id,)).fetchone()
    if row is None:
        raise NotFound(f"workflow dlq entry {dlq_id!r} not found")
    run = workflow.run_get(conn, row["run_id"])
    message = conn.execute("SELECT * FROM messages WHERE id = ?", (row["message_id"],)).fetchone()
    failed = conn.execute("SELECT seq FROM wf_steps WHERE message_id = ?", (row["message_id"],)).fetchone()
    if resume:  # the new run holds the history before the failed step; that step is published into it again
        keep = failed[0] - 1 if failed is not None else 10**9
        conn.execute(
            "INSERT INTO wf_runs (id, url, created_at, state, caller_ip, label, flow_control_key, config) "
            "VALUES (?, ?, ?, 'RUN_STARTED', ?, ?, ?, ?)",
            (
                new_id,
                run["url"],
                now,
                run["caller_ip"],
                run["label"],
                run["flow_control_key"],
                json.dumps(run["config"]),
            ),
        )
        conn.execute(
            "INSERT INTO wf_steps (run_id, seq, message_id, call_type, body, created_at) "
            "SELECT ?, seq, message_id || ':' || ?, call_type, body, created_at FROM wf_steps "
            "WHERE run_id = ? AND seq <= ?",
            (new_id, new_id, run["id"], keep),
        )
    conn.execute("DELETE FROM dlq WHERE id = ?", (dlq_id,))
    return {
        "run": run,
        "meta": json.loads(message["meta"]) if message is not None else {},
        "body": bytes(message["body"]) if message is not None else b"",
        "initial": workflow.initial_payload(conn, run["id"]),
    }


def retry_failure_callback(conn: Conn, dlq_id: str, now: int) -> tuple[str, list]:
    """Send a failed run's failure callback again: (run id, deliveries); ValueError when there is none to retry."""
    row = conn.execute(f"SELECT r.id AS run_id, r.failure_state {_JOIN} WHERE d.id = ?", (dlq_id,)).fetchone()
    if row is None:
        raise NotFound(f"workflow dlq entry {dlq_id!r} not found")
    if row["failure_state"] != "CALLBACK_FAIL":
        raise ValueError(f"the failure callback of this run is {row['failure_state'] or 'not configured'}")
    message = conn.execute(
        "SELECT * FROM messages WHERE json_extract(meta, '$.wfFailureOf') = ? ORDER BY created_at DESC LIMIT 1",
        (row["run_id"],),
    ).fetchone()
    if message is None:
        raise ValueError("this run has no failure callback")
    workflow.set_failure_state(conn, row["run_id"], "CALLBACK_INPROGRESS")
    task = conn.execute("SELECT max_retries FROM tasks WHERE message_id = ?", (message["id"],)).fetchone()
    spec = MessageSpec(
        id=new_id("msg"),
        created_at=now,
        not_before=now,
        max_retries=task["max_retries"] if task is not None else 3,
        meta={**json.loads(message["meta"]), "notBefore": now},
        body=bytes(message["body"]),
        targets=[Target(message["url"])],
    )
    return row["run_id"], data.insert_message(conn, spec)
