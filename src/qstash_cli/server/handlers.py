"""Route handlers of one shape, written once: fetch by a path parameter, list all, act on one and answer."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from qstash_cli.server.context import Server, query, srv_of
from qstash_cli.server.filters import NO_FILTERS, Filters
from qstash_cli.server.http import endpoint

Job = Callable[..., Any]
Shape = Callable[[Any], Any]
Handler = Callable[[Request], Awaitable[Response]]


def fetch(job: Job, param: str | None = None, shape: Shape | None = None) -> Handler:
    """GET: the store `job` (given the path parameter `param`, if any), its result through `shape`."""

    async def handler(request: Request) -> Any:
        args = (request.path_params[param],) if param else ()
        found = await srv_of(request).store.run(job, *args)
        return shape(found) if shape else found

    return endpoint(handler)


def listing(job: Job, shape: Shape = lambda item: item, filters: Filters = NO_FILTERS) -> Handler:
    """GET: every item the store `job` lists, each through `shape`; 400 for a query parameter `filters` lacks."""

    async def handler(request: Request) -> Any:
        query(request, filters)
        return [shape(item) for item in await srv_of(request).store.run(job)]

    return endpoint(handler)


def act(
    job: Job, param: str, *args: Any, answer: Any = None, then: Callable[[Server, Any], None] | None = None
) -> Handler:
    """A write on one object: the store `job(path parameter, *args)`, then `then(srv, result)`; answers `answer`
    (None: 200 with an empty body)."""

    async def handler(request: Request) -> Any:
        srv = srv_of(request)
        result = await srv.store.run(job, request.path_params[param], *args)
        if then is not None:
            then(srv, result)
        return answer

    return endpoint(handler)


def answer(fn: Callable[[Server], Any]) -> Handler:
    """A route answering `fn(srv)` (awaited when it is a coroutine), e.g. the signing keys."""

    async def handler(request: Request) -> Any:
        found = fn(srv_of(request))
        return await found if inspect.isawaitable(found) else found

    return endpoint(handler)
