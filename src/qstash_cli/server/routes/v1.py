"""The seed dialect, `/v1/...`: publish, topics and endpoints, messages and tasks, logs and events, schedules,
keys and quota (reference A)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from qstash_cli.server import catalog, queries, scheduler
from qstash_cli.server.context import cancel_one, keys_of, query, rotate_keys, srv_of, str_field
from qstash_cli.server.filters import NO_FILTERS
from qstash_cli.server.handlers import Handler, act, answer, fetch, listing
from qstash_cli.server.http import ApiError, endpoint, read_json
from qstash_cli.server.ids import now_ms
from qstash_cli.server.intake import publish_request
from qstash_cli.server.shapes import body_fields, clean

# -- shapes (reference A.4) -------------------------------------------------------------------------------------


def message_v1(m: Any, task: Any | None = None) -> dict[str, Any]:
    meta = json.loads(m["meta"])
    settings = clean(
        {
            "delay": meta.get("delay"),
            "notBefore": meta.get("notBefore"),
            "retries": task["max_retries"] if task is not None else None,
            "callback": meta.get("callback"),
        }
    )
    return clean(
        {
            "messageId": m["id"],
            "topicId": meta.get("topicId"),
            "topicName": m["topic_name"],
            "endpointId": task["endpoint_id"] if task is not None and m["topic_name"] else None,
            "url": (task["url"] if task is not None else m["url"]) or "",
            "method": meta.get("method", "POST"),
            "header": meta.get("header", {}),
            **body_fields(bytes(m["body"])),
            "createdAt": m["created_at"],
            "scheduleId": m["schedule_id"],
            "destinationType": "topic" if m["topic_name"] else "url",
            "settings": settings,
        }
    )


def task_v1(t: Any) -> dict[str, Any]:
    pending = t["state"] in ("CREATED", "RETRY", "ACTIVE")
    return clean(
        {
            "taskId": t["id"],
            "messageId": t["message_id"],
            "url": t["url"],
            "endpointId": t["endpoint_id"],
            "state": t["state"],
            "retried": t["retried"],
            "maxRetry": t["max_retries"],
            "createdAt": t["created_at"],
            "completedAt": t["completed_at"],
            "nextProcessAt": t["next_at"] if pending else None,
            "lastErrorAt": t["last_error_at"],
            "error": t["error"],
        }
    )


def log_v1(row: Any) -> dict[str, Any]:
    return clean(
        {
            "time": row["time"],
            "state": row["state"],
            "messageId": row["message_id"],
            "taskId": row["task_id"],
            "url": row["url"],
            "nextScheduledAt": row["next_delivery_time"] if row["state"] in ("CREATED", "RETRY") else None,
            "error": row["error"],
        }
    )


def event_v1(row: Any) -> dict[str, Any]:
    return clean(
        {
            "id": str(row["seq"]),
            "time": row["time"],
            "messageId": row["message_id"],
            "taskId": row["task_id"],
            "state": row["state"],
            "nextDeliveryTime": row["next_delivery_time"] if row["state"] in ("CREATED", "RETRY") else None,
            "error": row["error"],
            "url": row["url"],
            "topicName": row["topic_name"],
        }
    )


def topic_v1(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "topicId": t["id"],
        "id": t["id"],
        "name": t["name"],
        "endpoints": [endpoint_v1(e) for e in t["endpoints"]],
        "endpointIds": [e["id"] for e in t["endpoints"]],
        "createdAt": t["created_at"],
        "updatedAt": t["updated_at"],
    }


def endpoint_v1(e: dict[str, Any]) -> dict[str, Any]:
    return clean(
        {"endpointId": e["id"], "id": e["id"], "url": e["url"], "topicId": e["topic_id"], "name": e.get("name")}
    )


def schedule_v1(s: Any, topic: dict[str, Any] | None) -> dict[str, Any]:
    meta = json.loads(s["meta"])
    body = bytes(s["body"])
    destination: dict[str, Any] = {"type": "topic" if topic is not None else "url"}
    if topic is not None:
        destination["topic"] = topic_v1(topic)
    else:
        destination["url"] = s["destination"]
    return {
        "scheduleId": s["id"],
        "cron": s["cron"],
        "createdAt": s["created_at"],
        "content": {"header": meta.get("header", {}), "body": body.decode("utf-8", "replace")},
        "destination": destination,
        "settings": clean(
            {"delay": meta.get("delay"), "retries": meta.get("retries", 3), "callback": meta.get("callback")}
        ),
        "isPaused": bool(s["paused"]),
    }


def _schedule(s: dict[str, Any]) -> dict[str, Any]:
    return schedule_v1(s, s["topic"])


def _page(key: str, rows: list[Any], cursor: int, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    items = [shape(r) for r in rows]
    return {"cursor": cursor, key: items} if cursor else {key: items}


def _cursor_ms(request: Request) -> int | None:
    """The ms cursor of a v1 list (which takes no other parameter)."""
    raw = (query(request, NO_FILTERS).get("cursor") or [None])[0]
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"invalid cursor {raw!r}: want a unix time in milliseconds") from None


# -- handlers ---------------------------------------------------------------------------------------------------


@endpoint
async def publish(request: Request) -> Any:
    return await publish_request(request, "v1", 3)


@endpoint
async def create_topic(request: Request) -> Any:
    srv = srv_of(request)
    name = str_field(await read_json(request), "name")
    return topic_v1(await srv.store.run(catalog.topic_create, name, now_ms(), srv.quota))


@endpoint
async def create_endpoint(request: Request) -> Any:
    srv = srv_of(request)
    body = await read_json(request)
    url = str_field(body, "url")
    topic = body.get("topicId") or body.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise ApiError(400, "one of topicId or topicName is required")
    return endpoint_v1(await srv.store.run(catalog.endpoint_create, topic, url, now_ms(), srv.quota))


def _update(job: Callable[..., Any], param: str, field: str, shape: Callable[[Any], Any]) -> Handler:
    """PUT/PATCH: `job(path parameter, the body's string `field`, now)`, its result through `shape`."""

    async def handler(request: Request) -> Any:
        srv = srv_of(request)
        value = str_field(await read_json(request), field)
        return shape(await srv.store.run(job, request.path_params[param], value, now_ms()))

    return endpoint(handler)


@endpoint
async def messages(request: Request) -> Any:
    pairs, cursor = await srv_of(request).store.run(queries.v1_messages, _cursor_ms(request))
    return _page("messages", pairs, cursor, lambda pair: message_v1(*pair))


@endpoint
async def cancel_message(request: Request) -> Any:
    await cancel_one(srv_of(request), request.path_params["id"])
    return 202, {"status": "accepted"}


@endpoint
async def message_tasks(request: Request) -> Any:
    rows, cursor = await srv_of(request).store.run(queries.v1_tasks, request.path_params["id"], _cursor_ms(request))
    return _page("tasks", rows, cursor, task_v1)


def _logs(of: str | None = None) -> Handler:
    """GET the logs, of one message or task (`of`: `message_id`/`task_id`, from the path's `id`) or all."""

    async def handler(request: Request) -> Any:
        by, since = ({of: request.path_params["id"]} if of else {}), _cursor_ms(request)
        rows, cursor = await srv_of(request).store.run(lambda c: queries.v1_logs(c, since, **by))
        return _page("logs", rows, cursor, log_v1)

    return endpoint(handler)


@endpoint
async def events(request: Request) -> Any:
    since = (query(request, NO_FILTERS).get("cursor") or [None])[0] or None
    rows, cursor = await srv_of(request).store.run(queries.v1_events, since)
    out: dict[str, Any] = {"events": [event_v1(r) for r in rows]}
    if cursor:
        out["cursor"] = cursor
    return out


OK, ACCEPTED = {"status": "ok"}, (202, {"status": "accepted"})
ROUTES = [
    Route("/v1/publish/{dest:path}", publish, methods=["POST"]),
    Route("/v1/topics", listing(catalog.topic_list, topic_v1), methods=["GET"]),
    Route("/v1/topics", create_topic, methods=["POST"]),
    Route("/v1/topics/{key}", fetch(catalog.topic_require, "key", topic_v1), methods=["GET"]),
    Route("/v1/topics/{key}", _update(catalog.topic_rename, "key", "name", topic_v1), methods=["PUT", "PATCH"]),
    Route("/v1/topics/{key}", act(catalog.topic_delete, "key", answer=OK), methods=["DELETE"]),
    Route("/v1/endpoints", listing(catalog.endpoint_list, endpoint_v1), methods=["GET"]),
    Route("/v1/endpoints", create_endpoint, methods=["POST"]),
    Route("/v1/endpoints/{id}", fetch(catalog.endpoint_get, "id", endpoint_v1), methods=["GET"]),
    Route("/v1/endpoints/{id}", _update(catalog.endpoint_update, "id", "url", endpoint_v1), methods=["PUT", "PATCH"]),
    Route("/v1/endpoints/{id}", act(catalog.endpoint_delete, "id", answer=OK), methods=["DELETE"]),
    Route("/v1/messages", messages, methods=["GET"]),
    Route("/v1/messages/{id}", fetch(queries.v1_message, "id", lambda pair: message_v1(*pair)), methods=["GET"]),
    Route("/v1/messages/{id}", cancel_message, methods=["DELETE"]),
    Route("/v1/messages/{id}/tasks", message_tasks, methods=["GET"]),
    Route("/v1/messages/{id}/logs", _logs("message_id"), methods=["GET"]),
    Route("/v1/tasks/{id}", fetch(queries.v1_task, "id", task_v1), methods=["GET"]),
    Route("/v1/tasks/{id}/logs", _logs("task_id"), methods=["GET"]),
    Route("/v1/schedules", listing(scheduler.schedule_list, _schedule), methods=["GET"]),
    Route("/v1/schedules/{id}", fetch(scheduler.schedule_get, "id", _schedule), methods=["GET"]),
    Route("/v1/schedules/{id}", act(scheduler.schedule_delete, "id", answer=ACCEPTED), methods=["DELETE"]),
    Route("/v1/keys", answer(keys_of), methods=["GET"]),
    Route("/v1/keys/rotate", answer(rotate_keys), methods=["POST", "GET"]),
    Route("/v1/quota", answer(lambda srv: srv.quota.v1()), methods=["GET"]),
    Route("/v1/logs", _logs(), methods=["GET"]),
    Route("/v1/events", events, methods=["GET"]),
]
