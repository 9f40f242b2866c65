"""v2 flow control: the keys in use (`/v2/flowControl`) and the global parallelism."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server.context import Server, query, srv_of
from qstash_cli.server.filters import Filters
from qstash_cli.server.handlers import answer
from qstash_cli.server.http import ApiError, endpoint

SEARCH = Filters(
    {"search": "flowControlKey"}, time=None
)  # a substring of the key, matched here (the engine holds them)


@endpoint
async def keys(request: Request) -> Any:
    search = (query(request, SEARCH).get("search") or [""])[0]
    return [e for e in srv_of(request).engine.flow_control() if search in e["flowControlKey"]]


@endpoint
async def key(request: Request) -> Any:
    key = request.path_params["key"]
    for entry in srv_of(request).engine.flow_control():
        if entry["flowControlKey"] == key:
            return entry
    raise ApiError(404, f"flow control key {key!r} not found")


def global_parallelism(srv: Server) -> dict[str, int]:
    return {"parallelismMax": srv.engine.workers, "parallelismCount": srv.engine.inflight}


ROUTES = [
    Route("/v2/flowControl", keys, methods=["GET"]),
    Route("/v2/flowControl/{key}", key, methods=["GET"]),
    Route("/v2/globalParallelism", answer(global_parallelism), methods=["GET"]),
]
