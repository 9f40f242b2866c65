"""v2 DLQ: list, get, delete, retry, one by one or in bulk (by `dlqIds` or by filters)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import queries, workflow_dlq
from qstash_cli.server.context import caller_ip, params, query, srv_of
from qstash_cli.server.filters import LABEL, META, URL_HOST, URL_PATH, Filters
from qstash_cli.server.handlers import fetch
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.intake import publish
from qstash_cli.server.publishing import DEFAULT_RETRIES, header_bag, settings_bag
from qstash_cli.server.shapes import message_v2

# Without any filter a bulk delete or retry takes the newest-first page of `count` (default 100) entries and
# answers a cursor to the rest, as the SDKs' `all: true` mode expects (the API reference is silent on the case).
FILTERS = Filters(
    {
        "dlqIds": "id",
        "messageId": "message_id",
        "url": "url",
        "topicName": "topic_name",
        "scheduleId": "schedule_id",
        "queueName": "queue_name",
        "responseStatus": "response_status",
        "label": LABEL,
        "callerIp": META + "callerIP",
        "flowControlKey": META + "flowControlKey",
        "host": URL_HOST,
        "path": URL_PATH,
    },
    ids=("dlqIds",),
    via="message_id",
)
RETRY_FILTERS = replace(FILTERS, prefixes=("upstash-",))  # retry takes publish settings in the query too


def dlq_v2(row: Any, message: Any, task: Any = None) -> dict[str, Any]:
    out = message_v2(message, task) if message is not None else {"messageId": row["message_id"], "url": row["url"]}
    out.update(
        dlqId=row["id"],
        url=row["url"] or out.get("url", ""),
        responseStatus=row["response_status"] if row["response_status"] is not None else 0,
        responseHeader=json.loads(row["response_header"] or "{}"),
    )
    if row["error"]:
        out["error"] = row["error"]
    body = bytes(row["response_body"] or b"")
    try:
        out["responseBody"] = body.decode("utf-8")
    except UnicodeDecodeError:
        out["responseBodyBase64"] = base64.b64encode(body).decode()
    out.setdefault("method", "POST")
    out.setdefault("maxRetries", 0)
    out.setdefault("notBefore", row["created_at"])
    out.setdefault("createdAt", row["created_at"])
    return out


def _entry(found: tuple[Any, Any, Any]) -> dict[str, Any]:
    return dlq_v2(*found)


@endpoint
async def list_dlq(request: Request) -> Any:
    if request.query_params.get("source") == "workflow":  # the workflow client's listing of failed runs
        return await _workflow_page(request)
    entries, cursor = await srv_of(request).store.run(queries.dlq_list, FILTERS, query(request, FILTERS))
    out: dict[str, Any] = {"messages": [_entry(e) for e in entries]}
    if cursor:
        out["cursor"] = cursor
    return out


async def _workflow_page(request: Request) -> dict[str, Any]:
    found = params(request)
    try:
        entries, cursor = await srv_of(request).store.run(workflow_dlq.page, found)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return {"messages": entries, **({"cursor": cursor} if cursor else {})}


@endpoint
async def delete(request: Request) -> Any:
    srv = srv_of(request)
    did = request.path_params["id"]
    if not await srv.store.run(queries.dlq_delete, [did]):
        raise ApiError(404, f"dlq message {did!r} not found")
    return None


async def _dlq_ids(request: Request, filters: Filters) -> tuple[list[str], str | None]:
    """Ids from a JSON body `{"dlqIds": [...]}`, else from `dlqIds` / filters in the query."""
    params = query(request, filters)
    body = await read_json(request, 10 << 20, required=False)
    if body is not None:
        ids = body.get("dlqIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, 'body must be {"dlqIds": ["...", ...]}')
        return ids, None
    rows, cursor = await srv_of(request).store.run(queries.dlq_rows, filters, params, 100)
    return [r["id"] for r in rows], cursor


@endpoint
async def bulk_delete(request: Request) -> Any:
    ids, cursor = await _dlq_ids(request, FILTERS)
    deleted = await srv_of(request).store.run(queries.dlq_delete, ids)
    return {"deleted": deleted, **({"cursor": cursor} if cursor else {})}


async def _retry_one(request: Request, dlq_id: str) -> dict[str, Any]:
    """Publish the message again with its own settings (the originals, never the redacted read), the request's
    `Upstash-*` headers or query parameters taking precedence; the entry leaves the DLQ."""
    srv = srv_of(request)
    row, message, task = await srv.store.run(queries.dlq_get, dlq_id)
    if message is None:
        raise ApiError(404, f"the message of dlq entry {dlq_id!r} is gone")
    meta = json.loads(message["meta"])
    retries = task["max_retries"] if task is not None else DEFAULT_RETRIES
    bag = settings_bag(meta, min(retries, srv.quota.max_retries))
    bag.update(
        header_bag([(k, v) for k, v in request.headers.raw if k.lower().startswith(b"upstash-")], request.query_params)
    )
    _, payload, _ = await publish(
        srv, bag, bytes(message["body"]), row["url"], caller_ip=caller_ip(request), api="v2", queue=row["queue_name"]
    )
    await srv.store.run(queries.dlq_delete, [dlq_id])
    return payload


@endpoint
async def retry(request: Request) -> Any:
    return 201, await _retry_one(request, request.path_params["id"])


@endpoint
async def bulk_retry(request: Request) -> Any:
    ids, cursor = await _dlq_ids(request, RETRY_FILTERS)
    responses = [await _retry_one(request, i) for i in ids]
    return {"cursor": cursor or "", "responses": responses}


ROUTES = [
    Route("/v2/dlq", list_dlq, methods=["GET"]),
    Route("/v2/dlq", bulk_delete, methods=["DELETE"]),
    Route("/v2/dlq/retry", bulk_retry, methods=["POST"]),
    Route("/v2/dlq/retry/{id}", retry, methods=["POST"]),
    Route("/v2/dlq/{id}", fetch(queries.dlq_get, "id", _entry), methods=["GET"]),
    Route("/v2/dlq/{id}", delete, methods=["DELETE"]),
]
