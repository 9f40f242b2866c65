"""v2 URL groups (`/v2/topics`): list, get, delete, add and remove endpoints."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import catalog
from qstash_cli.server.context import srv_of
from qstash_cli.server.handlers import act, fetch, listing
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.ids import now_ms
from qstash_cli.server.publishing import check_name, check_url
from qstash_cli.server.shapes import clean


def group_v2(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": t["name"],
        "createdAt": t["created_at"],
        "updatedAt": t["updated_at"],
        "endpoints": [clean({"name": e.get("name"), "url": e["url"]}) for e in t["endpoints"]],
    }


def _endpoint_list(body: Any, *, need_url: bool) -> list[dict[str, Any]]:
    items = body.get("endpoints") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError(400, 'body must be {"endpoints": [{"url": ..., "name"?: ...}, ...]}')
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(400, "each endpoint must be an object")
        url, name = item.get("url"), item.get("name")
        if (url is not None and not isinstance(url, str)) or (name is not None and not isinstance(name, str)):
            raise ApiError(400, "endpoint url and name must be strings")
        if need_url and not url:
            raise ApiError(400, "each endpoint needs a url")
        if not url and not name:
            raise ApiError(400, "each endpoint needs a url or a name")
        if url:
            check_url(url, "endpoint url")
        out.append({"url": url, "name": name})
    return out


@endpoint
async def patch_group(request: Request) -> Any:
    srv = srv_of(request)
    await read_json(request, required=False)
    await srv.store.run(catalog.topic_require, request.path_params["name"])
    return None


@endpoint
async def add_endpoints(request: Request) -> Any:
    srv = srv_of(request)
    name = check_name(request.path_params["name"], "url group name")
    endpoints = _endpoint_list(await read_json(request), need_url=True)
    await srv.store.run(catalog.group_upsert, name, endpoints, now_ms(), srv.quota)
    return None


@endpoint
async def remove_endpoints(request: Request) -> Any:
    srv = srv_of(request)
    endpoints = _endpoint_list(await read_json(request), need_url=False)
    await srv.store.run(catalog.group_remove, request.path_params["name"], endpoints, now_ms())
    return None


ROUTES = [
    Route("/v2/topics", listing(catalog.topic_list, group_v2), methods=["GET"]),
    Route("/v2/topics/{name}", fetch(catalog.topic_require, "name", group_v2), methods=["GET"]),
    Route("/v2/topics/{name}", act(catalog.topic_delete, "name", True), methods=["DELETE"]),
    Route("/v2/topics/{name}", patch_group, methods=["PATCH"]),
    Route("/v2/topics/{name}/endpoints", add_endpoints, methods=["POST", "PUT"]),
    Route("/v2/topics/{name}/endpoints", remove_endpoints, methods=["DELETE"]),
]
