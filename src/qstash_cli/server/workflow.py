"""Upstash Workflow runs: run state, step history, waiters and notifications (database jobs of the store).

A run is created by a publish carrying `Upstash-Workflow-Init: true` and `Upstash-Workflow-RunId`. Every message
published into the run is bound to it (`wf_messages`). A message's history entry is appended when it is first
delivered, so a delayed step (sleep) enters the history when its time has come, and a delivery carries the history
from entry 0 up to and including its own entry: exactly what the SDKs' parallel-step logic expects
(reference workflow-protocol.md 1.5, 2.3).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qstash_cli.server.parse import BadValue
from qstash_cli.server.wire import compact

Conn = sqlite3.Connection

STARTED, SUCCESS, FAILED, CANCELED = "RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED"
# `delivery_body` for a message whose delivery the endpoint already acted on (it published the run's next step)
# before the attempt's outcome was stored, e.g. the server was killed in between: it is not delivered again.
ADVANCED = b"\0advanced"
ENTRY_CALL_TYPE = {"step": "step", "call": "toCallback", "callback": "fromCallback"}
# Headers of a trigger that apply to every later step message of its run (workflow-protocol.md 1.3).
RUN_WIDE = (
    "upstash-retries",
    "upstash-retry-delay",
    "upstash-flow-control-key",
    "upstash-flow-control-value",
    "upstash-label",
    "upstash-redact-fields",
)
RUN_WIDE_PREFIXES = ("upstash-forward-", "upstash-failure-callback")


def run_wide_headers(bag: Mapping[str, str]) -> dict[str, str]:
    """The part of a trigger's headers that configures the whole run."""
    return {k: v for k, v in bag.items() if k in RUN_WIDE or k.startswith(RUN_WIDE_PREFIXES)}


# -- runs -------------------------------------------------------------------------------------------------------


def _run(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["config"] = json.loads(row["config"] or "{}")
    return out


def run_get(conn: Conn, run_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM wf_runs WHERE id = ?", (run_id,)).fetchone()
    return _run(row) if row is not None else None


def bind(conn: Conn, message_id: str, wf: dict[str, Any], new_run: dict[str, Any] | None, now: int) -> None:
    """Bind a stored message to its run; create the run first when the message is a trigger."""
    if new_run is not None:
        conn.execute("DELETE FROM wf_steps WHERE run_id = ?", (wf["run"],))  # a re-trigger of the same id starts over
        conn.execute(
            "INSERT OR REPLACE INTO wf_runs (id, url, created_at, state, caller_ip, label, flow_control_key, config) "
            "VALUES (?, ?, ?, 'RUN_STARTED', ?, ?, ?, ?)",
            (
                wf["run"],
                new_run["url"],
                new_run.get("createdAt", now),
                new_run.get("callerIp"),
                new_run.get("label"),
                new_run.get("flowControlKey"),
                json.dumps(new_run.get("config", {})),
            ),
        )
    conn.execute(
        "INSERT OR REPLACE INTO wf_messages (message_id, run_id, kind, step_id) VALUES (?, ?, ?, ?)",
        (message_id, wf["run"], wf["kind"], wf.get("step")),
    )
    if wf.get("after"):  # published while that delivery was being handled: the endpoint did its work
        conn.execute("UPDATE wf_messages SET advanced = 1 WHERE message_id = ?", (wf["after"],))


def delivery_body(conn: Conn, run_id: str, message_id: str, kind: str, body: bytes, now: int) -> tuple | None:
    """Append the message's history entry (first delivery only) and return (body to deliver, run row, the step id
    the endpoint will publish next or None); None when the run has ended and the message must not be delivered."""
    run = run_get(conn, run_id)
    if run is None or run["state"] != STARTED:
        return None
    done = conn.execute("SELECT advanced FROM wf_messages WHERE message_id = ?", (message_id,)).fetchone()
    if done is not None and done[0]:
        return ADVANCED, run, None
    row = conn.execute("SELECT seq FROM wf_steps WHERE message_id = ?", (message_id,)).fetchone()
    if row is None:
        seq = conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM wf_steps WHERE run_id = ?", (run_id,)).fetchone()[0]
        conn.execute(
            "INSERT INTO wf_steps (run_id, seq, message_id, call_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, seq, message_id, ENTRY_CALL_TYPE[kind], body, now),
        )
    else:
        seq = row[0]
    if kind != "step":
        return body, run, None
    entries = history(conn, run_id, upto=seq)
    return compact(entries), run, _next_step_id(entries)


def _next_step_id(entries: list[dict[str, str]]) -> int | None:
    """The `stepId` a sequential workflow publishes after this history (one more than the steps it holds); None in
    a parallel section, where several deliveries of one run are handled at once."""
    if len(entries) > 1:
        try:
            last = json.loads(base64.b64decode(entries[-1]["body"]))
        except ValueError:
            return None
        if not isinstance(last, dict) or last.get("targetStep") or int(last.get("concurrent") or 1) != 1:
            return None
    return sum(1 for e in entries if e["callType"] == "step")


def published_step_id(bag: Mapping[str, str], body: bytes) -> int | None:
    """The `stepId` of a sequential step being published (a call says it in its callback headers)."""
    raw = bag.get("upstash-callback-forward-upstash-workflow-stepid")
    if raw is not None:
        concurrent = bag.get("upstash-callback-forward-upstash-workflow-concurrent", "1")
        return int(raw) if raw.isdigit() and concurrent == "1" else None
    if not body.startswith(b"{") or len(body) > 1 << 20:
        return None
    try:
        step = json.loads(body)
    except ValueError:
        return None
    if not isinstance(step, dict) or int(step.get("concurrent") or 1) != 1 or step.get("targetStep"):
        return None
    value = step.get("stepId")
    return value if isinstance(value, int) and value > 0 else None


def history(conn: Conn, run_id: str, upto: int | None = None) -> list[dict[str, str]]:
    """The run's raw history entries `{messageId, body (base64), callType}`, oldest first."""
    sql, args = "SELECT message_id, call_type, body FROM wf_steps WHERE run_id = ?", [run_id]
    if upto is not None:
        sql += " AND seq <= ?"
        args.append(upto)
    rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
    return [
        {"messageId": r["message_id"], "body": base64.b64encode(bytes(r["body"])).decode(), "callType": r["call_type"]}
        for r in rows
    ]


def live_history(conn: Conn, run_id: str) -> list[dict[str, str]] | None:
    """History of a run still going (the lazy fetch); None once it has ended."""
    run = run_get(conn, run_id)
    return history(conn, run_id) if run is not None and run["state"] == STARTED else None


def initial_payload(conn: Conn, run_id: str) -> bytes:
    row = conn.execute("SELECT body FROM wf_steps WHERE run_id = ? AND seq = 0", (run_id,)).fetchone()
    return bytes(row[0]) if row is not None else b""


def pending_messages(conn: Conn, run_id: str, include_active: bool = True) -> list[str]:
    """Ids of the run's messages that still have a task to deliver."""
    states = "('CREATED', 'RETRY', 'ACTIVE')" if include_active else "('CREATED', 'RETRY')"
    rows = conn.execute(
        f"SELECT DISTINCT w.message_id FROM wf_messages w JOIN tasks t ON t.message_id = w.message_id "
        f"WHERE w.run_id = ? AND t.state IN {states}",
        (run_id,),
    ).fetchall()
    return [r[0] for r in rows]


def end(conn: Conn, run_id: str, state: str, response: str | None, now: int) -> dict[str, Any] | None:
    """End a run that is still going (success or cancel); the run as it was, or None when unknown."""
    run = run_get(conn, run_id)
    if run is None:
        return None
    if run["state"] == STARTED:
        conn.execute(
            "UPDATE wf_runs SET state = ?, completed_at = ?, response = ? WHERE id = ?", (state, now, response, run_id)
        )
        conn.execute("DELETE FROM wf_waiters WHERE run_id = ?", (run_id,))
    return run


def fail(conn: Conn, run_id: str, dlq_id: str | None, now: int) -> None:
    """A step of the run failed for good."""
    conn.execute(
        "UPDATE wf_runs SET state = 'RUN_FAILED', completed_at = ?, dlq_id = ? WHERE id = ? AND state = 'RUN_STARTED'",
        (now, dlq_id, run_id),
    )
    conn.execute("DELETE FROM wf_waiters WHERE run_id = ?", (run_id,))


def set_failure_state(conn: Conn, run_id: str, state: str) -> None:
    """Track the failure callback: CALLBACK_INPROGRESS → CALLBACK_SUCCESS | CALLBACK_FAIL."""
    conn.execute("UPDATE wf_runs SET failure_state = ? WHERE id = ?", (state, run_id))


def earlier_step(conn: Conn, run_id: str, kind: str, step_id: int) -> str | None:
    """The message already published for this step of the run (not cancelled), if any: a publish of the same
    step again — a client retrying across a restart, a repeated delivery — is a duplicate, not a second step."""
    row = conn.execute(
        "SELECT w.message_id FROM wf_messages w WHERE w.run_id = ? AND w.kind = ? AND w.step_id = ? AND EXISTS "
        "(SELECT 1 FROM tasks t WHERE t.message_id = w.message_id AND t.state != 'CANCELLED') LIMIT 1",
        (run_id, kind, step_id),
    ).fetchone()
    return row[0] if row is not None else None


def binding_of(conn: Conn, message_id: str) -> tuple[str, str] | None:
    row = conn.execute("SELECT run_id, kind FROM wf_messages WHERE message_id = ?", (message_id,)).fetchone()
    return (row[0], row[1]) if row is not None else None


# -- waiters and notifications ---------------------------------------------------------------------------------


def waiter_add(conn: Conn, event_id: str, run_id: str, waiter: dict[str, Any], timeout_message: str | None) -> None:
    conn.execute(
        "INSERT INTO wf_waiters (event_id, run_id, waiter, timeout_message_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (event_id, run_id, json.dumps(waiter), timeout_message, waiter.get("createdAt", 0)),
    )


def waiters(conn: Conn, event_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM wf_waiters WHERE event_id = ?", [event_id]
    if run_id is not None:
        sql += " AND run_id = ?"
        args.append(run_id)
    rows = conn.execute(sql + " ORDER BY id", args).fetchall()
    return [
        {**json.loads(r["waiter"]), "_id": r["id"], "_run": r["run_id"], "_timeout": r["timeout_message_id"]}
        for r in rows
    ]


def waiter_remove(conn: Conn, waiter_id: int) -> bool:
    return conn.execute("DELETE FROM wf_waiters WHERE id = ?", (waiter_id,)).rowcount > 0


def notification_keep(conn: Conn, run_id: str, event_id: str, data: bytes, now: int) -> None:
    """A run-scoped notify that found no waiter: kept for the run's next wait on that event (lookback)."""
    conn.execute(
        "INSERT INTO wf_notifications (run_id, event_id, data, created_at) VALUES (?, ?, ?, ?)",
        (run_id, event_id, data, now),
    )


def notification_take(conn: Conn, run_id: str, event_id: str) -> bytes | None:
    row = conn.execute(
        "SELECT id, data FROM wf_notifications WHERE run_id = ? AND event_id = ? ORDER BY id LIMIT 1",
        (run_id, event_id),
    ).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM wf_notifications WHERE id = ?", (row["id"],))
    return bytes(row["data"])


# -- admission of a publish into a run -----------------------------------------------------------------------------


@dataclass
class Admission:
    """What a publish carrying `Upstash-Workflow-RunId` means for its run."""

    bag: dict[str, str]  # the publish headers, with the run-wide settings of the trigger filled in
    wf: dict[str, str]  # stored on the message: {"run": id, "kind": "step" | "call"[, "after": message id]}
    new_run: dict[str, Any] | None = None  # a trigger: the run to create
    duplicate: bool = False  # a trigger for a run id that exists already
    body: bytes | None = None  # what the run starts from, when not the publish's body (an invoke's payload)


INVOKER_KEYS = ("workflowRunId", "workflowRunCreatedAt", "workflowUrl", "headers", "step")


def _invoke_request(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body)
    except ValueError:
        request = None
    if not isinstance(request, dict) or not isinstance(request.get("step"), dict):
        raise BadValue("an Upstash-Workflow-Invoke publish needs a JSON body {body, headers, workflowRunId, step, …}")
    return request


def invoke_result(run: dict[str, Any]) -> tuple[str, dict[str, str], bytes] | None:
    """For an invoked run that has ended: (invoker URL, headers, result step) to publish into the invoker's run."""
    invoker = run["config"].get("invoker")
    if not invoker or run["state"] == STARTED or not invoker.get("workflowUrl"):
        return None
    out: dict[str, Any] = {"isFailed": run["state"] == FAILED, "isCanceled": run["state"] == CANCELED}
    if run["state"] == SUCCESS:
        out["body"] = run["response"] or ""
    step = {**invoker["step"], "out": json.dumps(out, separators=(",", ":"))}
    return invoker["workflowUrl"], step_bag(invoker.get("headers") or {}), compact(step)


def step_bag(headers: Mapping[str, Any]) -> dict[str, str]:
    """Publish headers from a map of header → value or list of values, as the SDKs hand step headers to the server
    (a wait's timeout headers, an invoker's headers); the first value wins."""
    bag: dict[str, str] = {}
    for name, value in headers.items():
        text = value[0] if isinstance(value, list) and value else value
        if isinstance(text, str):
            bag.setdefault(str(name).lower(), text)
    return bag


def claim_report(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """The ended run, once: a second call (a retried end) gets None, so the invoker hears of it only once."""
    cur = conn.execute(
        "UPDATE wf_runs SET config = json_set(config, '$.reported', 1) WHERE id = ? AND state != 'RUN_STARTED' "
        "AND json_extract(config, '$.invoker') IS NOT NULL AND json_extract(config, '$.reported') IS NULL",
        (run_id,),
    )
    return run_get(conn, run_id) if cur.rowcount else None


def admit(
    bag: dict[str, str], run: dict[str, Any] | None, destination: str, body: bytes, *, now: int, caller_ip: str
) -> Admission:
    """Decide how a workflow publish joins its run (workflow-protocol.md 1.2, 1.3); BadValue (400) for a step
    published into a run that has ended, was cancelled or never started."""
    run_id = bag["upstash-workflow-runid"]
    init = bag.get("upstash-workflow-init", "").strip().lower() == "true"
    kind = "call" if bag.get("upstash-workflow-calltype", "").strip().lower() == "tocallback" else "step"
    wf = {"run": run_id, "kind": kind}
    if init:
        by_sdk = bag.get("upstash-workflow-trigger-by-sdk", "").strip().lower() == "true"
        if run is not None and not by_sdk:
            return Admission(bag, wf, duplicate=True)
        if "WF_DetectTrigger" in bag.get("upstash-feature-set", ""):
            wf["detect"] = "true"
        if bag.get("upstash-workflow-unknown-sdk") == "true":
            wf["unknownSdk"] = "true"
        labels = [x.strip() for x in bag.get("upstash-label", "").split(",") if x.strip()]
        new_run = {
            "url": bag.get("upstash-workflow-url") or destination,
            "createdAt": now,
            "callerIp": caller_ip,
            "label": labels[0] if labels else None,
            "flowControlKey": bag.get("upstash-flow-control-key") or None,
            "config": {
                "headers": run_wide_headers(bag),
                "featureSet": bag.get("upstash-feature-set", ""),
                "labels": labels,
            },
        }
        if bag.get("upstash-workflow-invoke", "").strip().lower() == "true":  # context.invoke (2.8)
            request = _invoke_request(body)
            new_run["config"]["invoker"] = {k: request.get(k) for k in INVOKER_KEYS}
            return Admission(bag, wf, new_run=new_run, body=str(request.get("body") or "").encode())
        return Admission(bag, wf, new_run=new_run)
    if run is None or run["state"] != STARTED:
        state = "unknown" if run is None else run["state"]
        raise BadValue(f"workflow run {run_id!r} is not running ({state}): a step cannot be added to it")
    if kind == "call":  # a third-party call carries its own settings; the run's user headers are not for it
        return Admission(bag, wf)
    return Admission({**run["config"].get("headers", {}), **bag}, wf)
