"""How Upstash Workflow runs read in a terminal: one row per step of a run (its `next` group as pending rows), a
readable detail per step kind (sleep, call, wait, invoke), and the run/step note `qstash logs` adds to an entry that
belongs to a workflow. Standard library only: `qstash logs` imports it at start-up."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

OUT_WIDTH = 60  # characters of a step's `out` shown in a listing (--json has it whole)
RUN_ID_HEADER = "upstash-workflow-runid"  # sent as Upstash-Workflow-RunId and Upstash-Workflow-Runid
STEP_TYPES = (
    "Initial",
    "Run",
    "SleepFor",
    "SleepUntil",
    "Call",
    "Wait",
    "Notify",
    "Invoke",
    "CreateWebhook",
    "WaitForWebhook",
)  # the stepType values of both SDKs


def shorten(value: Any, width: int = OUT_WIDTH) -> str | None:
    """A value as one line of at most `width` characters (JSON for containers), `…` where it was cut."""
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _iso(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def step_detail(step: dict[str, Any]) -> str | None:
    """What a sleep, call, wait or invoke step did, and the last error of a pending one."""
    parts: list[str] = []
    if step.get("sleepFor") is not None:
        parts.append(f"sleep {step['sleepFor']}s")
    if isinstance(step.get("sleepUntil"), (int, float)):
        parts.append(f"sleep until {_iso(step['sleepUntil'])}")
    if step.get("callUrl"):
        call = f"{step.get('callMethod') or 'GET'} {step['callUrl']}"
        if step.get("callResponseStatus") is not None:
            call += f" -> {step['callResponseStatus']}"
        parts.append(call)
    elif step.get("stepType") == "Call":  # no call fields: the status is in the result the SDK got
        out = step.get("out")
        result = _json_or_none(out) if isinstance(out, str) else out
        if isinstance(result, dict) and isinstance(result.get("status"), int):
            parts.append(f"call -> {result['status']}")
    if step.get("waitEventId"):
        wait = f"wait for {step['waitEventId']}"
        if step.get("waitTimeoutDuration"):
            wait += f" (timeout {step['waitTimeoutDuration']})"
        if step.get("waitTimeout") is True:
            wait += ", timed out"
        parts.append(wait)
    if step.get("invokedWorkflowRunId"):
        parts.append(f"invoked {step['invokedWorkflowRunId']} {step.get('invokedWorkflowUrl') or ''}".rstrip())
    if step.get("concurrent", 1) not in (None, 1):
        parts.append(f"parallel x{step['concurrent']}")
    errors = step.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[-1], dict):
        last = errors[-1]
        text = last.get("error") or last.get("body") or ""
        status = f"HTTP {last['status']}" if last.get("status") else "error"
        parts.append(f"{status}: {shorten(text) or '-'}" + (f" ({len(errors)} errors)" if len(errors) > 1 else ""))
    if step.get("state") == "STEP_RETRY" and step.get("retries") is not None:
        parts.append(f"retries {step['retries']}")
    if isinstance(step.get("nextDeliveryTime"), (int, float)) and step["nextDeliveryTime"] > 0:
        parts.append(f"next delivery {_iso(step['nextDeliveryTime'] / 1000)}")
    return "; ".join(parts) or None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def step_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a run in order, each `{**step, "group": sequential|parallel|next, "detail": ...}`."""
    rows: list[dict[str, Any]] = []
    groups = run.get("steps")
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        kind = group.get("type") or "sequential"
        for step in group.get("steps") or []:
            if not isinstance(step, dict):
                continue
            row = {**step, "group": kind, "detail": step_detail(step)}
            if kind == "next":
                row.setdefault("stepName", "(next)")
                row.setdefault("stepType", "next")
                errors = step.get("errors")
                if row.get("createdAt") is None and isinstance(errors, list) and errors:
                    last = errors[-1]
                    row["createdAt"] = last.get("time") if isinstance(last, dict) else None
            rows.append(row)
    return rows


def labels(row: dict[str, Any]) -> str | None:
    """`labels` (all) or the legacy `label`, comma-separated."""
    value = row.get("labels")
    if isinstance(value, list) and value:
        return ",".join(str(v) for v in value)
    return row.get("label") or None


# -- log entries that belong to a workflow ---------------------------------------------------------------------------


def header(entry: dict[str, Any], name: str) -> str | None:
    """The first value of a header of a log entry (`header`: name → [values] or name → value), any case."""
    headers = entry.get("header") or entry.get("headers")
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


def _decoded_json(text: Any) -> Any:
    """JSON from a body that is base64 of JSON, or JSON itself; None when it is neither."""
    if not isinstance(text, str) or not text:
        return None
    candidates = [text]
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.insert(0, base64.b64decode(text, validate=True).decode("utf-8"))
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _step_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The step an entry carries: its own stepName/stepType fields, else the step JSON in its body (a step
    publish), else the newest step of the history in its body (a delivery to the workflow URL)."""
    if entry.get("stepName") or entry.get("stepType"):
        return entry
    body = _decoded_json(entry.get("body"))
    if isinstance(body, list) and body and isinstance(body[-1], dict):
        body = _decoded_json(body[-1].get("body"))
    if isinstance(body, dict) and (body.get("stepName") or body.get("stepType")):
        return body
    return None


def log_note(entry: dict[str, Any]) -> str | None:
    """`workflow wfr_1, step 2 charge, Run` for a log entry of a workflow run, else None. Without a run id (the
    entry has no `workflowRunId` and no `Upstash-Workflow-RunId` header) only a body that is an SDK step (a known
    step type and a numeric step id) makes it one: `workflow, step 2 charge, Run`."""
    run_id = entry.get("workflowRunId") or header(entry, RUN_ID_HEADER)
    step = _step_of(entry)
    if not run_id and not (
        step is not None and step.get("stepType") in STEP_TYPES and isinstance(step.get("stepId"), int)
    ):
        return None
    parts = [f"workflow {run_id}" if run_id else "workflow"]
    if step is not None:
        number = f" {step['stepId']}" if step.get("stepId") is not None else ""
        name = f" {step['stepName']}" if step.get("stepName") else ""
        parts.append(f"step{number}{name}")
        if step.get("stepType"):
            parts.append(str(step["stepType"]))
    elif (header(entry, "upstash-workflow-init") or "").lower() == "true":
        parts.append("start")
    call_type = header(entry, "upstash-workflow-calltype")
    if call_type and call_type != "step":
        parts.append(call_type)
    return ", ".join(parts)
