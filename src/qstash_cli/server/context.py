"""What every route reads from its request: the `Server` (store, engine, scheduler, keys, quota) and the query."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from qstash_cli.server import data
from qstash_cli.server.engine import Engine, KeyRing
from qstash_cli.server.filters import Filters
from qstash_cli.server.http import ApiError
from qstash_cli.server.ids import now_ms
from qstash_cli.server.quota import Quota
from qstash_cli.server.scheduler import Scheduler
from qstash_cli.server.store import Store


@dataclass
class Server:
    """Everything a route needs."""

    store: Store
    engine: Engine
    scheduler: Scheduler
    keys: KeyRing
    quota: Quota
    token: str
    dedup_window_ms: int
    console_token_in_page: bool = False  # the console page carries the token (a loopback server)
    message_grace_ms: int = 600_000  # how long GET /v2/messages/{id} still answers after delivery
    closing: asyncio.Event = field(default_factory=asyncio.Event)  # set when the server starts to shut down
    own_address: tuple[str, int] = ("", 0)  # the host and port this server listens on (its own URLs are refused)


def srv_of(request: Request) -> Server:
    return request.app.state.srv


def params(request: Request) -> dict[str, list[str]]:
    """The query parameters, each with all its values."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


def query(request: Request, filters: Filters) -> dict[str, list[str]]:
    """The query parameters, when `filters` declares every one; 400 `unknown filter: <name>` otherwise."""
    found = params(request)
    filters.check(found)
    return found


def caller_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


def str_field(body: Any, name: str) -> str:
    """A non-empty string field of a JSON object body; 400 otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get(name), str) or not body[name]:
        raise ApiError(400, f"body must be a JSON object with a string '{name}'")
    return body[name]


async def cancel(srv: Server, ids: list[str]) -> int:
    """Cancel messages (stored, then their queued deliveries dropped); how many were pending."""
    count, task_ids = await srv.store.run(data.cancel_messages, ids, now_ms())
    srv.engine.cancel(task_ids)
    return count


async def cancel_one(srv: Server, message_id: str) -> int:
    """Cancel one message; 404 when it was never stored."""
    if not await srv.store.run(data.message_exists, message_id):
        raise ApiError(404, f"message {message_id!r} not found")
    return await cancel(srv, [message_id])


def keys_of(srv: Server) -> dict[str, str]:
    return {"current": srv.keys.current, "next": srv.keys.next}


async def rotate_keys(srv: Server) -> dict[str, str]:
    """Stored first, then in force for the workers."""
    srv.keys.current, srv.keys.next = await srv.store.run(data.rotate_keys)
    return keys_of(srv)
