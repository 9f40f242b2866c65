"""Upstash Workflow: ending and cancelling runs, the lazy history fetch, run logs, waitForEvent / notify / waiters.

Steps themselves arrive as ordinary publishes (see `workflow.admit`); this module holds the routes the Workflow SDKs
and their clients call besides publishing (workflow-protocol.md sections 1.6, 2.5, 2.7, 3).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import redact, workflow, workflow_queries
from qstash_cli.server.context import Server, caller_ip, cancel, params, srv_of
from qstash_cli.server.http import ApiError, endpoint, read_body, read_json
from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.intake import commit, destination_of, prepare, report_to_invoker
from qstash_cli.server.parse import BadValue
from qstash_cli.server.publishing import header_bag
from qstash_cli.server.wire import compact

RUN_FILTERS = frozenset(
    {
        "workflowRunId",
        "workflowUrl",
        "workflowUrlExactMatch",
        "workflowCreatedAt",
        "state",
        "label",
        "messageId",
        "fromDate",
        "toDate",
        "callerIp",
        "flowControlKey",
    }
)
PAGING = frozenset({"cursor", "count", "groupBy", "trimBody", "order", "qstash_token"})
BULK = frozenset({"workflowRunIds", "count", "qstash_token"})
STEP_STATE = {"CREATED": "STEP_PROGRESS", "ACTIVE": "STEP_PROGRESS", "RETRY": "STEP_RETRY", "FAILED": "STEP_FAILED"}


def _checked(request: Request, allowed: frozenset[str]) -> dict[str, list[str]]:
    """The query parameters; 400 naming the first one this route does not declare."""
    found = params(request)
    for name, given in found.items():
        if name not in allowed:
            raise ApiError(400, f"unknown filter: {name}")
        if name in RUN_FILTERS and not any(v.strip(" ,") for v in given):  # `label=` must not mean "no filter"
            raise ApiError(400, f"empty filter: {name} (give a value, or leave the parameter out)")
    count = found.get("count", ["1"])[0]
    if not count.isdigit():
        raise ApiError(400, f"invalid count {count!r}: want an integer")
    return found


# -- the end of a run -------------------------------------------------------------------------------------------


async def _cancel_run_messages(srv: Server, run_id: str, *, include_active: bool) -> None:
    ids = await srv.store.run(workflow.pending_messages, run_id, include_active)
    if ids:
        await cancel(srv, ids)


@endpoint
async def run_delete(request: Request) -> Any:
    """`DELETE /v2/workflows/runs/{id}?cancel=false` ends a run (its response body kept); `cancel=true` cancels."""
    srv = srv_of(request)
    run_id = request.path_params["id"]
    cancelled = request.query_params.get("cancel", "false").lower() == "true"
    body = (await read_body(request, srv.quota.max_message_size)).decode("utf-8", "replace")
    state = workflow.CANCELED if cancelled else workflow.SUCCESS
    run = await srv.store.run(workflow.end, run_id, state, body, now_ms())
    if run is None:
        raise ApiError(404, f"workflow run {run_id!r} not found")
    if cancelled and run["state"] == workflow.STARTED:
        # the step calling cancel is being delivered right now: it finishes as delivered, the rest is dropped
        await _cancel_run_messages(srv, run_id, include_active=False)
    await report_to_invoker(srv, run_id)
    return None


@endpoint
async def runs_cancel(request: Request) -> Any:
    """`DELETE /v2/workflows/runs`: by `workflowRunIds`, by filters, or all (with `count`)."""
    srv = srv_of(request)
    query = _checked(request, RUN_FILTERS | BULK)
    limit = int(query["count"][0]) if "count" in query else None
    ids = await srv.store.run(workflow_queries.run_ids, query, limit)
    now = now_ms()
    for run_id in ids:
        run = await srv.store.run(workflow.end, run_id, workflow.CANCELED, "", now)
        if run is not None and run["state"] == workflow.STARTED:
            await _cancel_run_messages(srv, run_id, include_active=True)
        await report_to_invoker(srv, run_id)
    return {"cancelled": len(ids)}


@endpoint
async def run_history(request: Request) -> Any:
    """The lazy fetch: the whole history of a run still going; 404 once it has ended."""
    run_id = request.path_params["id"]
    found = await srv_of(request).store.run(workflow.live_history, run_id)
    if found is None:
        raise ApiError(404, f"workflow run {run_id!r} not found or already ended")
    return found


# -- logs -------------------------------------------------------------------------------------------------------


@endpoint
async def runs_logs(request: Request) -> Any:
    """`GET /v2/workflows/logs` and `/v2/workflows/events?groupBy=workflowRunId`: `{cursor, runs}`."""
    query = _checked(request, RUN_FILTERS | PAGING)
    try:
        runs, cursor = await srv_of(request).store.run(workflow_queries.runs_page, query)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return {"cursor": cursor, "runs": [run_shape(r) for r in runs]}


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def _step_shape(entry: dict[str, Any]) -> dict[str, Any] | None:
    body = bytes(entry["body"])
    base = {"messageId": entry["message_id"], "callType": entry["call_type"], "createdAt": entry["created_at"]}
    if entry["seq"] == 0:
        return {
            **base,
            "stepId": 0,
            "stepName": "init",
            "stepType": "Initial",
            "out": _text(body),
            "concurrent": 1,
            "state": "STEP_SUCCESS",
        }
    if entry["call_type"] != "step":
        return None
    try:
        step = json.loads(body)
    except ValueError:
        return None
    if not isinstance(step, dict) or (not step.get("stepId") and step.get("targetStep")):
        return None  # a parallel plan step: its result is what the logs show
    shape = {**base, "state": "STEP_SUCCESS"}
    for key in (
        "stepId",
        "stepName",
        "stepType",
        "out",
        "concurrent",
        "sleepFor",
        "sleepUntil",
        "waitEventId",
        "waitTimeout",
        "timeout",
    ):
        if key in step:
            shape[key] = step[key]
    if "timeout" in shape:
        shape["waitTimeoutDuration"] = shape.pop("timeout")
    return shape


def _call_fields(entry: dict[str, Any], call: dict[str, Any]) -> None:
    """Collect what a `context.call` did from its history entries: the request (toCallback) and the answer the
    server got (fromCallback, the callback JSON)."""
    if entry["call_type"] == "toCallback":
        call.clear()
        call.update(callUrl=entry["url"], callMethod=entry["method"] or "POST", callBody=_text(bytes(entry["body"])))
        return
    try:
        answer = json.loads(bytes(entry["body"]))
    except ValueError:
        return
    if isinstance(answer, dict):
        body = base64.b64decode(answer.get("body") or "")
        call.update(
            callResponseStatus=answer.get("status"),
            callResponseHeaders=answer.get("header") or {},
            callResponseBody=_text(body),
        )


def _groups(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    call: dict[str, Any] = {}
    for entry in entries:
        if entry["call_type"] in ("toCallback", "fromCallback"):
            _call_fields(entry, call)
            continue
        step = _step_shape(entry)
        if step is None:
            continue
        if step.get("stepType") == "Call" and call:
            step.update(call)
            call = {}
        kind = "parallel" if int(step.get("concurrent") or 1) > 1 else "sequential"
        if kind == "parallel" and groups and groups[-1]["type"] == "parallel":
            groups[-1]["steps"].append(step)
        else:
            groups.append({"type": kind, "steps": [step]})
    return groups


def _redacted(groups: list[dict[str, Any]], config: dict[str, Any]) -> list[dict[str, Any]]:
    """A run triggered with `Upstash-Redact-Fields: body` shows its steps' inputs and outputs redacted."""
    fields = config.get("headers", {}).get("upstash-redact-fields")
    try:
        hide = bool(fields) and redact.parse(fields).get("body", False)
    except BadValue:
        hide = False
    if hide:
        for group in groups:
            for step in group["steps"]:
                for key in ("out", "callBody", "callResponseBody"):
                    if isinstance(step.get(key), str):
                        step[key] = redact.mark(step[key])
    return groups


def run_shape(run: dict[str, Any]) -> dict[str, Any]:
    """A `WorkflowRun` as the logs routes answer it."""
    labels = run["config"].get("labels") or []
    steps = _redacted(_groups(run["entries"]), run["config"])
    pending = [
        {
            "messageId": t["message_id"],
            "state": STEP_STATE.get(t["state"], "STEP_PROGRESS"),
            "retries": t["max_retries"],
            "nextDeliveryTime": t["next_at"],
            **({"errors": t["errors"]} if t["errors"] else {}),
        }
        for t in run["pending"]
    ]
    if pending and run["state"] in (workflow.STARTED, workflow.FAILED):
        steps.append({"type": "next", "steps": pending})
    out: dict[str, Any] = {
        "workflowRunId": run["id"],
        "workflowUrl": run["url"],
        "workflowState": run["state"],
        "workflowRunCreatedAt": run["created_at"],
        "workflowRunCallerIp": run["caller_ip"],
        "steps": steps,
    }
    if run["completed_at"]:
        out["workflowRunCompletedAt"] = run["completed_at"]
    if run["response"] is not None:
        out["workflowRunResponse"] = run["response"]
    invoker = run["config"].get("invoker")
    if invoker:
        out["invoker"] = {k: invoker.get(k) for k in ("workflowRunId", "workflowUrl", "workflowRunCreatedAt")}
    if labels:
        out["label"], out["labels"] = labels[0], labels
    if run["flow_control_key"]:
        out["flowControlKey"] = run["flow_control_key"]
    if run["dlq_id"]:
        out["dlqId"] = run["dlq_id"]
    if run["failure_state"]:
        out["failureFunction"] = {"state": run["failure_state"], "dlqId": run["dlq_id"] or ""}
    return out


# -- the REST trigger (no SDK on the calling side) ----------------------------------------------------------------


async def _trigger(srv: Server, request: Request, bag: dict[str, str], body: bytes, url: str, now: int) -> Any:
    run_id = bag.get("upstash-workflow-runid") or new_id("wfr", 21)
    bag = {
        **bag,
        "upstash-workflow-runid": run_id,
        "upstash-workflow-init": "true",
        "upstash-workflow-url": url,
        "upstash-workflow-unknown-sdk": "true",
    }
    prepared = await prepare(srv, bag, body, url, caller_ip=caller_ip(request), api="v2", now=now)
    [(status, _, _)] = await commit(srv, [prepared], now)
    return {"workflowRunId": run_id, "workflowCreatedAt": now, "deduplicated": status == 202}


@endpoint
async def trigger(request: Request) -> Any:
    """`POST /v2/trigger/{workflowUrl}`: start a run; the SDK at the URL takes it over (1.2 c)."""
    srv = srv_of(request)
    url = destination_of(request.scope, 3)
    body = await read_body(request, srv.quota.max_message_size)
    answer = await _trigger(srv, request, header_bag(request.headers.raw, request.query_params), body, url, now_ms())
    return {k: v for k, v in answer.items() if k != "deduplicated"}


@endpoint
async def trigger_batch(request: Request) -> Any:
    """`POST /v2/batch/trigger`: `[{destination, body?, headers?}]` → 201 `[{workflowRunId, …, deduplicated}]`."""
    srv = srv_of(request)
    items = await read_json(request, srv.quota.max_message_size * 10)
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("destination"), str)
                                              for i in items):  # fmt: skip
        raise ApiError(400, "body must be a JSON array of {destination, body?, headers?}")
    now = now_ms()
    answers = []
    for item in items:
        headers = item.get("headers") if isinstance(item.get("headers"), dict) else {}
        bag = {str(k).lower(): str(v) for k, v in headers.items()}
        body = item.get("body")
        data = b"" if body is None else body.encode() if isinstance(body, str) else compact(body)
        answers.append(await _trigger(srv, request, bag, data, item["destination"], now))
    return 201, answers


ROUTES = [
    Route("/v2/trigger/{url:path}", trigger, methods=["POST"]),
    Route("/v2/batch/trigger", trigger_batch, methods=["POST"]),
    Route("/v2/workflows/runs", runs_cancel, methods=["DELETE"]),
    Route("/v2/workflows/runs/{id}", run_delete, methods=["DELETE"]),
    Route("/v2/workflows/runs/{id}", run_history, methods=["GET"]),
    Route("/v2/workflows/logs", runs_logs, methods=["GET"]),
    Route("/v2/workflows/events", runs_logs, methods=["GET"]),
]
