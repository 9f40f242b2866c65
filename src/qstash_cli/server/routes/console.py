"""The browser console: `/` (the page), `/console/<asset>` (its script and style), and two reads the v2 API lacks:
`/console/api/stream` (server-sent events of the log, see feed.py) and `/console/api/messages/{id}` (attempts as
sent, see attempts.py). Everything else the page shows it fetches from the server's own /v2 API with the token.

On a loopback server the page carries the token (when the browser asked for it by a loopback host name, so a page
of another site resolving its name to 127.0.0.1 gets no token); otherwise the page asks for the token first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from qstash_cli.server import attempts, feed
from qstash_cli.server.context import keys_of, srv_of
from qstash_cli.server.filters import LOG_FILTERS as FILTERS
from qstash_cli.server.http import endpoint
from qstash_cli.server.shapes import V2_STATE, clean

ASSETS = Path(__file__).resolve().parent.parent / "console"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STREAM_PARAMS_SKIPPED = ("qstash_token", "after")
KIND = {  # log state -> what happened, in the console's words
    "CREATED": "published",
    "ACTIVE": "attempt",
    "DELIVERED": "delivered",
    "ERROR": "attempt failed",
    "RETRY": "retry scheduled",
    "FAILED": "moved to DLQ",
    "CANCELLED": "cancelled",
}


def _loopback_request(request: Request) -> bool:
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    peer = request.client.host if request.client else ""
    return name in LOOPBACK_NAMES and peer in ("127.0.0.1", "::1")


def stream_entry(row: Any) -> dict[str, Any]:
    """One live-stream entry: the log row in the v2 field names, plus `seq`, `kind` and, for callbacks, their
    source message."""
    return clean(
        {
            "seq": row["seq"],
            "time": row["time"],
            "state": V2_STATE.get(row["state"], row["state"]),
            "kind": KIND.get(row["state"], row["state"].lower()),
            "messageId": row["message_id"],
            "taskId": row["task_id"],
            "url": row["url"] or "",
            "topicName": row["topic_name"],
            "endpointName": row["endpoint_name"],
            "scheduleId": row["schedule_id"],
            "queueName": row["queue_name"],
            "label": row["label"],
            "error": row["error"],
            "nextDeliveryTime": row["next_delivery_time"],
            "responseStatus": row["response_status"],
            "callback": row["callback"],
            "sourceMessageId": row["source"],
        }
    )


async def page(request: Request) -> Response:
    """The console page: static HTML with the settings it starts from (the token only on loopback)."""
    srv = srv_of(request)
    token = srv.token if srv.console_token_in_page and _loopback_request(request) else None
    config = json.dumps({"token": token}).replace("<", "\\u003c")
    html = (ASSETS / "index.html").read_text().replace("{{CONFIG}}", config)
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    """A file of the console directory (script, style, icon); 404 for anything else."""
    name = request.path_params["name"]
    path = ASSETS / name
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(path.read_bytes(), media_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@endpoint
async def stream(request: Request) -> Any:
    """Server-sent events of new log entries, with the `/v2/logs` filters (`?state=&url=&topicName=...`)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in STREAM_PARAMS_SKIPPED:
            params.setdefault(key, []).append(value)
    where, args = FILTERS.where(params)  # a bad value is a 400 (BadValue)
    srv = srv_of(request)
    events = feed.stream(
        srv.store.read,
        where,
        args,
        stream_entry,
        last_event_id=request.headers.get("last-event-id"),
        after=request.query_params.get("after"),
        closing=srv.closing,
    )
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@endpoint
async def message(request: Request) -> Any:
    """One message with its attempts, retries, callbacks and events (delivered messages too)."""
    srv = srv_of(request)
    return await srv.store.read(attempts.message_detail, request.path_params["id"], keys_of(srv))


ROUTES = [
    Route("/", page, methods=["GET"]),
    Route("/console/api/stream", stream, methods=["GET"]),
    Route("/console/api/messages/{id}", message, methods=["GET"]),
    Route("/console/{name}", asset, methods=["GET"]),
]
