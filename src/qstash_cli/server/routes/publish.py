"""v2 publish, enqueue and batch. Publish and enqueue are bare ASGI apps (`Publish`): Starlette's router reaches them
as Routes, and `FastPath` (put before the router by `app.front`) hands them their calls without routing — the accept
path (issue 12) pays for no router, middleware stack, Request or Response object."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qstash_cli.server import intake
from qstash_cli.server.context import caller_ip, srv_of
from qstash_cli.server.http import (
    UNAUTHORIZED,
    ApiError,
    bearer,
    endpoint,
    failure,
    read_json,
    receive_body,
)
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import commit, destination_of, prepare
from qstash_cli.server.publishing import header_bag
from qstash_cli.server.wire import compact


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


class Publish:
    """POST /v2/publish/{destination} (`parts` = 3) or /v2/enqueue/{queue}/{destination} (`parts` = 4), straight
    from the ASGI scope: the token check, the body, `intake.publish` and the JSON answer, with the same errors as
    every `http.endpoint` route."""

    def __init__(self, parts: int) -> None:
        self.parts = parts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        srv = scope["app"].state.srv
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
            destination = destination_of(scope, self.parts)
            body = await receive_body(scope, receive, length, srv.quota.max_message_size)
            client = scope.get("client")
            status, payload, headers = await intake.publish(
                srv,
                header_bag(raw, query),
                body,
                destination,
                caller_ip=client[0] if client else "127.0.0.1",
                api="v2",
                queue=scope["path"].split("/", 4)[3] if self.parts == 4 else None,
            )
        except ClientDisconnect:
            return None
        except Exception as exc:  # noqa: BLE001 - answered as app.py's server_error answers the other routes
            return await _answer(send, *failure(exc, f"POST {scope['path']}"))
        return await _answer(send, status, payload, headers)


PUBLISH, ENQUEUE = Publish(3), Publish(4)


class FastPath:
    """`app` with publish and enqueue taken before its router: a POST whose path the two Routes below match goes
    straight to their ASGI app; everything else (other methods too: the Routes answer 405) goes to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            handler = None
            if path.startswith("/v2/publish/"):
                handler = PUBLISH
            elif path.startswith("/v2/enqueue/"):
                queue, slash, _ = path[12:].partition("/")
                handler = ENQUEUE if queue and slash else None
            if handler is not None:
                scope["app"] = self.app  # as Starlette sets it for its routes
                return await handler(scope, receive, send)
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    body = compact(payload)
    head = [(b"content-length", b"%d" % len(body)), *JSON_HEADERS]
    if headers:
        head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


ROUTES = [
    Route("/v2/publish/{dest:path}", PUBLISH, methods=["POST"]),
    Route("/v2/enqueue/{queue}/{dest:path}", ENQUEUE, methods=["POST"]),
    Route("/v2/batch", batch, methods=["POST"]),
]
