"""v2 logs (`/v2/logs`, and `/v2/events`, the same list under both keys)."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import queries, redact
from qstash_cli.server.context import query, srv_of
from qstash_cli.server.filters import LOG_FILTERS
from qstash_cli.server.http import endpoint
from qstash_cli.server.shapes import V2_STATE, clean

FILTERS = LOG_FILTERS


def log_v2(row: Any, message: Any | None, task: Any | None) -> dict[str, Any]:
    meta = json.loads(message["meta"]) if message is not None else {}
    out = {
        "time": row["time"],
        "messageId": row["message_id"],
        "taskId": row["task_id"],
        "state": V2_STATE.get(row["state"], row["state"]),
        "error": row["error"],
        "nextDeliveryTime": row["next_delivery_time"],
        "url": row["url"] or "",
        "topicName": row["topic_name"],
        "endpointName": row["endpoint_name"],
        "scheduleId": row["schedule_id"],
        "queueName": row["queue_name"],
        "header": redact.header(meta, meta.get("header")),
        "body": base64.b64encode(redact.body(meta, bytes(message["body"]))).decode() if message is not None else None,
        "method": meta.get("method"),
        "timeout": int(meta["timeout"] * 1000) if meta.get("timeout") else None,
        "callback": meta.get("callback"),
        "failureCallback": meta.get("failureCallback"),
        "callbackHeaders": meta.get("callbackHeader"),
        "failureCallbackHeaders": meta.get("failureCallbackHeader"),
        "maxRetries": task["max_retries"] if task is not None else None,
        "retryDelayExpression": meta.get("retryDelayExpression"),
        "retryDelayExpr": meta.get("retryDelayExpression"),
        "label": meta.get("label"),
        "labels": meta.get("labels"),
        "callerIp": meta.get("callerIP"),
        "flowControlKey": meta.get("flowControlKey"),
        "workflowRunId": (meta.get("wf") or {}).get("run"),  # a step of an Upstash Workflow run
    }
    if row["response_status"] is not None:
        headers = json.loads(row["response_header"] or "{}")
        out.update(
            responseStatus=row["response_status"],
            responseHeader=headers,
            responseHeaders=headers,
            responseBody=row["response_body"],
        )
    return clean(out)


@endpoint
async def logs(request: Request) -> Any:
    entries, cursor = await srv_of(request).store.run(queries.v2_logs, FILTERS, query(request, FILTERS))
    shaped = [log_v2(*e) for e in entries]
    out: dict[str, Any] = {"events": shaped, "logs": shaped}
    if cursor:
        out["cursor"] = cursor
    return out


ROUTES = [
    Route("/v2/events", logs, methods=["GET"]),
    Route("/v2/logs", logs, methods=["GET"]),
]
