"""v2 publish, enqueue and batch. Publish and enqueue are also served by `FastPath`, a bare ASGI app in front of
Starlette's router (the accept path, issue 12); the Routes below answer the same calls when they are not in front
(tests that build the Starlette app alone)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qstash_cli.server import intake
from qstash_cli.server.context import caller_ip, srv_of
from qstash_cli.server.http import (
    DOMAIN_ERRORS,
    UNAUTHORIZED,
    ApiError,
    bearer,
    endpoint,
    error_of,
    read_json,
    receive_body,
)
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import commit, destination_of, prepare, publish_request
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


JSON_HEADERS = [(b"content-type", b"application/json")]


class FastPath:
    """POST /v2/publish/{destination} and /v2/enqueue/{queue}/{destination} straight from the ASGI scope: the same
    pipeline (`intake.publish`) and the same answers as the Routes, without the router, middleware stack, Request
    and Response objects around each call. Everything else goes to `app`."""

    def __init__(self, app: ASGIApp, srv_of_app: Any) -> None:
        self.app = app
        self.srv_of_app = srv_of_app  # () -> Server, once the lifespan has set it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith("/v2/publish/"):
                return await self._publish(scope, receive, send, 3, None)
            if path.startswith("/v2/enqueue/"):
                queue, slash, _ = path[12:].partition("/")
                if queue and slash:
                    return await self._publish(scope, receive, send, 4, queue)
        await self.app(scope, receive, send)

    async def _publish(self, scope: Scope, receive: Receive, send: Send, parts: int, queue: str | None) -> None:
        srv = self.srv_of_app()
        raw = scope["headers"]
        authorization = length = ""
        for name, value in raw:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
        query_string = scope.get("query_string", b"")
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)) if query_string else {}
        if bearer(authorization, lambda: query.get("qstash_token", "")) != srv.token:
            return await _answer(send, UNAUTHORIZED[0], {"error": UNAUTHORIZED[1]})
        try:
            destination = destination_of(scope, parts)
            body = await receive_body(scope, receive, length, srv.quota.max_message_size)
            client = scope.get("client")
            status, payload, headers = await intake.publish(
                srv,
                header_bag(raw, query),
                body,
                destination,
                caller_ip=client[0] if client else "127.0.0.1",
                api="v2",
                queue=queue,
            )
        except ClientDisconnect:
            return None
        except DOMAIN_ERRORS as exc:
            status, message = error_of(exc) or (500, "")
            return await _answer(send, status, {"error": message})
        except Exception as exc:  # noqa: BLE001 - as the Routes' server_error answers it
            sys.stderr.write(f"internal error on POST {scope['path']}: {type(exc).__name__}: {exc}\n")
            return await _answer(send, 500, {"error": "internal server error"})
        return await _answer(send, status, payload, headers)


async def _answer(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    body = compact(payload)
    head = [(b"content-length", b"%d" % len(body)), *JSON_HEADERS]
    if headers:
        head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


ROUTES = [
    Route("/v2/publish/{dest:path}", publish, methods=["POST"]),
    Route("/v2/enqueue/{queue}/{dest:path}", enqueue, methods=["POST"]),
    Route("/v2/batch", batch, methods=["POST"]),
]
