"""v2 messages: get one pending message, cancel one, cancel in bulk (by ids or by filters)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import data, queries
from qstash_cli.server.context import cancel, cancel_one, query, srv_of
from qstash_cli.server.filters import LABEL, META, URL_HOST, URL_PATH, Filters, integer
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.ids import now_ms
from qstash_cli.server.shapes import message_v2

# Without any filter a bulk cancel cancels every pending message (up to `count`), as QStash documents.
CANCEL_FILTERS = Filters(
    {
        "messageIds": "id",
        "messageId": "id",
        "topicName": "topic_name",
        "queueName": "queue_name",
        "url": "url",
        "scheduleId": "schedule_id",
        "label": LABEL,
        "callerIp": META + "callerIP",
        "flowControlKey": META + "flowControlKey",
        "host": URL_HOST,
        "path": URL_PATH,
    },
    ids=("messageIds", "messageId"),
)


@endpoint
async def get_message(request: Request) -> Any:
    """A pending message, or a finished one for the server's grace window after its delivery (SDK tests publish,
    then read the message back), as QStash keeps it "shortly after"."""
    srv = srv_of(request)
    since = now_ms() - srv.message_grace_ms
    return message_v2(*await srv.store.run(queries.v2_message, request.path_params["id"], since))


@endpoint
async def cancel_message(request: Request) -> Any:
    return {"cancelled": await cancel_one(srv_of(request), request.path_params["id"])}


@endpoint
async def cancel_messages(request: Request) -> Any:
    srv = srv_of(request)
    params = query(request, CANCEL_FILTERS)
    body = await read_json(request, 10 << 20, required=False)
    if body is not None and not isinstance(body, dict):
        raise ApiError(400, 'body must be a JSON object like {"messageIds": [...]}')
    ids = (body or {}).get("messageIds")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ApiError(400, "messageIds must be a list of strings")
    if ids is None:
        count = params.get("count")
        limit = min(max(integer(count[0], "count"), 1), 500) if count else None
        ids = await srv.store.run(data.pending_message_ids, CANCEL_FILTERS, params, limit)
    return {"cancelled": await cancel(srv, ids)}


ROUTES = [
    Route("/v2/messages", cancel_messages, methods=["DELETE"]),
    Route("/v2/messages/{id}", get_message, methods=["GET"]),
    Route("/v2/messages/{id}", cancel_message, methods=["DELETE"]),
]
