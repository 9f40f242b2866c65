"""v2 queues: upsert, list, get, delete, pause, resume (the engine follows every change)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import catalog
from qstash_cli.server.context import Server, srv_of, str_field
from qstash_cli.server.handlers import act, fetch, listing
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.ids import now_ms


def _follow(srv: Server, q: dict[str, Any]) -> None:
    """The engine's gate for the queue, as stored."""
    srv.engine.set_queue(q["name"], q["parallelism"], q["paused"])


@endpoint
async def upsert(request: Request) -> Any:
    srv = srv_of(request)
    body = await read_json(request)
    name = str_field(body, "queueName")
    parallelism = body.get("parallelism", 1)
    paused = body.get("paused")
    if (
        not isinstance(parallelism, int)
        or isinstance(parallelism, bool)
        or (paused is not None and not isinstance(paused, bool))
    ):
        raise ApiError(400, "parallelism must be an integer and paused a boolean")
    _follow(srv, await srv.store.run(catalog.queue_upsert, name, parallelism, paused, now_ms(), srv.quota))
    return None


BOTH = ["POST", "PATCH"]
ROUTES = [
    Route("/v2/queues", upsert, methods=["POST"]),
    Route("/v2/queues", listing(catalog.queue_list), methods=["GET"]),
    Route("/v2/queues/{name}", fetch(catalog.queue_get, "name"), methods=["GET"]),
    Route("/v2/queues/{name}", act(catalog.queue_delete, "name"), methods=["DELETE"]),
    Route("/v2/queues/{name}/pause", act(catalog.queue_set_paused, "name", True, then=_follow), methods=BOTH),
    Route("/v2/queues/{name}/resume", act(catalog.queue_set_paused, "name", False, then=_follow), methods=BOTH),
]
