"""HTTP plumbing for the routes: auth, JSON errors, body reading, per-request log lines."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qstash_cli.server.catalog import NotFound
from qstash_cli.server.connections import BODY_RECEIVED
from qstash_cli.server.parse import BadValue
from qstash_cli.server.publishing import LimitError
from qstash_cli.server.store import DiskFull


class ApiError(Exception):
    """An error answered as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def to_response(value: Any) -> Response:
    """dict/list → 200 JSON; (status, body[, headers]) → that; Response → as is; None → 200 empty."""
    if isinstance(value, Response):
        return value
    if value is None:
        return Response(status_code=200)
    if isinstance(value, tuple):
        status, body, *rest = value
        headers = rest[0] if rest else None
        if body is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse(value)


Handler = Callable[[Request], Awaitable[Any]]


def error_of(exc: Exception) -> tuple[int, str]:
    """(status, message) of a domain error (one of DOMAIN_ERRORS), as every route answers it."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, NotFound):
        return 404, str(exc.args[0]) if exc.args else "not found"
    if isinstance(exc, LimitError):
        return 412, str(exc)
    if isinstance(exc, BadValue):
        return 400, str(exc)
    return 507, f"insufficient storage: {exc}; nothing was stored"  # DiskFull: nothing was stored, never a 2xx


DOMAIN_ERRORS = (ApiError, NotFound, LimitError, BadValue, DiskFull)


def failure(exc: Exception, where: str) -> tuple[int, dict[str, str]]:
    """(status, JSON body) for an error raised while answering `where` (`METHOD path`): a domain error as every route
    answers it, anything else a 500 (`app.server_error`'s answer), its cause written to stderr."""
    if isinstance(exc, DOMAIN_ERRORS):
        status, message = error_of(exc)
        return status, {"error": message}
    sys.stderr.write(f"internal error on {where}: {type(exc).__name__}: {exc}\n")
    return 500, {"error": "internal server error"}


UNAUTHORIZED = (401, "unauthorized: missing or invalid token")


def bearer(authorization: str, query_token: Callable[[], str]) -> str:
    """The token of a request: `Authorization: Bearer …`, else the `qstash_token` query parameter."""
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return query_token()


def endpoint(fn: Handler, *, authenticated: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a route: check the token (unless the route is public, like a workflow webhook), map domain errors to
    JSON errors."""

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        srv = request.app.state.srv
        token = bearer(request.headers.get("authorization", ""), lambda: request.query_params.get("qstash_token", ""))
        if authenticated and token != srv.token:
            return error(*UNAUTHORIZED)
        try:
            return to_response(await fn(request))
        except DOMAIN_ERRORS as exc:
            return error(*error_of(exc))

    return wrapper


BODY_TIMEOUT = 60.0  # seconds to receive a whole request body


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, read as it streams in; 413 beyond `limit` bytes (checked before reading when Content-Length is
    given, and never buffering more than `limit` + one chunk otherwise); 408 when it takes over BODY_TIMEOUT."""
    return await receive_body(request.scope, request.receive, request.headers.get("content-length"), limit)


async def receive_body(scope: Scope, receive: Receive, length: str | None, limit: int) -> bytes:
    """`read_body` on a bare ASGI request (`length`: its Content-Length header); ClientDisconnect when the client
    went away. A body that had arrived whole before the app started (`connections.BODY_RECEIVED`) needs no timer."""
    if length and length.isdigit() and int(length) > limit:
        raise ApiError(413, f"message size {length} bytes exceeds the limit of {limit} bytes")
    if scope.get(BODY_RECEIVED):
        return await _receive_all(receive, limit)
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await _receive_all(receive, limit)
    except TimeoutError:
        raise ApiError(408, f"request body not received within {BODY_TIMEOUT:g}s") from None


async def _receive_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"message size exceeds the limit of {limit} bytes")
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


CONFIG_JSON_LIMIT = 1 << 20  # bodies of the management calls (topics, endpoints, queues, ...)


async def read_json(request: Request, limit: int = CONFIG_JSON_LIMIT, *, required: bool = True) -> Any:
    """The JSON body (at most `limit` bytes); 400 when it is malformed (or missing and required)."""
    body = await read_body(request, limit)
    if not body.strip():
        if required:
            raise ApiError(400, "request body must be JSON")
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error(404, f"not found: {request.method} {request.url.path}")
    if exc.status_code == 405:
        return error(405, f"method {request.method} not allowed on {request.url.path}")
    return error(exc.status_code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    sys.stderr.write(f"internal error on {request.method} {request.url.path}: {type(exc).__name__}: {exc}\n")
    return error(500, "internal server error")


MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_COUNT = 1000


class AccessLog:
    """ASGI middleware: refuses oversize header sets (431, JSON: over MAX_HEADER_COUNT or MAX_HEADER_BYTES) and
    writes `METHOD path status ms` to stderr."""

    def __init__(self, app: ASGIApp, enabled: Callable[[], bool]) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_many = scope["type"] == "http" and len(scope["headers"]) > MAX_HEADER_COUNT
        if too_many or scope["type"] == "http" and sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            what = f"{MAX_HEADER_COUNT} headers" if too_many else f"{MAX_HEADER_BYTES} bytes"
            await error(431, f"request headers exceed {what}")(scope, receive, send)
            if self.enabled():
                sys.stderr.write(f"{scope['method']} {scope['path'][:160]} 431\n")
            return
        if scope["type"] != "http" or not self.enabled():
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await self.app_send(send, message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            raw_path = scope.get("raw_path") or scope["path"].encode()
            sys.stderr.write(access_line(scope["method"], raw_path, status[0], time.perf_counter() - start))

    @staticmethod
    async def app_send(send: Send, message: Message) -> None:
        await send(message)


def access_line(method: str, raw_path: bytes, status: int, seconds: float) -> str:
    """One request's log line: `METHOD path status ms`, the path cut at 160 characters, its token redacted."""
    path = raw_path.decode("latin-1", "replace")
    if len(path) > 160:
        path = path[:157] + "..."
    return f"{method} {_redact(path)} {status} {seconds * 1000:.1f}ms\n"


def _redact(path: str) -> str:
    if "qstash_token=" not in path:
        return path
    head, _, tail = path.partition("qstash_token=")
    rest = tail.partition("&")
    return f"{head}qstash_token=***{rest[1]}{rest[2]}"
