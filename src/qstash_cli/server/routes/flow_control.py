"""v2 flow control: the keys in use (`/v2/flowControl`), their management (pause, resume, pin, unpin, resetRate)
and the global parallelism."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server.context import Server, query, srv_of
from qstash_cli.server.filters import NO_FILTERS, Filters, integer
from qstash_cli.server.handlers import answer
from qstash_cli.server.http import ApiError, endpoint

SEARCH = Filters(
    {"search": "flowControlKey"}, time=None
)  # a substring of the key, matched here (the engine holds them)


@endpoint
async def keys(request: Request) -> Any:
    search = (query(request, SEARCH).get("search") or [""])[0]
    return [e for e in srv_of(request).engine.flow_entries() if search in e["flowControlKey"]]


@endpoint
async def key(request: Request) -> Any:
    key = request.path_params["key"]
    for entry in srv_of(request).engine.flow_entries():
        if entry["flowControlKey"] == key:
            return entry
    raise ApiError(404, f"flow control key {key!r} not found")


PIN = Filters({"parallelism": "", "rate": "", "period": ""}, time=None)
UNPIN = Filters({"parallelism": "", "rate": ""}, time=None)


def _number(params: dict[str, list[str]], name: str) -> int | None:
    raw = (params.get(name) or [""])[0]
    if raw == "":
        return None
    value = integer(raw, name)
    if value < 1:
        raise ApiError(400, f"{name} must be at least 1")
    return value


def _flag(params: dict[str, list[str]], name: str) -> bool:
    raw = (params.get(name) or ["false"])[0].lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"{name} must be true or false")
    return raw == "true"


def action(name: str) -> Any:
    """`POST /v2/flowControl/{key}/<name>`: pause, resume, pin (?parallelism=&rate=&period= in seconds), unpin
    (?parallelism=true&rate=true), resetRate; 404 for a key never used."""

    async def handler(request: Request) -> Any:
        values: dict[str, Any] = {}
        if name == "pin":
            params = query(request, PIN)
            values = {p: _number(params, p) for p in ("parallelism", "rate", "period")}
        elif name == "unpin":
            params = query(request, UNPIN)
            values = {p: _flag(params, p) for p in ("parallelism", "rate")}
        else:
            query(request, NO_FILTERS)
        key = request.path_params["key"]
        if not await srv_of(request).engine.flow_act(key, name, **values):
            raise ApiError(404, f"flow control key {key!r} not found")
        return None

    return endpoint(handler)


def global_parallelism(srv: Server) -> dict[str, int]:
    return {"parallelismMax": srv.engine.workers, "parallelismCount": srv.engine.inflight}


ROUTES = [
    Route("/v2/flowControl", keys, methods=["GET"]),
    Route("/v2/flowControl/{key}", key, methods=["GET"]),
    *[
        Route(f"/v2/flowControl/{{key}}/{name}", action(name), methods=["POST"])
        for name in ("pause", "resume", "pin", "unpin", "resetRate")
    ],
    Route("/v2/globalParallelism", answer(global_parallelism), methods=["GET"]),
]
