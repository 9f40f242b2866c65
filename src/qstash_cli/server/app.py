"""Starlette routes: the seed's v1 API under /v1 and today's v2 API under /v2, over one store."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import catalog, data, queries, scheduler, views
from qstash_cli.server.engine import Engine, KeyRing
from qstash_cli.server.http import ApiError, endpoint, http_error, read_body, read_json, server_error
from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.models import Target
from qstash_cli.server.parse import BadValue
from qstash_cli.server.publishing import (
    NAME_RE,
    check_name,
    check_url,
    dedup_key,
    header_bag,
    is_url,
    make_specs,
    parse_config,
)
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


def srv_of(request: Request) -> Server:
    return request.app.state.srv


def _params(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


def _caller_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


# -- publish ----------------------------------------------------------------------------------------------------


def destination_of(request: Request, prefix_parts: int) -> str:
    """The raw destination after `/vN/<op>/[<queue>/]`, with a percent-encoded URL decoded and the caller's own
    query string (minus `qstash_token` and `upstash-*`) kept on URL destinations."""
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")  # url: only if needed
    parts = raw.split("/", prefix_parts)
    dest = parts[prefix_parts] if len(parts) > prefix_parts else ""
    if dest.lower().startswith(("http%3a", "https%3a")):
        dest = unquote(dest)
    for scheme in ("http:/", "https:/"):
        if dest.startswith(scheme) and not dest.startswith(scheme + "/"):
            dest = scheme + "/" + dest[len(scheme) :]
    if is_url(dest):
        query = request.scope.get("query_string", b"").decode("latin-1")
        kept = [
            (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if k != "qstash_token" and not k.lower().startswith("upstash-")
        ]
        if kept:
            dest += ("&" if "?" in dest else "?") + urlencode(kept)
    if not dest:
        raise BadValue("missing destination")
    return dest


async def _targets(
    srv: Server, destination: str, cache: dict[str, Any] | None = None
) -> tuple[list[Target], dict[str, Any] | None]:
    if is_url(destination) or "://" in destination:
        return [Target(check_url(destination))], None
    if not NAME_RE.match(destination):
        raise ApiError(400, f"invalid destination {destination[:100]!r}: not an http(s) URL or a url group name")
    if cache is not None and destination in cache:
        return cache[destination]
    topic = await srv.store.run(catalog.topic_get, destination)
    if topic is None:
        raise ApiError(404, f"topic or url group {destination!r} not found")
    if not topic["endpoints"]:
        raise ApiError(400, f"topic or url group {destination!r} has no endpoints")
    found = [Target(e["url"], e["id"], e.get("name")) for e in topic["endpoints"]], topic
    if cache is not None:
        cache[destination] = found
    return found


@dataclass
class Prepared:
    """A validated publish, ready to be stored (or, for a v1 `Upstash-Cron` publish, already answered)."""

    specs: list[Any]
    key: str | None
    response: Any
    duplicate: bool = False  # an already-answered v1 cron publish whose dedup id was seen


async def prepare(
    srv: Server,
    bag: dict[str, str],
    body: bytes,
    destination: str,
    *,
    caller_ip: str,
    api: str,
    now: int,
    queue: str | None = None,
    cache: dict[str, Any] | None = None,
) -> Prepared:
    """Validate one publish (or enqueue) and build its messages; raises ApiError/BadValue/LimitError."""
    if len(body) > srv.quota.max_message_size:
        raise ApiError(413, f"message size {len(body)} bytes exceeds the limit of {srv.quota.max_message_size}")
    cfg = parse_config(bag, quota=srv.quota, caller_ip=caller_ip, api=api, now=now)
    if cfg.cron and api == "v1":  # deduplication happens before the schedule is created (seed)
        key = dedup_key(cfg, bag, destination, body)
        earlier, response = await create_schedule(srv, cfg, destination, body, now, key=key)
        return Prepared([], key, earlier or response, duplicate=earlier is not None)
    targets, topic = await _targets(srv, destination, cache)
    if queue:
        check_name(queue, "queue name")
        if cache is None or ("queue", queue) not in cache:
            q = await srv.store.run(catalog.queue_ensure, queue, now)
            srv.engine.set_queue(queue, q["parallelism"], q["paused"])
            if cache is not None:
                cache[("queue", queue)] = True
    specs = make_specs(
        cfg.meta,
        body,
        targets=targets,
        per_target=topic is not None and api == "v2",
        max_retries=cfg.max_retries,
        first_attempt=cfg.first_attempt(now),
        now=now,
        topic=topic,
        queue_name=queue,
    )
    response: Any
    if topic is not None and api == "v2":
        response = [{"messageId": s.id, "url": s.url} for s in specs]
    elif topic is not None:
        response = {"messageId": specs[0].id}
    else:
        response = {"messageId": specs[0].id, "url": specs[0].url}
    return Prepared(specs, dedup_key(cfg, bag, destination, body), response)


async def commit(srv: Server, items: list[Prepared], now: int) -> list[tuple[int, Any, dict[str, str]]]:
    """Store prepared publishes in one database job; (status, JSON body, headers) for each."""
    todo = [(p.specs, p.key, p.response) for p in items if p.specs]
    results = iter(await srv.store.run(data.publish_many, todo, now + srv.dedup_window_ms, now) if todo else [])
    out = []
    for p in items:
        dup_headers = {"Upstash-Deduplication-Id": p.key.split(":", 1)[1] if p.key else ""}
        if not p.specs:
            answer = (202, {**p.response, "deduplicated": True}, dup_headers) if p.duplicate else (200, p.response, {})
            out.append(answer)
            continue
        earlier, deliveries = next(results)
        if earlier is None:
            srv.engine.add(deliveries)
            out.append((200, p.response, {}))
            continue
        if isinstance(earlier, list):
            out.append((202, [{**item, "deduplicated": True} for item in earlier], dup_headers))
        else:
            out.append((202, {**earlier, "deduplicated": True}, dup_headers))
    return out


async def publish(
    srv: Server,
    bag: dict[str, str],
    body: bytes,
    destination: str,
    *,
    caller_ip: str,
    api: str,
    queue: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """Publish (or enqueue) one request: (status, JSON body, response headers)."""
    now = now_ms()
    prepared = await prepare(srv, bag, body, destination, caller_ip=caller_ip, api=api, now=now, queue=queue)
    return (await commit(srv, [prepared], now))[0]


async def create_schedule(
    srv: Server, cfg: Any, destination: str, body: bytes, now: int, *, key: str | None = None
) -> tuple[Any, dict[str, str]]:
    """Create (or overwrite) a schedule: (the earlier answer when `key` is a duplicate, else None; the answer)."""
    if is_url(destination):
        check_url(destination)
    else:
        check_name(destination, "url group name")
    sid = cfg.schedule_id or new_id("scd")
    meta = {**cfg.meta, "retries": cfg.max_retries}
    if cfg.queue_name:
        meta["queueName"] = cfg.queue_name
    response = {"scheduleId": sid}
    expires_at = now + srv.dedup_window_ms
    job = (scheduler.schedule_upsert, sid, cfg.cron, destination, meta, body, now, srv.quota)
    earlier, next_at = await srv.store.run(_schedule_once, key, expires_at, now, response, job)
    if earlier is None:
        srv.scheduler.watch(sid, next_at)
    return earlier, response


def _schedule_once(conn: Any, key: str | None, expires_at: int, now: int, response: Any, job: tuple) -> tuple:
    """Database job: run the schedule upsert unless `key` is a duplicate, in one transaction."""
    earlier = data.dedup_lookup(conn, key, now)
    if earlier is not None:
        return earlier, None
    upsert, *args = job
    next_at = upsert(conn, *args)
    data.dedup_remember(conn, key, expires_at, response)
    return None, next_at


async def _publish_route(request: Request, api: str, prefix_parts: int, queue: str | None = None) -> Any:
    srv = srv_of(request)
    destination = destination_of(request, prefix_parts)
    body = await read_body(request, srv.quota.max_message_size)
    bag = header_bag(request.headers.raw, request.query_params)
    status, payload, headers = await publish(
        srv, bag, body, destination, caller_ip=_caller_ip(request), api=api, queue=queue
    )
    return status, payload, headers


@endpoint
async def v2_publish(request: Request) -> Any:
    return await _publish_route(request, "v2", 3)


@endpoint
async def v1_publish(request: Request) -> Any:
    return await _publish_route(request, "v1", 3)


@endpoint
async def v2_enqueue(request: Request) -> Any:
    return await _publish_route(request, "v2", 4, queue=request.path_params["queue"])


@endpoint
async def v2_batch(request: Request) -> Any:
    srv = srv_of(request)
    items = await read_json(request, srv.quota.max_message_size * 10)
    if not isinstance(items, list):
        raise ApiError(400, "batch body must be a JSON array of messages")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("destination"), str):
            raise ApiError(400, "each batch item must be an object with a string 'destination'")
        if not isinstance(item.get("headers", {}), dict) or not isinstance(item.get("body", ""), str):
            raise ApiError(400, "batch item 'headers' must be an object and 'body' a string")
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
                str(item.get("body") or "").encode(),
                item["destination"],
                caller_ip=_caller_ip(request),
                api="v2",
                now=now,
                queue=queue,
                cache=cache,
            )
        )
    return [payload for _, payload, _ in await commit(srv, prepared, now)]


# -- messages ---------------------------------------------------------------------------------------------------


async def _cancel(srv: Server, ids: list[str]) -> int:
    count, task_ids = await srv.store.run(data.cancel_messages, ids, now_ms())
    srv.engine.cancel(task_ids)
    return count


@endpoint
async def v2_message_get(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v2_message, request.path_params["id"])


@endpoint
async def v2_message_cancel(request: Request) -> Any:
    srv = srv_of(request)
    mid = request.path_params["id"]
    if not await srv.store.run(data.message_exists, mid):
        raise ApiError(404, f"message {mid!r} not found")
    return {"cancelled": await _cancel(srv, [mid])}


@endpoint
async def v2_messages_cancel(request: Request) -> Any:
    srv = srv_of(request)
    params = _params(request)
    body = await read_json(request, 10 << 20, required=False)
    if body is not None and not isinstance(body, dict):
        raise ApiError(400, 'body must be a JSON object like {"messageIds": [...]}')
    ids = (body or {}).get("messageIds")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ApiError(400, "messageIds must be a list of strings")
    if ids is None:
        where, args = _wrap(queries.message_filter, params)
        count = params.get("count")
        limit = min(int(count[0]), 500) if count and count[0].isdigit() else None
        ids = await srv.store.run(data.pending_message_ids, where, args, limit)
    return {"cancelled": await _cancel(srv, ids)}


def _wrap(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@endpoint
async def v1_messages(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v1_messages, _cursor_ms(request))


@endpoint
async def v1_message_get(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v1_message, request.path_params["id"])


@endpoint
async def v1_message_cancel(request: Request) -> Any:
    srv = srv_of(request)
    mid = request.path_params["id"]
    if not await srv.store.run(data.message_exists, mid):
        raise ApiError(404, f"message {mid!r} not found")
    await _cancel(srv, [mid])
    return 202, {"status": "accepted"}


@endpoint
async def v1_message_tasks(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v1_tasks, request.path_params["id"], _cursor_ms(request))


@endpoint
async def v1_message_logs(request: Request) -> Any:
    return await srv_of(request).store.run(
        lambda c: queries.v1_logs(c, _cursor_ms(request), message_id=request.path_params["id"])
    )


@endpoint
async def v1_task_get(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v1_task, request.path_params["id"])


@endpoint
async def v1_task_logs(request: Request) -> Any:
    return await srv_of(request).store.run(
        lambda c: queries.v1_logs(c, _cursor_ms(request), task_id=request.path_params["id"])
    )


@endpoint
async def v1_logs(request: Request) -> Any:
    return await srv_of(request).store.run(queries.v1_logs, _cursor_ms(request))


@endpoint
async def v1_events(request: Request) -> Any:
    cursor = request.query_params.get("cursor") or None
    return await srv_of(request).store.run(lambda c: _wrap(queries.v1_events, c, cursor))


def _cursor_ms(request: Request) -> int | None:
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"invalid cursor {raw!r}: want a unix time in milliseconds") from None


@endpoint
async def v2_logs(request: Request) -> Any:
    params = _params(request)
    return await srv_of(request).store.run(lambda c: _wrap(queries.v2_logs, c, params))


# -- topics and endpoints ---------------------------------------------------------------------------------------


def _str_field(body: Any, name: str) -> str:
    if not isinstance(body, dict) or not isinstance(body.get(name), str) or not body[name]:
        raise ApiError(400, f"body must be a JSON object with a string '{name}'")
    return body[name]


@endpoint
async def v1_topics(request: Request) -> Any:
    return [views.topic_v1(t) for t in await srv_of(request).store.run(catalog.topic_list)]


@endpoint
async def v1_topic_create(request: Request) -> Any:
    srv = srv_of(request)
    name = _str_field(await read_json(request), "name")
    return views.topic_v1(await srv.store.run(catalog.topic_create, name, now_ms(), srv.quota))


@endpoint
async def v1_topic_get(request: Request) -> Any:
    return views.topic_v1(await srv_of(request).store.run(catalog.topic_require, request.path_params["key"]))


@endpoint
async def v1_topic_update(request: Request) -> Any:
    srv = srv_of(request)
    name = _str_field(await read_json(request), "name")
    return views.topic_v1(await srv.store.run(catalog.topic_rename, request.path_params["key"], name, now_ms()))


@endpoint
async def v1_topic_delete(request: Request) -> Any:
    await srv_of(request).store.run(catalog.topic_delete, request.path_params["key"])
    return {"status": "ok"}


@endpoint
async def v1_endpoints(request: Request) -> Any:
    return [views.endpoint_v1(e) for e in await srv_of(request).store.run(catalog.endpoint_list)]


@endpoint
async def v1_endpoint_create(request: Request) -> Any:
    srv = srv_of(request)
    body = await read_json(request)
    url = _str_field(body, "url")
    topic = body.get("topicId") or body.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise ApiError(400, "one of topicId or topicName is required")
    return views.endpoint_v1(await srv.store.run(catalog.endpoint_create, topic, url, now_ms(), srv.quota))


@endpoint
async def v1_endpoint_get(request: Request) -> Any:
    return views.endpoint_v1(await srv_of(request).store.run(catalog.endpoint_get, request.path_params["id"]))


@endpoint
async def v1_endpoint_update(request: Request) -> Any:
    srv = srv_of(request)
    url = _str_field(await read_json(request), "url")
    return views.endpoint_v1(await srv.store.run(catalog.endpoint_update, request.path_params["id"], url, now_ms()))


@endpoint
async def v1_endpoint_delete(request: Request) -> Any:
    await srv_of(request).store.run(catalog.endpoint_delete, request.path_params["id"])
    return {"status": "ok"}


@endpoint
async def v2_groups(request: Request) -> Any:
    return [views.group_v2(t) for t in await srv_of(request).store.run(catalog.topic_list)]


@endpoint
async def v2_group_get(request: Request) -> Any:
    return views.group_v2(await srv_of(request).store.run(catalog.topic_require, request.path_params["name"]))


@endpoint
async def v2_group_delete(request: Request) -> Any:
    await srv_of(request).store.run(catalog.topic_delete, request.path_params["name"])
    return None


@endpoint
async def v2_group_patch(request: Request) -> Any:
    srv = srv_of(request)
    await read_json(request, required=False)
    await srv.store.run(catalog.topic_require, request.path_params["name"])
    return None


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
async def v2_group_add(request: Request) -> Any:
    srv = srv_of(request)
    name = check_name(request.path_params["name"], "url group name")
    endpoints = _endpoint_list(await read_json(request), need_url=True)
    await srv.store.run(catalog.group_upsert, name, endpoints, now_ms(), srv.quota)
    return None


@endpoint
async def v2_group_remove(request: Request) -> Any:
    srv = srv_of(request)
    endpoints = _endpoint_list(await read_json(request), need_url=False)
    await srv.store.run(catalog.group_remove, request.path_params["name"], endpoints, now_ms())
    return None


# -- schedules --------------------------------------------------------------------------------------------------


@endpoint
async def v2_schedule_create(request: Request) -> Any:
    srv = srv_of(request)
    destination = destination_of(request, 3)
    body = await read_body(request, srv.quota.max_message_size)
    bag = header_bag(request.headers.raw, request.query_params)
    now = now_ms()
    cfg = parse_config(bag, quota=srv.quota, caller_ip=_caller_ip(request), api="v2", now=now)
    if not cfg.cron:
        raise ApiError(400, "Upstash-Cron header is required")
    return (await create_schedule(srv, cfg, destination, body, now))[1]


@endpoint
async def v2_schedules(request: Request) -> Any:
    return [views.schedule_v2(s) for s in await srv_of(request).store.run(scheduler.schedule_list)]


@endpoint
async def v2_schedule_get(request: Request) -> Any:
    return views.schedule_v2(await srv_of(request).store.run(scheduler.schedule_get, request.path_params["id"]))


@endpoint
async def schedule_delete(request: Request) -> Any:
    await srv_of(request).store.run(scheduler.schedule_delete, request.path_params["id"])
    return (202, {"status": "accepted"}) if request.url.path.startswith("/v1/") else None


@endpoint
async def v2_schedule_pause(request: Request) -> Any:
    await srv_of(request).store.run(scheduler.schedule_set_paused, request.path_params["id"], True)
    return None


@endpoint
async def v2_schedule_resume(request: Request) -> Any:
    await srv_of(request).store.run(scheduler.schedule_set_paused, request.path_params["id"], False)
    return None


@endpoint
async def v1_schedules(request: Request) -> Any:
    return [views.schedule_v1(s, s["topic"]) for s in await srv_of(request).store.run(scheduler.schedule_list)]


@endpoint
async def v1_schedule_get(request: Request) -> Any:
    s = await srv_of(request).store.run(scheduler.schedule_get, request.path_params["id"])
    return views.schedule_v1(s, s["topic"])


# -- queues -----------------------------------------------------------------------------------------------------


@endpoint
async def v2_queue_upsert(request: Request) -> Any:
    srv = srv_of(request)
    body = await read_json(request)
    name = _str_field(body, "queueName")
    parallelism = body.get("parallelism", 1)
    paused = body.get("paused")
    if (
        not isinstance(parallelism, int)
        or isinstance(parallelism, bool)
        or (paused is not None and not isinstance(paused, bool))
    ):
        raise ApiError(400, "parallelism must be an integer and paused a boolean")
    q = await srv.store.run(catalog.queue_upsert, name, parallelism, paused, now_ms(), srv.quota)
    srv.engine.set_queue(name, q["parallelism"], q["paused"])
    return None


@endpoint
async def v2_queues(request: Request) -> Any:
    return await srv_of(request).store.run(catalog.queue_list)


@endpoint
async def v2_queue_get(request: Request) -> Any:
    return await srv_of(request).store.run(catalog.queue_get, request.path_params["name"])


@endpoint
async def v2_queue_delete(request: Request) -> Any:
    await srv_of(request).store.run(catalog.queue_delete, request.path_params["name"])
    return None


async def _queue_pause(request: Request, paused: bool) -> None:
    srv = srv_of(request)
    q = await srv.store.run(catalog.queue_set_paused, request.path_params["name"], paused, now_ms())
    srv.engine.set_queue(q["name"], q["parallelism"], q["paused"])


@endpoint
async def v2_queue_pause(request: Request) -> Any:
    await _queue_pause(request, True)


@endpoint
async def v2_queue_resume(request: Request) -> Any:
    await _queue_pause(request, False)


# -- DLQ --------------------------------------------------------------------------------------------------------


@endpoint
async def v2_dlq_list(request: Request) -> Any:
    params = _params(request)
    return await srv_of(request).store.run(lambda c: _wrap(queries.dlq_list, c, params))


@endpoint
async def v2_dlq_get(request: Request) -> Any:
    return await srv_of(request).store.run(queries.dlq_get, request.path_params["id"])


@endpoint
async def v2_dlq_delete(request: Request) -> Any:
    srv = srv_of(request)
    did = request.path_params["id"]
    if not await srv.store.run(queries.dlq_delete, [did]):
        raise ApiError(404, f"dlq message {did!r} not found")
    return None


async def _dlq_ids(request: Request) -> tuple[list[str], str | None]:
    """Ids from a JSON body `{"dlqIds": [...]}`, else from `dlqIds` / filters in the query."""
    body = await read_json(request, 10 << 20, required=False)
    if body is not None:
        ids = body.get("dlqIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, 'body must be {"dlqIds": ["...", ...]}')
        return ids, None
    params = _params(request)
    rows, cursor = await srv_of(request).store.run(lambda c: _wrap(queries.dlq_rows, c, params, 100))
    return [r["id"] for r in rows], cursor


@endpoint
async def v2_dlq_bulk_delete(request: Request) -> Any:
    ids, cursor = await _dlq_ids(request)
    deleted = await srv_of(request).store.run(queries.dlq_delete, ids)
    return {"deleted": deleted, **({"cursor": cursor} if cursor else {})}


async def _dlq_retry_one(request: Request, dlq_id: str) -> dict[str, Any]:
    srv = srv_of(request)
    entry = await srv.store.run(queries.dlq_get, dlq_id)
    bag = {f"upstash-forward-{k.lower()}": v[0] for k, v in entry.get("header", {}).items() if k != "Content-Type"}
    if "Content-Type" in entry.get("header", {}):
        bag["content-type"] = entry["header"]["Content-Type"][0]
    for key in ("callback", "failureCallback"):
        if entry.get(key):
            bag["upstash-" + ("failure-callback" if key == "failureCallback" else "callback")] = entry[key]
    bag["upstash-method"] = entry.get("method", "POST")
    bag["upstash-retries"] = str(min(entry.get("maxRetries", 3), srv.quota.max_retries))
    bag.update(
        header_bag([(k, v) for k, v in request.headers.raw if k.lower().startswith(b"upstash-")], request.query_params)
    )
    body = base64.b64decode(entry["bodyBase64"]) if "bodyBase64" in entry else entry.get("body", "").encode()
    _, payload, _ = await publish(
        srv, bag, body, entry["url"], caller_ip=_caller_ip(request), api="v2", queue=entry.get("queueName")
    )
    await srv.store.run(queries.dlq_delete, [dlq_id])
    return payload


@endpoint
async def v2_dlq_retry(request: Request) -> Any:
    return 201, await _dlq_retry_one(request, request.path_params["id"])


@endpoint
async def v2_dlq_bulk_retry(request: Request) -> Any:
    ids, cursor = await _dlq_ids(request)
    responses = [await _dlq_retry_one(request, i) for i in ids]
    return {"cursor": cursor or "", "responses": responses}


# -- keys, quota, misc ------------------------------------------------------------------------------------------


@endpoint
async def keys_get(request: Request) -> Any:
    keys = srv_of(request).keys
    return {"current": keys.current, "next": keys.next}


@endpoint
async def keys_rotate(request: Request) -> Any:
    srv = srv_of(request)
    srv.keys.current, srv.keys.next = await srv.store.run(data.rotate_keys)
    return {"current": srv.keys.current, "next": srv.keys.next}


@endpoint
async def v1_quota(request: Request) -> Any:
    return srv_of(request).quota.v1()


@endpoint
async def v2_flow_control(request: Request) -> Any:
    search = request.query_params.get("search", "")
    return [e for e in srv_of(request).engine.flow_control() if search in e["flowControlKey"]]


@endpoint
async def v2_flow_control_get(request: Request) -> Any:
    key = request.path_params["key"]
    for entry in srv_of(request).engine.flow_control():
        if entry["flowControlKey"] == key:
            return entry
    raise ApiError(404, f"flow control key {key!r} not found")


@endpoint
async def v2_global_parallelism(request: Request) -> Any:
    engine = srv_of(request).engine
    return {"parallelismMax": engine.workers, "parallelismCount": engine.inflight}


def routes() -> list[Route]:
    both = ["POST", "PATCH"]
    return [
        # v2
        Route("/v2/publish/{dest:path}", v2_publish, methods=["POST"]),
        Route("/v2/enqueue/{queue}/{dest:path}", v2_enqueue, methods=["POST"]),
        Route("/v2/batch", v2_batch, methods=["POST"]),
        Route("/v2/messages", v2_messages_cancel, methods=["DELETE"]),
        Route("/v2/messages/{id}", v2_message_get, methods=["GET"]),
        Route("/v2/messages/{id}", v2_message_cancel, methods=["DELETE"]),
        Route("/v2/topics", v2_groups, methods=["GET"]),
        Route("/v2/topics/{name}", v2_group_get, methods=["GET"]),
        Route("/v2/topics/{name}", v2_group_delete, methods=["DELETE"]),
        Route("/v2/topics/{name}", v2_group_patch, methods=["PATCH"]),
        Route("/v2/topics/{name}/endpoints", v2_group_add, methods=["POST", "PUT"]),
        Route("/v2/topics/{name}/endpoints", v2_group_remove, methods=["DELETE"]),
        Route("/v2/schedules", v2_schedules, methods=["GET"]),
        Route("/v2/schedules/{id}/pause", v2_schedule_pause, methods=both),
        Route("/v2/schedules/{id}/resume", v2_schedule_resume, methods=both),
        Route("/v2/schedules/{id}", v2_schedule_get, methods=["GET"]),
        Route("/v2/schedules/{id}", schedule_delete, methods=["DELETE"]),
        Route("/v2/schedules/{dest:path}", v2_schedule_create, methods=["POST"]),
        Route("/v2/queues", v2_queue_upsert, methods=["POST"]),
        Route("/v2/queues", v2_queues, methods=["GET"]),
        Route("/v2/queues/{name}", v2_queue_get, methods=["GET"]),
        Route("/v2/queues/{name}", v2_queue_delete, methods=["DELETE"]),
        Route("/v2/queues/{name}/pause", v2_queue_pause, methods=both),
        Route("/v2/queues/{name}/resume", v2_queue_resume, methods=both),
        Route("/v2/dlq", v2_dlq_list, methods=["GET"]),
        Route("/v2/dlq", v2_dlq_bulk_delete, methods=["DELETE"]),
        Route("/v2/dlq/retry", v2_dlq_bulk_retry, methods=["POST"]),
        Route("/v2/dlq/retry/{id}", v2_dlq_retry, methods=["POST"]),
        Route("/v2/dlq/{id}", v2_dlq_get, methods=["GET"]),
        Route("/v2/dlq/{id}", v2_dlq_delete, methods=["DELETE"]),
        Route("/v2/events", v2_logs, methods=["GET"]),
        Route("/v2/logs", v2_logs, methods=["GET"]),
        Route("/v2/keys", keys_get, methods=["GET"]),
        Route("/v2/keys/rotate", keys_rotate, methods=["POST"]),
        Route("/v2/rotate", keys_rotate, methods=["POST"]),
        Route("/v2/flowControl", v2_flow_control, methods=["GET"]),
        Route("/v2/flowControl/{key}", v2_flow_control_get, methods=["GET"]),
        Route("/v2/globalParallelism", v2_global_parallelism, methods=["GET"]),
        # v1
        Route("/v1/publish/{dest:path}", v1_publish, methods=["POST"]),
        Route("/v1/topics", v1_topics, methods=["GET"]),
        Route("/v1/topics", v1_topic_create, methods=["POST"]),
        Route("/v1/topics/{key}", v1_topic_get, methods=["GET"]),
        Route("/v1/topics/{key}", v1_topic_update, methods=["PUT", "PATCH"]),
        Route("/v1/topics/{key}", v1_topic_delete, methods=["DELETE"]),
        Route("/v1/endpoints", v1_endpoints, methods=["GET"]),
        Route("/v1/endpoints", v1_endpoint_create, methods=["POST"]),
        Route("/v1/endpoints/{id}", v1_endpoint_get, methods=["GET"]),
        Route("/v1/endpoints/{id}", v1_endpoint_update, methods=["PUT", "PATCH"]),
        Route("/v1/endpoints/{id}", v1_endpoint_delete, methods=["DELETE"]),
        Route("/v1/messages", v1_messages, methods=["GET"]),
        Route("/v1/messages/{id}", v1_message_get, methods=["GET"]),
        Route("/v1/messages/{id}", v1_message_cancel, methods=["DELETE"]),
        Route("/v1/messages/{id}/tasks", v1_message_tasks, methods=["GET"]),
        Route("/v1/messages/{id}/logs", v1_message_logs, methods=["GET"]),
        Route("/v1/tasks/{id}", v1_task_get, methods=["GET"]),
        Route("/v1/tasks/{id}/logs", v1_task_logs, methods=["GET"]),
        Route("/v1/schedules", v1_schedules, methods=["GET"]),
        Route("/v1/schedules/{id}", v1_schedule_get, methods=["GET"]),
        Route("/v1/schedules/{id}", schedule_delete, methods=["DELETE"]),
        Route("/v1/keys", keys_get, methods=["GET"]),
        Route("/v1/keys/rotate", keys_rotate, methods=["POST", "GET"]),
        Route("/v1/quota", v1_quota, methods=["GET"]),
        Route("/v1/logs", v1_logs, methods=["GET"]),
        Route("/v1/events", v1_events, methods=["GET"]),
    ]


def build(lifespan: Any) -> Starlette:
    """The Starlette app; `lifespan` sets `app.state.srv`."""
    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # `/v2/messages/` is a JSON 404, not a redirect
    return app
