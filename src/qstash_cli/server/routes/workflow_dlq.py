"""Failed workflow runs: list, get, delete, resume (from the failed step), restart (from the start) and retry of the
failure callback (workflow-protocol.md 3.3). `GET /v2/dlq?source=workflow` answers the same listing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import workflow_dlq
from qstash_cli.server.context import Server, caller_ip, params, srv_of
from qstash_cli.server.http import ApiError, endpoint
from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.intake import commit, prepare
from qstash_cli.server.publishing import DEFAULT_RETRIES, settings_bag

# What a resume or restart may change for the new run (sent as headers, like a publish).
OVERRIDES = ("upstash-retries", "upstash-flow-control-key", "upstash-flow-control-value", "upstash-delay",
             "upstash-retry-delay", "upstash-label", "upstash-failure-callback")  # fmt: skip


def checked(request: Request) -> dict[str, list[str]]:
    """The query; 400 naming a parameter the workflow DLQ routes do not declare."""
    try:
        return dict(workflow_dlq.check(params(request)))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@endpoint
async def list_failed(request: Request) -> Any:
    try:
        entries, cursor = await srv_of(request).store.run(workflow_dlq.page, params(request))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return {"messages": entries, **({"cursor": cursor} if cursor else {})}


@endpoint
async def get_one(request: Request) -> Any:
    return await srv_of(request).store.run(workflow_dlq.entry, request.path_params["id"])


async def _ids(request: Request) -> tuple[list[str], str]:
    query = checked(request)
    if "id" in request.path_params:
        await srv_of(request).store.run(workflow_dlq.entry, request.path_params["id"])  # 404 when unknown
        return [request.path_params["id"]], ""
    try:
        return await srv_of(request).store.run(workflow_dlq.ids, query, 50)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@endpoint
async def delete(request: Request) -> Any:
    ids, cursor = await _ids(request)
    deleted = await srv_of(request).store.run(workflow_dlq.delete, ids)
    if "id" in request.path_params:
        return None
    return {"deleted": deleted, **({"cursor": cursor} if cursor else {})}


async def _again(srv: Server, request: Request, dlq_id: str, *, resume: bool) -> dict[str, Any]:
    """Start a new run from a failed one and publish its first message (the failed step, or the trigger)."""
    run_id = new_id("wfr", 21)
    now = now_ms()
    found = await srv.store.run(workflow_dlq.copy_run, dlq_id, run_id, now, resume)
    run, meta = found["run"], found["meta"]
    bag = {**settings_bag(meta, DEFAULT_RETRIES), **run["config"].get("headers", {})}  # run-wide settings win
    bag.update({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw
                if k.decode("latin-1").lower() in OVERRIDES})  # fmt: skip
    bag.update({"upstash-workflow-runid": run_id, "upstash-workflow-url": run["url"]})
    if resume:
        bag["upstash-workflow-init"] = "false"
        body, destination = found["body"], run["url"]
    else:
        bag.update({"upstash-workflow-init": "true", "upstash-feature-set": run["config"].get("featureSet", "")})
        body, destination = found["initial"], run["url"]
    prepared = await prepare(srv, bag, body, destination, caller_ip=caller_ip(request), api="v2", now=now)
    await commit(srv, [prepared], now)
    return {"workflowRunId": run_id, "workflowCreatedAt": now}


def _action(resume: bool) -> Any:
    @endpoint
    async def handler(request: Request) -> Any:
        srv = srv_of(request)
        ids, cursor = await _ids(request)
        runs = [await _again(srv, request, i, resume=resume) for i in ids]
        if "id" in request.path_params:
            return runs[0]
        return {"workflowRuns": runs, **({"cursor": cursor} if cursor else {})}

    return handler


@endpoint
async def retry_callback(request: Request) -> Any:
    srv = srv_of(request)
    try:
        run_id, deliveries = await srv.store.run(
            workflow_dlq.retry_failure_callback, request.path_params["id"], now_ms()
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    srv.engine.add(deliveries)
    run = await srv.store.run(workflow_dlq.workflow.run_get, run_id)
    return {"workflowRunId": run_id, "workflowCreatedAt": run["created_at"] if run else 0}


ROUTES = [
    Route("/v2/workflows/dlq", list_failed, methods=["GET"]),
    Route("/v2/workflows/dlq", delete, methods=["DELETE"]),
    Route("/v2/workflows/dlq/resume", _action(True), methods=["POST"]),
    Route("/v2/workflows/dlq/resume/{id}", _action(True), methods=["POST"]),
    Route("/v2/workflows/dlq/restart", _action(False), methods=["POST"]),
    Route("/v2/workflows/dlq/restart/{id}", _action(False), methods=["POST"]),
    Route("/v2/workflows/dlq/callback/{id}", retry_callback, methods=["POST"]),
    Route("/v2/workflows/dlq/{id}", get_one, methods=["GET"]),
    Route("/v2/workflows/dlq/{id}", delete, methods=["DELETE"]),
]
