"""The Starlette app of `qstash dev`: the route tables of `routes/` (v2 and the seed's v1) over one store.

Each request is authenticated and its domain errors mapped to JSON by `http.endpoint`, around every handler;
Starlette's own 404/405 and unexpected errors are mapped here. `run.py` supplies the lifespan (`app.state.srv`).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from qstash_cli.server.http import http_error, server_error
from qstash_cli.server.routes import (
    console,
    dlq,
    flow_control,
    keys,
    logs,
    messages,
    publish,
    queues,
    schedules,
    topics,
    v1,
    workflow_dlq,
    workflow_events,
    workflows,
)

# One line per resource module; the order only matters within a module (its own table is ordered).
ROUTE_TABLES: list[list[Route]] = [
    publish.ROUTES,
    messages.ROUTES,
    topics.ROUTES,
    schedules.ROUTES,
    queues.ROUTES,
    dlq.ROUTES,
    logs.ROUTES,
    keys.ROUTES,
    flow_control.ROUTES,
    workflows.ROUTES,
    workflow_dlq.ROUTES,
    workflow_events.ROUTES,
    v1.ROUTES,
]


def routes(*, console_on: bool = True) -> list[Route]:
    tables = ROUTE_TABLES + ([console.ROUTES] if console_on else [])  # the browser console: `/` and /console/...
    return [route for table in tables for route in table]


def build(lifespan: Any, *, console_on: bool = True) -> Starlette:
    """The Starlette app; `lifespan` sets `app.state.srv`; `console_on=False` leaves out the browser console."""
    app = Starlette(
        routes=routes(console_on=console_on),
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # `/v2/messages/` is a JSON 404, not a redirect
    return app


def front(app: Starlette) -> Any:
    """`app` behind the accept path's fast lane: publish and enqueue answered without Starlette's router
    (`routes/publish.FastPath`, the same pipeline and answers); everything else goes on to `app`."""
    return publish.FastPath(app)
