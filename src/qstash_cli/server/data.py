"""Database jobs for messages, tasks, logs, dedup, DLQ and keys. Each runs as a job of the store (`store.run`)."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

from qstash_cli.server import workflow
from qstash_cli.server.filters import Filters, Params
from qstash_cli.server.ids import dlq_id, new_id, new_signing_key
from qstash_cli.server.logrows import add_log, insert_logs, log_row
from qstash_cli.server.models import PENDING, Delivery, MessageSpec, Outcome, Target, label_column
from qstash_cli.server.store import unguarded
from qstash_cli.server.wire import compact

Conn = sqlite3.Connection
RESPONSE_BODY_LIMIT = 1 << 20
_PENDING_SQL = "('CREATED', 'RETRY', 'ACTIVE')"
FLOW_PREFIX = "flow-control:"  # the due-queue's gate name of a flow-control key


# -- keys -------------------------------------------------------------------------------------------------------


def get_keys(conn: Conn, current: str, nxt: str) -> tuple[str, str]:
    """The stored signing keys, initialised to (current, nxt) on first use."""
    rows = dict(conn.execute("SELECT k, v FROM kv WHERE k IN ('key.current', 'key.next')").fetchall())
    if "key.current" not in rows:
        conn.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", [("key.current", current), ("key.next", nxt)])
        return current, nxt
    return rows["key.current"], rows["key.next"]


def rotate_keys(conn: Conn) -> tuple[str, str]:
    """Next becomes current; a new random next is made."""
    row = conn.execute("SELECT v FROM kv WHERE k = 'key.next'").fetchone()
    current, nxt = row[0], new_signing_key()
    conn.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", [("key.current", current), ("key.next", nxt)])
    return current, nxt


# -- publish ----------------------------------------------------------------------------------------------------

MESSAGE_SQL = (
    "INSERT INTO messages (id, created_at, url, topic_name, queue_name, schedule_id, label, meta, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
TASK_SQL = (
    "INSERT INTO tasks (id, message_id, url, endpoint_id, endpoint_name, queue_name, state, retried, max_retries, "
    "next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'CREATED', 0, ?, ?, ?)"
)


def insert_message(conn: Conn, spec: MessageSpec) -> list[Delivery]:
    """Store a message and one CREATED task per target."""
    return insert_messages(conn, [spec])[0]


def insert_messages(conn: Conn, specs: list[MessageSpec]) -> list[list[Delivery]]:
    """Store messages, each with one CREATED task (and its CREATED log row) per target: one statement per table
    for all of them. Returns each message's deliveries."""
    messages, tasks, logs, out = [], [], [], []
    dumps = json.dumps
    for spec in specs:
        spec.task_ids = []
        messages.append(
            (
                spec.id,
                spec.created_at,
                spec.url,
                spec.topic_name,
                spec.queue_name,
                spec.schedule_id,
                spec.label,
                dumps(spec.meta),
                spec.body,
            )
        )
        deliveries = []
        for target in spec.targets:
            task_id = new_id("tsk")
            spec.task_ids.append(task_id)  # emptied above: the job may run twice (`store.unguarded`)
            tasks.append(
                (
                    task_id,
                    spec.id,
                    target.url,
                    target.endpoint_id,
                    target.endpoint_name,
                    spec.queue_name,
                    spec.max_retries,
                    spec.not_before,
                    spec.created_at,
                )
            )
            d = Delivery(
                task_id=task_id,
                message_id=spec.id,
                url=target.url,
                next_at=spec.not_before,
                retried=0,
                max_retries=spec.max_retries,
                meta=spec.meta,
                body=spec.body,
                queue_name=spec.queue_name,
                topic_name=spec.topic_name,
                endpoint_name=target.endpoint_name,
                schedule_id=spec.schedule_id,
            )
            logs.append(log_row(spec.created_at, "CREATED", d, next_delivery_time=spec.not_before))
            deliveries.append(d)
        out.append(deliveries)
    conn.executemany(MESSAGE_SQL, messages)
    for spec in specs:
        if "wf" in spec.meta:
            workflow.bind(conn, spec.id, spec.meta["wf"], spec.new_run, spec.created_at)
    conn.executemany(TASK_SQL, tasks)
    insert_logs(conn, logs)
    return out


def publish(
    conn: Conn, specs: list[MessageSpec], dedup_key: str | None, expires_at: int, response: Any, now: int
) -> tuple[Any, list[Delivery]]:
    """Store messages unless `dedup_key` was seen within its window: returns (earlier response or None, tasks)."""
    earlier = dedup_lookup(conn, dedup_key, now)
    if earlier is not None:
        return earlier, []
    deliveries = [d for ds in insert_messages(conn, specs) for d in ds]
    dedup_remember(conn, dedup_key, expires_at, response)
    return None, deliveries


def dedup_lookup(conn: Conn, dedup_key: str | None, now: int) -> Any:
    """The response first given for `dedup_key`, while its window lasts; else None."""
    if not dedup_key:
        return None
    row = conn.execute("SELECT response, expires_at FROM dedup WHERE k = ?", (dedup_key,)).fetchone()
    return json.loads(row["response"]) if row is not None and row["expires_at"] > now else None


def dedup_remember(conn: Conn, dedup_key: str | None, expires_at: int, response: Any) -> None:
    """Remember the response given for `dedup_key` until `expires_at`."""
    if dedup_key:
        conn.execute("INSERT OR REPLACE INTO dedup VALUES (?, ?, ?)", (dedup_key, expires_at, json.dumps(response)))


@unguarded
def publish_many(conn: Conn, items: list[tuple[list[MessageSpec], str | None, Any]], expires_at: int, now: int) -> list:
    """`publish` for several requests (a batch, or the lane's publishes of one turn) in one job: those without a
    deduplication id stored with one statement per table, the others one by one, in order."""
    out: list[Any] = [None] * len(items)
    plain = [i for i, (_, key, _) in enumerate(items) if not key]
    if plain:
        stored = iter(insert_messages(conn, [spec for i in plain for spec in items[i][0]]))
        for i in plain:
            out[i] = None, [d for _ in items[i][0] for d in next(stored)]
    for i, (specs, key, response) in enumerate(items):
        if key:
            out[i] = publish(conn, specs, key, expires_at, response, now)
    return out


def prune_dedup(conn: Conn, now: int) -> int:
    """Drop expired dedup ids."""
    return conn.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,)).rowcount


# -- delivery ---------------------------------------------------------------------------------------------------


def pending_page(conn: Conn, after: tuple[int, str], until: int, limit: int) -> list[tuple[int, str, str | None]]:
    """Up to `limit` pending tasks after the key `after` and due by `until`, ordered by (next_at, id), with their gate
    (queue, or flow-control key): one page of the due-queue (a range of the `tasks_pending` index)."""
    rows = conn.execute(
        "SELECT t.next_at, t.id, COALESCE(t.queue_name, ? || json_extract(m.meta, '$.flowControlKey')) "
        f"FROM tasks t JOIN messages m ON m.id = t.message_id WHERE t.state IN {_PENDING_SQL} "
        "AND (t.next_at, t.id) > (?, ?) AND t.next_at <= ? ORDER BY t.next_at, t.id LIMIT ?",
        (FLOW_PREFIX, after[0], after[1], until, limit),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def queue_gates(conn: Conn) -> list[tuple[str, int, bool]]:
    """Every stored queue's (name, parallelism, paused): the engine's gates at start, before any task is read."""
    return [(r[0], r[1], bool(r[2])) for r in conn.execute("SELECT name, parallelism, paused FROM queues")]


def load_delivery(conn: Conn, task_id: str) -> Delivery | None:
    """The delivery for a task that is still pending, else None."""
    row = conn.execute(
        "SELECT t.id, t.message_id, t.url, t.next_at, t.retried, t.max_retries, t.queue_name, t.endpoint_name, "
        "m.meta, m.body, m.topic_name, m.schedule_id FROM tasks t JOIN messages m ON m.id = t.message_id "
        f"WHERE t.id = ? AND t.state IN {_PENDING_SQL}",
        (task_id,),
    ).fetchone()
    return Delivery.from_rows(row, row) if row is not None else None


@unguarded
def mark_active(conn: Conn, d: Delivery, at: int) -> None:
    """An attempt started."""
    cur = conn.execute("UPDATE tasks SET state = 'ACTIVE' WHERE id = ? AND state IN ('CREATED', 'RETRY')", (d.task_id,))
    if cur.rowcount:
        add_log(conn, at, "ACTIVE", d)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def callback_body(d: Delivery, o: Outcome, message: Any, dlq: str | None, run: dict | None = None) -> bytes:
    """The JSON payload of a callback or failure callback (API reference C.3)."""
    meta = d.meta
    created = message["created_at"] if message is not None else o.started
    payload: dict[str, Any] = {
        "status": o.status if o.status is not None else 0,
        "header": o.headers,
        "body": _b64(o.body[:RESPONSE_BODY_LIMIT]),
        "retried": d.retried,
        "maxRetries": d.max_retries,
        "sourceMessageId": d.message_id,
        "topicName": d.topic_name or "",
        "endpointName": d.endpoint_name or "",
        "url": d.url,
        "method": meta.get("method", "POST"),
        "sourceHeader": meta.get("header", {}),
        "sourceBody": _b64(d.body),
        "notBefore": str(meta.get("notBefore", created)),
        "createdAt": str(created),
        "scheduleId": d.schedule_id or "",
        "callerIP": meta.get("callerIP", ""),
    }
    if o.error:
        payload["error"] = o.error
    if dlq is not None:
        payload["dlqId"] = dlq
    if run is not None:  # a workflow's failure function (workflow-protocol.md 2.10)
        payload.update(
            url=run["url"],
            sourceBody=_b64(run["initialPayload"]),
            workflowRunId=run["id"],
            workflowCreatedAt=run["created_at"],
        )
    return compact(payload)


def _callback_spec(
    d: Delivery, o: Outcome, message: Any, kind: str, dlq: str | None, now: int, run: dict | None = None
) -> MessageSpec:
    meta = d.meta
    settings = meta.get(kind + "Settings", {})
    header = {"Content-Type": ["application/json"], **meta.get(kind + "Header", {})}
    delay = int(settings.get("delay", 0))
    cb_meta = {
        "method": settings.get("method", "POST"),
        "header": header,
        "timeout": settings.get("timeout", meta.get("timeout")),
        "retryDelayExpression": settings.get("retryDelayExpression"),
        "callerIP": meta.get("callerIP", ""),
        "isCallback": kind,
        "sourceMessageId": d.message_id,
        "api": meta.get("api", "v2"),
        "notBefore": now + delay * 1000,
        "wfFailureOf": run["id"] if run is not None else None,
    }
    if kind == "callback" and meta.get("wf"):  # a context.call result goes back into its run
        cb_meta["wf"] = {"run": meta["wf"]["run"], "kind": "callback"}
    retries = int(settings.get("retries", d.max_retries))
    return MessageSpec(
        id=new_id("msg"),
        created_at=now,
        not_before=now + delay * 1000,
        max_retries=retries,
        meta={k: v for k, v in cb_meta.items() if v is not None},
        body=callback_body(d, o, message, dlq, run),
        targets=[Target(meta[kind])],
    )


@unguarded
def record_attempt(conn: Conn, d: Delivery, o: Outcome, marked: bool = False) -> list[Delivery]:
    """Store an attempt's outcome; returns tasks to schedule (the retry, callback messages). `marked`: the attempt's
    ACTIVE entry is in already (`mark_active`, for an attempt that took a while); else it goes in now. A task no
    longer pending (cancelled meanwhile) stays as it is: nothing is stored."""
    now = o.finished
    ok = o.ok
    error = None if ok else o.error or f"destination responded with status {o.status}"
    if ok:
        change, values = "state = 'DELIVERED', completed_at = ?, error = NULL", (now,)
    elif o.retry_at is not None:
        change = "state = 'RETRY', retried = retried + 1, next_at = ?, last_error_at = ?, error = ?"
        values = (o.retry_at, now, error)
    else:
        change, values = "state = 'FAILED', completed_at = ?, last_error_at = ?, error = ?", (now, now, error)
    cur = conn.execute(f"UPDATE tasks SET {change} WHERE id = ? AND state IN {_PENDING_SQL}", (*values, d.task_id))
    if not cur.rowcount:  # no longer pending (cancelled meanwhile)
        return []
    # the attempt's log rows, in order, go in with one statement
    logs = [] if marked else [log_row(o.started, "ACTIVE", d)]
    follow: list[Delivery] = []
    dlq: str | None = None
    if ok:
        logs.append(log_row(now, "DELIVERED", d, outcome=o))
    else:
        logs.append(log_row(now, "ERROR", d, error=error, outcome=o))
        if o.retry_at is not None:
            logs.append(log_row(now, "RETRY", d, error=error, next_delivery_time=o.retry_at))
            follow.append(
                Delivery(**{**d.__dict__, "retried": d.retried + 1, "next_at": o.retry_at})  # type: ignore[arg-type]
            )
        else:
            logs.append(log_row(now, "FAILED", d, error=error, outcome=o))
            dlq = dlq_id(now)
            conn.execute(
                "INSERT INTO dlq (id, seq, message_id, task_id, created_at, url, topic_name, queue_name, schedule_id, "
                "label, response_status, response_header, response_body, error) "
                "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM dlq), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dlq,
                    d.message_id,
                    d.task_id,
                    now,
                    d.url,
                    d.topic_name,
                    d.queue_name,
                    d.schedule_id,
                    label_column(d.meta),
                    o.status,
                    json.dumps(o.headers),
                    o.body[:RESPONSE_BODY_LIMIT],
                    error,
                ),
            )
    insert_logs(conn, logs)
    if o.retry_at is None and d.meta.get("wfFailureOf"):
        workflow.set_failure_state(conn, d.meta["wfFailureOf"], "CALLBACK_SUCCESS" if ok else "CALLBACK_FAIL")
    wf = d.meta.get("wf")
    run = None
    if dlq is not None and wf and wf["kind"] != "call":  # a third-party call's failure is handed to the workflow
        workflow.fail(conn, wf["run"], dlq, now)
        run = workflow.run_get(conn, wf["run"])
        if run is not None:
            run["initialPayload"] = workflow.initial_payload(conn, wf["run"])
            if d.meta.get("failureCallback"):
                workflow.set_failure_state(conn, wf["run"], "CALLBACK_INPROGRESS")
    kinds = ["callback"] if d.meta.get("callback") and not d.meta.get("isCallback") else []
    if dlq is not None and d.meta.get("failureCallback") and not d.meta.get("isCallback"):
        kinds.append("failureCallback")
    if kinds:
        message = conn.execute("SELECT created_at FROM messages WHERE id = ?", (d.message_id,)).fetchone()
        for kind in kinds:
            failure = kind == "failureCallback"
            spec = _callback_spec(d, o, message, kind, dlq if failure else None, now, run if failure else None)
            follow.extend(insert_message(conn, spec))
    return follow


def skip_delivered(conn: Conn, d: Delivery, now: int) -> None:
    """Complete a task whose endpoint evidently handled an earlier attempt (see `workflow.ADVANCED`)."""
    cur = conn.execute(
        f"UPDATE tasks SET state = 'DELIVERED', completed_at = ? WHERE id = ? AND state IN {_PENDING_SQL}",
        (now, d.task_id),
    )
    if cur.rowcount:
        add_log(
            conn, now, "DELIVERED", d, error="the endpoint handled the previous attempt (it published the next step)"
        )


# -- cancel -----------------------------------------------------------------------------------------------------


def cancel_messages(conn: Conn, message_ids: list[str], now: int) -> tuple[int, list[str]]:
    """Cancel the pending tasks of these messages: (messages cancelled, task ids cancelled)."""
    count, task_ids = 0, []
    for mid in message_ids:
        rows = conn.execute(
            f"SELECT t.*, m.meta, m.body, m.topic_name, m.schedule_id FROM tasks t JOIN messages m "
            f"ON m.id = t.message_id WHERE t.message_id = ? AND t.state IN {_PENDING_SQL}",
            (mid,),
        ).fetchall()
        if not rows:
            continue
        count += 1
        for row in rows:
            d = Delivery.from_rows(row, row)
            conn.execute("UPDATE tasks SET state = 'CANCELLED', completed_at = ? WHERE id = ?", (now, d.task_id))
            add_log(conn, now, "CANCELLED", d)
            task_ids.append(d.task_id)
    return count, task_ids


def pending_message_ids(conn: Conn, filters: Filters, params: Params, limit: int | None) -> list[str]:
    """Ids of messages with a pending task matching the `filters` a route declares."""
    where, args = filters.where(params)
    sql = (
        f"SELECT id FROM messages WHERE id IN (SELECT message_id FROM tasks WHERE state IN {_PENDING_SQL})"
        f"{' AND ' + where if where else ''} ORDER BY created_at"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in conn.execute(sql, args).fetchall()]


def message_exists(conn: Conn, message_id: str) -> bool:
    return conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is not None


def message_hops(conn: Conn, message_id: str) -> int | None:
    """How many publishes deep a chain of this server's own deliveries `message_id` is (None: not a message here)."""
    row = conn.execute("SELECT json_extract(meta, '$.hops') FROM messages WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else int(row[0] or 0)


__all__ = ["PENDING"]
