"""v2 publish, enqueue and batch."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server.context import caller_ip, srv_of
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import commit, prepare, publish_request
from qstash_cli.server.publishing import header_bag
from qstash_cli.server.wire import compact


@endpoint
async def publish(request: Request) -> Any:
    return await publish_request(request, "v2", 3)


@endpoint
async def enqueue(request: Request) -> Any:
    return await publish_request(request, "v2", 4, queue=request.path_params["queue"])


def _batch_items(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise ApiError(400, "batch body must be a JSON array of messages")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("destination"), str):
            raise ApiError(400, "each batch item must be an object with a string 'destination'")
        if item.get("headers") is not None and not isinstance(item["headers"], dict):
            raise ApiError(400, "batch item 'headers' must be an object")
    return items


def _item_body(body: Any) -> bytes:
    """A batch item's body: a string as it is, any other JSON value (the JS SDK sends objects) as compact JSON."""
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else compact(body)


@endpoint
async def batch(request: Request) -> Any:
    srv = srv_of(request)
    items = _batch_items(await read_json(request, srv.quota.max_message_size * 10))
    now = now_ms()
    cache: dict[Any, Any] = {}
    prepared = []
    for item in items:
        raw = [
            (str(k).encode("latin-1", "replace"), str(v).encode("latin-1", "replace"))
            for k, v in (item.get("headers") or {}).items()
        ]
        bag = header_bag(raw, {})
        queue = item.get("queue") or bag.get("upstash-queue-name")
        prepared.append(
            await prepare(
                srv,
                bag,
                _item_body(item.get("body")),
                item["destination"],
                caller_ip=caller_ip(request),
                api="v2",
                now=now,
                queue=queue,
                cache=cache,
            )
        )
    return [payload for _, payload, _ in await commit(srv, prepared, now)]


ROUTES = [
    Route("/v2/publish/{dest:path}", publish, methods=["POST"]),
    Route("/v2/enqueue/{queue}/{dest:path}", enqueue, methods=["POST"]),
    Route("/v2/batch", batch, methods=["POST"]),
]
