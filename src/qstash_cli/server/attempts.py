"""A message as the console's message page shows it: settings, every delivery attempt (the request as sent, its
signature and the verdict a receiver would have reached, the response), the retry schedule, callbacks and events.

Read jobs (they take the connection), run on the store's reader connection; delivered messages are included, unlike
`GET /v2/messages/{id}`, which only knows messages still pending.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

from qstash_cli.server import redact
from qstash_cli.server.catalog import NotFound
from qstash_cli.server.models import PENDING
from qstash_cli.server.shapes import clean, message_v2
from qstash_cli.signing import verify

Conn = sqlite3.Connection
ATTEMPT_STATES = ("DELIVERED", "ERROR")


def _text(data: bytes) -> dict[str, str]:
    """`{"text": ...}` for UTF-8 bytes, else `{"base64": ...}`."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def signature_verdict(headers: list[list[str]], body: bytes, url: str, at_ms: int, keys: dict[str, str]) -> dict:
    """Check the attempt's `Upstash-Signature` as its receiver would have at the time it was sent, against the keys in
    force now (a key rotated out since then no longer matches: the verdict says so)."""
    token = next((v for k, v in headers if k.lower() == "upstash-signature"), None)
    if token is None:
        return {"valid": False, "reason": "no Upstash-Signature header"}
    result = verify(token, body, list(keys.items()), url=url, now=at_ms // 1000)
    checks = [{"key": c.name, "ok": c.ok, "failure": c.failure, "detail": c.detail} for c in result.checks]
    reason = next((f"valid with the {c['key']} key" for c in checks if c["ok"]), None)
    if reason is None:
        reason = "; ".join(f"{c['key']} key: {c['detail']}" for c in checks)
    return {"valid": result.valid, "reason": reason, "claims": result.claims, "checks": checks}


def _shown(meta: dict[str, Any], sent: list[list[str]]) -> list[list[str]]:
    """The headers as sent, the message's own (forwarded) ones under its `Upstash-Redact-Fields`."""
    own = {name.lower() for name in meta.get("header", {})}
    return [[k, redact.header(meta, {k: [v]})[k][0] if k.lower() in own else v] for k, v in sent]


def _attempts(rows: list[Any], message: Any, meta: dict[str, Any], keys: dict[str, str]) -> list[dict[str, Any]]:
    started: dict[str, int] = {}
    numbers: dict[str, int] = {}
    body = bytes(message["body"])
    shown_body = _text(redact.body(meta, body))
    out = []
    for r in rows:
        task = r["task_id"]
        if r["state"] == "ACTIVE":
            started[task] = r["time"]
            continue
        if r["state"] not in ATTEMPT_STATES:
            continue
        numbers[task] = numbers.get(task, 0) + 1
        begin = started.pop(task, r["time"])
        sent = json.loads(r["request_header"]) if r["request_header"] else None
        response = None
        if r["response_status"] is not None:
            response = {
                "status": r["response_status"],
                "headers": json.loads(r["response_header"] or "{}"),
                "body": _text(base64.b64decode(r["response_body"] or "")),
            }
        attempt = {
            "taskId": task,
            "number": numbers[task],
            "url": r["url"],
            "state": r["state"],
            "started": begin,
            "finished": r["time"],
            "durationMs": r["time"] - begin,
            "error": r["error"],
            "request": {
                "method": meta.get("method", "POST"),
                "url": r["url"],
                "headers": _shown(meta, sent) if sent is not None else None,
                "body": shown_body,
            },
            "response": response,
        }
        if sent is not None:  # checked against the original body, as the receiver did
            attempt["signature"] = signature_verdict(sent, body, r["url"], begin, keys)
        out.append(attempt)
    return out


def _retries(rows: list[Any], tasks: list[Any]) -> list[dict[str, Any]]:
    out = [
        {"taskId": r["task_id"], "scheduledAt": r["time"], "at": r["next_delivery_time"], "error": r["error"]}
        for r in rows
        if r["state"] == "RETRY"
    ]
    for t in tasks:
        if t["state"] in PENDING:
            left = t["max_retries"] - t["retried"]
            out.append({"taskId": t["id"], "at": t["next_at"], "next": True, "retriesLeft": left})
    return out


def _task(t: Any) -> dict[str, Any]:
    pending = t["state"] in PENDING
    return clean(
        {
            "taskId": t["id"],
            "url": t["url"],
            "endpointName": t["endpoint_name"],
            "state": t["state"],
            "retried": t["retried"],
            "maxRetries": t["max_retries"],
            "createdAt": t["created_at"],
            "completedAt": t["completed_at"],
            "nextAt": t["next_at"] if pending else None,
            "error": t["error"],
        }
    )


def _event(r: Any) -> dict[str, Any]:
    return clean(
        {
            "time": r["time"],
            "state": r["state"],
            "taskId": r["task_id"],
            "url": r["url"],
            "nextScheduledAt": r["next_delivery_time"] if r["state"] in ("CREATED", "RETRY") else None,
            "error": r["error"],
            "responseStatus": r["response_status"],
        }
    )


def message_detail(conn: Conn, message_id: str, keys: dict[str, str]) -> dict[str, Any]:
    """Everything the store keeps about one message (also once delivered, failed or cancelled)."""
    m = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if m is None:
        raise NotFound(f"message {message_id!r} not found")
    meta = json.loads(m["meta"])
    tasks = conn.execute("SELECT * FROM tasks WHERE message_id = ? ORDER BY created_at, id", (message_id,)).fetchall()
    rows = conn.execute("SELECT * FROM logs WHERE message_id = ? ORDER BY seq", (message_id,)).fetchall()
    callbacks = conn.execute(
        "SELECT m.id, m.created_at, m.url, json_extract(m.meta, '$.isCallback') AS kind, "
        "(SELECT state FROM tasks t WHERE t.message_id = m.id LIMIT 1) AS state FROM messages m "
        "WHERE m.created_at >= ? AND json_extract(m.meta, '$.sourceMessageId') = ? ORDER BY m.created_at",
        (m["created_at"], message_id),
    ).fetchall()
    dlq = conn.execute("SELECT id FROM dlq WHERE message_id = ? ORDER BY seq", (message_id,)).fetchall()
    pending = any(t["state"] in PENDING for t in tasks)
    return {
        "message": {**message_v2(m, tasks[0] if tasks else None), "pending": pending},
        "source": {"messageId": meta["sourceMessageId"], "kind": meta.get("isCallback")}
        if meta.get("sourceMessageId")
        else None,
        "tasks": [_task(t) for t in tasks],
        "attempts": _attempts(rows, m, meta, keys),
        "retries": _retries(rows, tasks),
        "callbacks": [
            {
                "messageId": c["id"],
                "kind": c["kind"],
                "url": c["url"],
                "createdAt": c["created_at"],
                "state": c["state"],
            }
            for c in callbacks
        ],
        "dlqIds": [r["id"] for r in dlq],
        "events": [_event(r) for r in rows],
    }
