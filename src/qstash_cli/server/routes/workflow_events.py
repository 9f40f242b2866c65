"""Upstash Workflow events: `waitForEvent` registers a waiter (its timeout a delayed step), `notify` resumes the
waiters of an event (or, run-scoped, is kept until the run waits), webhooks resume `waitForWebhook`
(workflow-protocol.md 2.5-2.7)."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import workflow
from qstash_cli.server.context import Server, caller_ip, cancel, srv_of
from qstash_cli.server.http import ApiError, endpoint, read_body, read_json
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import commit, prepare
from qstash_cli.server.parse import BadValue, duration
from qstash_cli.server.wire import compact


async def _publish_step(srv: Server, request: Request, url: str, bag: dict[str, str], step: dict[str, Any]) -> str:
    """Publish a result step the server builds itself (notify, wait timeout); its message id."""
    now = now_ms()
    prepared = await prepare(srv, bag, compact(step), url, caller_ip=caller_ip(request), api="v2", now=now)
    [(status, payload, _)] = await commit(srv, [prepared], now)
    return payload["messageId"] if status < 300 else ""


def _request_bag(request: Request) -> dict[str, str]:
    """The step headers a wait request came with: the Upstash ones and the content type."""
    return {
        k.decode("latin-1").lower(): v.decode("latin-1")
        for k, v in request.headers.raw
        if k.lower().startswith(b"upstash-") or k.lower() == b"content-type"
    }


@endpoint
async def wait(request: Request) -> Any:
    """`POST /v2/wait/{eventId}`: register a waiter with a deadline (its timeout is a delayed step message)."""
    srv = srv_of(request)
    event_id = request.path_params["event"]
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not isinstance(body.get("step"), dict):
        raise ApiError(400, 'body must be {"url": ..., "step": {...}, "timeout"?, "timeoutUrl"?, "timeoutHeaders"?}')
    bag = _request_bag(request)
    run_id = bag.get("upstash-workflow-runid")
    if not run_id:
        raise ApiError(400, "Upstash-Workflow-RunId header is required")
    step = {
        k: v for k, v in body["step"].items() if k in ("stepId", "stepName", "stepType", "concurrent", "targetStep")
    }
    earlier = await srv.store.run(workflow.notification_take, run_id, event_id)
    if earlier is not None:  # a run-scoped notify came first (lookback)
        await _publish_step(srv, request, body["url"], bag, {**step, "out": _b64(earlier), "waitTimeout": False})
        return {}
    timeout = str(body.get("timeout") or "7d")
    try:
        seconds = duration(timeout, name="timeout")
    except BadValue as exc:
        raise ApiError(400, str(exc)) from None
    deadline = (now_ms() // 1000) + int(seconds)
    timeout_headers = body.get("timeoutHeaders") if isinstance(body.get("timeoutHeaders"), dict) else {}
    timeout_bag = {**bag, **workflow.step_bag(timeout_headers), "upstash-not-before": str(deadline)}
    timeout_step = {**step, "waitEventId": event_id, "timeout": timeout, "waitTimeout": True}
    timeout_id = await _publish_step(
        srv, request, str(body.get("timeoutUrl") or body["url"]), timeout_bag, timeout_step
    )
    waiter = {
        "url": body["url"],
        "deadline": deadline,
        "headers": {k: [v] for k, v in bag.items()},
        "timeoutUrl": body.get("timeoutUrl") or body["url"],
        "timeoutBody": body.get("timeoutBody"),
        "timeoutHeaders": timeout_headers,
        "step": step,
        "createdAt": now_ms(),
    }
    await srv.store.run(workflow.waiter_add, event_id, run_id, waiter, timeout_id or None)
    return {}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _public(waiter: dict[str, Any]) -> dict[str, Any]:
    keys = ("url", "deadline", "headers", "timeoutUrl", "timeoutBody", "timeoutHeaders")
    return {k: waiter.get(k) for k in keys if waiter.get(k) is not None}


async def _notify(request: Request, event_id: str, run_id: str | None, data: bytes | None = None) -> Any:
    srv = srv_of(request)
    if data is None:
        data = await read_body(request, srv.quota.max_message_size)
    answers = []
    for waiter in await srv.store.run(workflow.waiters, event_id, run_id):
        if not await srv.store.run(workflow.waiter_remove, waiter["_id"]):
            continue  # another notify took it first
        if waiter["_timeout"]:
            await cancel(srv, [waiter["_timeout"]])
        bag = workflow.step_bag(waiter["headers"])
        step = {**waiter["step"], "out": _b64(data), "waitTimeout": False}
        try:
            message_id = await _publish_step(srv, request, waiter["url"], bag, step)
            answers.append({"waiter": _public(waiter), "messageId": message_id})
        except (ApiError, BadValue) as exc:  # the run ended meanwhile
            answers.append({"waiter": _public(waiter), "messageId": "", "error": str(exc)})
    if not answers and run_id is not None:
        await srv.store.run(workflow.notification_keep, run_id, event_id, data, now_ms())
    return answers


@endpoint
async def notify(request: Request) -> Any:
    """`POST /v2/notify/{eventId}`: every current waiter of the event; a notification nobody waits for is lost."""
    return await _notify(request, request.path_params["event"], None)


@endpoint
async def notify_run(request: Request) -> Any:
    """`POST /v2/notify/{workflowRunId}/{eventId}`: kept for the run's next wait when it is not waiting yet."""
    return await _notify(request, request.path_params["event"], request.path_params["run"])


def _user_id(token: str) -> str | None:
    """The `UserID` a QStash token carries (base64 JSON), which webhook URLs are made of."""
    try:
        value = json.loads(base64.b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return value.get("UserID") if isinstance(value, dict) else None


async def webhook(request: Request) -> Any:
    """Any method on `/v2/workflows/hooks/{userId}/{runId}/{eventId}` (no token: the URL is the secret) resolves the
    run's `waitForWebhook` with the request; one arriving first waits for it (lookback; workflow-protocol.md 2.6)."""
    srv = srv_of(request)
    if request.path_params["user"] != _user_id(srv.token):
        raise ApiError(404, "no such webhook")
    body = await read_body(request, srv.quota.max_message_size)
    header: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        header.setdefault(name.title(), []).append(value)
    query = request.url.query
    described = {
        "method": request.method,
        "header": header,
        "body": _b64(body),
        "proto": request.url.scheme,
        "host": request.headers.get("host", ""),
        "url": request.url.path + (f"?{query}" if query else ""),
    }
    return await _notify(request, request.path_params["event"], request.path_params["run"], compact(described))


@endpoint
async def waiters_list(request: Request) -> Any:
    return [_public(w) for w in await srv_of(request).store.run(workflow.waiters, request.path_params["event"])]


ROUTES = [
    Route("/v2/wait/{event}", wait, methods=["POST"]),
    Route("/v2/notify/{run}/{event}", notify_run, methods=["POST"]),
    Route("/v2/notify/{event}", notify, methods=["POST"]),
    Route("/v2/waiters/{event}", waiters_list, methods=["GET"]),
    Route(
        "/v2/workflows/hooks/{user}/{run}/{event}",
        endpoint(webhook, authenticated=False),
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    ),
]
