"""The accept pipeline shared by publish, enqueue, batch, schedules, DLQ retry and v1: destination, targets,
validation (prepare), storage in one database job (commit), and schedule creation with deduplication."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.requests import Request
from starlette.types import Scope

from qstash_cli.server import catalog, data, scheduler, workflow
from qstash_cli.server.context import Server, caller_ip, srv_of
from qstash_cli.server.http import ApiError, read_body
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
    url_parts,
)

Bag = dict[str, str]  # the publish headers, lower-cased (`publishing.header_bag`)
MAX_HOPS = 10  # publishes made by deliveries of this server, one from the other: a loop stops there (508)


def destination_of(scope: Scope, prefix_parts: int) -> str:
    """The raw destination after `/vN/<op>/[<queue>/]` of a request's ASGI scope, with a percent-encoded URL decoded
    and the caller's own query string (minus `qstash_token` and `upstash-*`) kept on URL destinations."""
    raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    parts = raw.split("/", prefix_parts)
    dest = parts[prefix_parts] if len(parts) > prefix_parts else ""
    if dest.lower().startswith(("http%3a", "https%3a")):
        dest = unquote(dest)
    for scheme in ("http:/", "https:/"):
        if dest.startswith(scheme) and not dest.startswith(scheme + "/"):
            dest = scheme + "/" + dest[len(scheme) :]
    if is_url(dest):
        query = scope.get("query_string", b"").decode("latin-1")
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


def _is_local(host: str, bound: str) -> bool:
    if host in ("localhost", bound.lower().strip("[]")) or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def refuse_own_url(srv: Server, url: str | None, what: str = "destination") -> None:
    """400 when `url` is this server itself (loopback or its bind host, on its port): a message delivered to its own
    API could publish itself again, without end. A name that reaches it some other way (DNS, a proxy) is not seen."""
    bound, port = srv.own_address
    if not url or not port:
        return
    try:
        _, host, target = url_parts(url)
    except ValueError:
        return
    if target == port and _is_local(host, bound):
        raise ApiError(400, f"{what} {url[:200]} is this qstash dev server itself: that would deliver to its own API")


def check_size(srv: Server, body: bytes) -> None:
    """413 when `body` is over the plan's message size."""
    if len(body) > srv.quota.max_message_size:
        raise ApiError(413, f"message size {len(body)} bytes exceeds the limit of {srv.quota.max_message_size}")


def refuse_own_urls(srv: Server, targets: list[Target], meta: dict[str, Any]) -> None:
    """`refuse_own_url` for each target and for the callbacks."""
    for target in targets:
        refuse_own_url(srv, target.url)
    for kind in ("callback", "failureCallback"):
        refuse_own_url(srv, meta.get(kind), kind)


async def resolve_targets(
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
    check_size(srv, body)
    admission = None
    if bag.get("upstash-workflow-runid"):
        run = await srv.store.run(workflow.run_get, bag["upstash-workflow-runid"])
        admission = workflow.admit(bag, run, destination, body, now=now, caller_ip=caller_ip)
        if admission.duplicate:
            trigger = run["config"].get("triggerMessageId", "") if run else ""
            return Prepared([], None, {"messageId": trigger, "url": destination}, duplicate=True)
        bag = admission.bag
        body = admission.body if admission.body is not None else body
    cfg = parse_config(bag, quota=srv.quota, caller_ip=caller_ip, api=api, now=now)
    if bag.get("upstash-message-id"):  # published by a delivery of this server (by a name refuse_own_url missed)
        hops = await srv.store.run(data.message_hops, bag["upstash-message-id"])
        if hops is not None and hops >= MAX_HOPS:
            raise ApiError(508, f"loop detected: a chain of {hops + 1} publishes from this server's own deliveries")
        if hops is not None:
            cfg.meta["hops"] = hops + 1
    if admission is not None:
        cfg.meta["wf"] = admission.wf
        step_id = workflow.published_step_id(bag, body) if admission.new_run is None else None
        if step_id is not None:
            run_id, kind = admission.wf["run"], admission.wf["kind"]
            earlier = await srv.store.run(workflow.earlier_step, run_id, kind, step_id)
            if earlier is not None:
                return Prepared([], None, {"messageId": earlier, "url": destination}, duplicate=True)
            cfg.meta["wf"] = {**admission.wf, "step": step_id}
        producer = srv.engine.runs.producer_of(admission.wf["run"], step_id)
        if producer:
            cfg.meta["wf"] = {**cfg.meta["wf"], "after": producer}
    if cfg.cron and api == "v1":  # deduplication happens before the schedule is created (seed)
        key = dedup_key(cfg, bag, destination, body)
        earlier, response = await create_schedule(srv, cfg, destination, body, now, key=key)
        return Prepared([], key, earlier or response, duplicate=earlier is not None)
    targets, topic = await resolve_targets(srv, destination, cache)
    refuse_own_urls(srv, targets, cfg.meta)
    if queue:
        check_name(queue, "queue name")
        if cache is None or ("queue", queue) not in cache:
            q = await srv.store.run(catalog.queue_ensure, queue, now)
            srv.engine.set_queue(queue, q["parallelism"], q["paused"])
            if cache is not None:
                cache[("queue", queue)] = True
    prepared = build(srv, cfg, bag, body, destination, targets, topic, api=api, now=now, queue=queue)
    if admission is not None and admission.new_run is not None:
        admission.new_run["config"]["triggerMessageId"] = prepared.specs[0].id
        prepared.specs[0].new_run = admission.new_run
    return prepared


def build(
    srv: Server,
    cfg: Any,
    bag: dict[str, str],
    body: bytes,
    destination: str,
    targets: list[Target],
    topic: dict[str, Any] | None,
    *,
    api: str,
    now: int,
    queue: str | None = None,
) -> Prepared:
    """The last, synchronous step of `prepare`: the messages and the answer."""
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


def prepare_direct(srv: Server, bag: dict[str, str], body: bytes, url: str, *, caller_ip: str, now: int) -> Prepared:
    """`prepare` for the commonest publish, without a database read: a v2 publish straight to a URL, not made by a
    workflow or by one of this server's deliveries (`DIRECT_EXCLUDED` headers absent). Raises as `prepare` does."""
    check_size(srv, body)
    cfg = parse_config(bag, quota=srv.quota, caller_ip=caller_ip, api="v2", now=now)
    targets = [Target(check_url(url))]
    refuse_own_urls(srv, targets, cfg.meta)
    return build(srv, cfg, bag, body, url, targets, None, api="v2", now=now)


DIRECT_EXCLUDED = ("upstash-workflow-runid", "upstash-message-id")  # headers `prepare` must look something up for


async def commit(srv: Server, items: list[Prepared], now: int) -> list[tuple[int, Any, dict[str, str]]]:
    """Store prepared publishes in one database job; (status, JSON body, headers) for each."""
    todo = [(p.specs, p.key, p.response) for p in items if p.specs]
    stored = await srv.store.run(data.publish_many, todo, now + srv.dedup_window_ms, now) if todo else []
    return answers(srv, items, stored)


def answers(srv: Server, items: list[Prepared], stored: list) -> list[tuple[int, Any, dict[str, str]]]:
    """(status, JSON body, headers) for each of `items` once `data.publish_many` has stored those with messages
    (`stored`, its result);
    the new deliveries go to the engine."""
    results = iter(stored)
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


async def report_to_invoker(srv: Server, run_id: str) -> None:
    """An invoked workflow run has ended: its result step goes into the invoking run (workflow-protocol.md 2.8)."""
    run = await srv.store.run(workflow.claim_report, run_id)
    found = workflow.invoke_result(run) if run is not None else None
    if found is None:
        return
    url, bag, step = found
    now = now_ms()
    with contextlib.suppress(ApiError, BadValue):  # the invoking run has ended meanwhile
        await commit(srv, [await prepare(srv, bag, step, url, caller_ip="127.0.0.1", api="v2", now=now)], now)


async def publish(
    srv: Server, bag: Bag, body: bytes, destination: str, *, caller_ip: str, api: str, queue: str | None = None
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
        refuse_own_url(srv, check_url(destination))
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


async def publish_request(request: Request, api: str, prefix_parts: int, queue: str | None = None) -> Any:
    """Publish (or enqueue) the request's body to the destination in its path."""
    srv = srv_of(request)
    destination = destination_of(request.scope, prefix_parts)
    body = await read_body(request, srv.quota.max_message_size)
    bag = header_bag(request.headers.raw, request.query_params)
    return await publish(srv, bag, body, destination, caller_ip=caller_ip(request), api=api, queue=queue)
