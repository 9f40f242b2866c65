"""v2 schedules: create (or overwrite), list, get, pause, resume, delete."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import redact, scheduler
from qstash_cli.server.context import caller_ip, srv_of
from qstash_cli.server.handlers import act, fetch, listing
from qstash_cli.server.http import ApiError, endpoint, read_body
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import create_schedule, destination_of
from qstash_cli.server.publishing import header_bag, parse_config
from qstash_cli.server.shapes import body_fields, clean


def schedule_v2(s: Any) -> dict[str, Any]:
    meta = json.loads(s["meta"])
    return clean(
        {
            "scheduleId": s["id"],
            "cron": s["cron"],
            "destination": s["destination"],
            "createdAt": s["created_at"],
            "method": meta.get("method", "POST"),
            "isPaused": bool(s["paused"]),
            "retries": meta.get("retries", 3),
            "header": redact.header(meta, meta.get("header", {})),
            **(body_fields(redact.body(meta, bytes(s["body"]))) if s["body"] else {}),
            "delay": int(meta["delay"]) if meta.get("delay") else None,
            "timeout": int(meta["timeout"]) if meta.get("timeout") else None,
            "callback": meta.get("callback"),
            "failureCallback": meta.get("failureCallback"),
            "callbackHeader": meta.get("callbackHeader"),
            "failureCallbackHeader": meta.get("failureCallbackHeader"),
            "queueName": meta.get("queueName"),
            "callerIP": meta.get("callerIP"),
            "callerIp": meta.get("callerIP"),  # the spec's spelling for schedules; the Python SDK reads callerIP
            "retryDelayExpression": meta.get("retryDelayExpression"),
            "label": meta.get("label"),
            "labels": meta.get("labels"),
            "flowControlKey": meta.get("flowControlKey"),
            "parallelism": meta.get("parallelism"),
            "rate": meta.get("rate"),
            "period": meta.get("period"),
            "lastScheduleTime": s["last_at"],
            "nextScheduleTime": s["next_at"],
            "lastScheduleStates": json.loads(s["last_states"] or "{}"),
            "error": s["error"],
        }
    )


@endpoint
async def create(request: Request) -> Any:
    srv = srv_of(request)
    destination = destination_of(request.scope, 3)
    body = await read_body(request, srv.quota.max_message_size)
    bag = header_bag(request.headers.raw, request.query_params)
    now = now_ms()
    cfg = parse_config(bag, quota=srv.quota, caller_ip=caller_ip(request), api="v2", now=now)
    if not cfg.cron:
        raise ApiError(400, "Upstash-Cron header is required")
    return (await create_schedule(srv, cfg, destination, body, now))[1]


BOTH = ["POST", "PATCH"]
ROUTES = [
    Route("/v2/schedules", listing(scheduler.schedule_list, schedule_v2), methods=["GET"]),
    Route("/v2/schedules/{id}/pause", act(scheduler.schedule_set_paused, "id", True), methods=BOTH),
    Route("/v2/schedules/{id}/resume", act(scheduler.schedule_set_paused, "id", False), methods=BOTH),
    Route("/v2/schedules/{id}", fetch(scheduler.schedule_get, "id", schedule_v2), methods=["GET"]),
    Route("/v2/schedules/{id}", act(scheduler.schedule_delete, "id"), methods=["DELETE"]),
    Route("/v2/schedules/{dest:path}", create, methods=["POST"]),
]
