"""Logs and events: v2 `GET /v2/events` (or `/v2/logs`, string cursor, server-side filters); v1 `GET /v1/logs`
(int ms cursor, newest first; `/v1/messages/{id}/logs` for one message; `/v1/events` with a string cursor)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from qstash_cli.api.pages import Page, iterate, next_cursor
from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported
from qstash_cli.output import unexpected_shape

Filters = list[tuple[str, Any]]  # API query names → values; a name may repeat (OR within a field)

V1_FILTERS = ("messageId", "fromDate", "toDate", "order")


def entries_of(data: Any, *keys: str) -> list[dict[str, Any]]:
    """The list in a page: a bare list, or the first of `keys` present in the object."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                return data[key] if data[key] is not None else []
        return []
    if data is None:
        return []
    raise unexpected_shape(f"an object with {' or '.join(repr(k) for k in keys)}", data)


def cursor_of(data: Any) -> Any:
    return next_cursor(data) if isinstance(data, dict) else None


def query_page(t: Transport, path: str, cursor: Any, filters: Filters | None, count: int | None, *keys: str) -> Page:
    """One page of a v2 listing that takes its filters, `count` and `cursor` as query parameters: the entries
    under the first of `keys`, and the next cursor."""
    params: Filters = list(filters or [])
    if count:
        params.append(("count", count))
    if cursor:
        params.append(("cursor", cursor))
    data = t.json("GET", path, params=params or None)
    return entries_of(data, *keys), cursor_of(data)


def query_listing(
    page: Callable[..., Page],
    filters: Filters | None,
    *,
    limit: int | None,
    follow: bool,
    count: int | None,
    page_max: int,
) -> Iterator[dict[str, Any]]:
    """The entries of `page(cursor, filters, count=…)` pages: `--limit N` asks for at most `page_max` a page."""
    count = count or (min(limit, page_max) if limit else None)
    return iterate(lambda cursor: page(cursor, filters, count=count), limit=limit, follow=follow)


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def check(self, filters: Filters | None, source: str = "") -> dict[str, Any]:
        return dict(filters or [])

    def page(self, cursor: Any, filters: Filters | None = None, *, count: int | None = None, source: str = "") -> Page:
        """One page of log entries, newest first unless `order=earliestFirst` is among the filters."""
        return query_page(self.t, f"/v2/{source or 'events'}", cursor, filters, count, "events", "logs")


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def check(self, filters: Filters | None, source: str = "") -> dict[str, Any]:
        """The filters as a dict, or Unsupported (before any request) for what v1 cannot do."""
        given = dict(filters or [])
        unknown = [k for k in given if k not in V1_FILTERS]
        if unknown:
            raise Unsupported(
                f"v1 logs cannot be filtered by {', '.join(unknown)} (only --message-id and --from/--to); "
                "use --api v2, or filter the --json output"
            )
        if str(given.get("order", "latestFirst")).lower() != "latestfirst":
            raise Unsupported("v1 logs come newest first only; drop --order or use --api v2")
        if source == "events" and len(given) > ("order" in given):
            raise Unsupported("v1 /v1/events takes no filters; use --source logs (the v1 default) or --api v2")
        return given

    def page(self, cursor: Any, filters: Filters | None = None, *, count: int | None = None, source: str = "") -> Page:
        """One page, newest first. `messageId` switches to `/v1/messages/{id}/logs`; `toDate` becomes the first
        cursor and `fromDate` ends the listing at older entries (v1 has no server-side filters)."""
        given = self.check(filters, source)
        if source == "events":
            data = self.t.json("GET", "/v1/events", params={"cursor": cursor} if cursor else None)
            return entries_of(data, "events", "logs"), cursor_of(data)
        if cursor is None and given.get("toDate") is not None:
            cursor = int(given["toDate"]) + 1  # the v1 cursor is exclusive: entries older than it
        path = f"/v1/messages/{given['messageId']}/logs" if given.get("messageId") else "/v1/logs"
        data = self.t.json("GET", path, params={"cursor": cursor} if cursor else None)
        items, nxt = entries_of(data, "logs", "events"), cursor_of(data)
        since = given.get("fromDate")
        if since is not None:
            kept = [i for i in items if not isinstance(i, dict) or _time(i) is None or _time(i) >= int(since)]
            if len(kept) < len(items) or (isinstance(nxt, int) and nxt <= int(since)):
                nxt = None  # newest first: everything further is older than `since`
            items = kept
        return items, nxt


# -- v2 views built from events ----------------------------------------------------------------------------------

FINISHED = ("DELIVERED", "ERROR")  # one per delivery attempt that got an answer (or failed to connect)
WAITING = ("CREATED", "RETRY")
SUMMARY_KEYS = ("messageId", "state", "url", "topicName", "queueName", "scheduleId", "time", "responseStatus", "error")


def _time(entry: dict[str, Any]) -> int | None:
    value = entry.get("time")
    return int(value) if isinstance(value, (int, float)) else None


def events(t: Transport, filters: Filters, *, limit: int | None = None, follow: bool = False) -> Iterator[dict]:
    """v2 events matching `filters`, newest first, page by page (see pages.iterate)."""
    api = V2(t)
    return iterate(lambda cursor: api.page(cursor, filters), limit=limit, follow=follow)


def message_summaries(entries: Iterable[dict[str, Any]], *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """One row per message from newest-first events: its latest state, destination, time and error.

    Memory stays flat however long the listing: an id is remembered from its newest event (the row shown) only until
    the listing has gone past its CREATED event (a message's oldest), so only messages whose events overlap the
    current point of the listing are held, not every id shown."""
    seen: set[str] = set()
    created: list[tuple[int, str]] = []  # heap of (-CREATED time, id): ids forgotten once the listing is older
    shown = 0
    for entry in entries:
        mid = entry.get("messageId") if isinstance(entry, dict) else None
        if not mid:
            continue
        at = _time(entry)
        while created and at is not None and at < -created[0][0]:
            seen.discard(heapq.heappop(created)[1])
        if entry.get("state") == "CREATED" and at is not None:
            heapq.heappush(created, (-at, mid))
        if mid in seen:
            continue
        seen.add(mid)
        yield {k: entry[k] for k in SUMMARY_KEYS if entry.get(k) not in (None, "")}
        shown += 1
        if limit is not None and shown >= limit:
            return


def task_summaries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One "task" per (message, destination URL) from newest-first events: the latest state and time, the first
    event's time, the number of finished delivery attempts, the last error and response status."""
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        key = (str(entry.get("messageId") or ""), str(entry.get("url") or ""))
        task = tasks.get(key)
        if task is None:
            task = tasks[key] = {
                "messageId": entry.get("messageId"),
                "url": entry.get("url"),
                "state": entry.get("state"),
                "time": entry.get("time"),
                "createdAt": entry.get("time"),
                "attempts": 0,
                "maxRetries": entry.get("maxRetries"),
                "nextDeliveryTime": entry.get("nextDeliveryTime") if entry.get("state") in WAITING else None,
                "topicName": entry.get("topicName"),
                "endpointName": entry.get("endpointName"),
                "responseStatus": None,
                "error": None,
                "events": 0,
            }
        task["events"] += 1
        task["createdAt"] = entry.get("time") or task["createdAt"]
        if entry.get("state") in FINISHED:
            task["attempts"] += 1
        for field in ("error", "responseStatus", "maxRetries"):
            if task.get(field) is None and entry.get(field) not in (None, ""):
                task[field] = entry[field]
    return list(tasks.values())
