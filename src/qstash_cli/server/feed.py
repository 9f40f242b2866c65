"""The console's live stream: new rows of the `logs` table, read by their increasing `seq`, as server-sent events.

Each open stream polls `SELECT ... WHERE seq > last` on the store's reader connection (`Store.read`: it never waits for,
nor delays, the writer's group commits). A poll reads at most `BATCH` rows; a stream that falls more than `MAX_BEHIND`
rows behind (a burst of thousands of publishes) skips to the newest `BUSY_BATCH` rows every `BUSY_POLL_SECONDS` and
says how many it skipped, so a browser on the stream costs a bounded amount of work per second whatever the load: the
browser's drawing, not the server's reading, is the cost that matters (benchmarks/console_figures.py).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

Conn = sqlite3.Connection
BATCH = 100  # rows per poll, at most: what a person can follow, and a bounded cost whatever the load
FILTERED_BATCH = 5000  # rows scanned per poll by a filtered stream (few match; it never skips)
MAX_BEHIND = BATCH  # rows; further behind than this, an unfiltered stream skips to the newest BUSY_BATCH rows
BACKLOG = 100  # rows shown when a stream opens without a position
POLL_SECONDS = 0.5
BUSY_POLL_SECONDS = 2.0  # while skipping ahead (a burst): fewer, smaller updates for the browser to draw
BUSY_BATCH = 50
PING_SECONDS = 15.0
RECONNECT_MS = 1000


def latest_seq(conn: Conn) -> int:
    """The newest log row's seq (0 when there is none)."""
    row = conn.execute("SELECT MAX(seq) FROM logs").fetchone()
    return int(row[0] or 0)


def tail(conn: Conn, after: int, where: str, args: list[Any], limit: int = BATCH) -> tuple[list[Any], int]:
    """Log rows with `after` < seq <= `after` + `limit` matching the SQL condition `where` (a route's `/v2/logs`
    filters), oldest first, each with its message's `callback` kind and `source` message id; and the seq to
    continue after (the rows read, whether they matched or not)."""
    newest = latest_seq(conn)
    upto = min(newest, after + limit)  # a filter matching nothing still moves the position on
    rows = conn.execute(
        "SELECT l.seq, l.time, l.message_id, l.task_id, l.state, l.error, l.next_delivery_time, l.url, l.topic_name, "
        "l.endpoint_name, l.schedule_id, l.queue_name, l.label, l.response_status, "
        "json_extract(m.meta, '$.isCallback') AS callback, json_extract(m.meta, '$.sourceMessageId') AS source "
        f"FROM (SELECT * FROM logs WHERE seq > ? AND seq <= ?{' AND ' + where if where else ''}) l "
        "LEFT JOIN messages m ON m.id = l.message_id ORDER BY l.seq",
        [after, upto, *args],
    ).fetchall()
    return rows, upto


def start_position(newest: int, last_event_id: str | None, after: str | None) -> int:
    """Where a stream starts: after the browser's Last-Event-ID on a reconnect, else after `after`, else the last
    `BACKLOG` rows."""
    for raw in (last_event_id, after):
        if raw and raw.strip().isdigit():
            return min(int(raw), newest)
    return max(0, newest - BACKLOG)


def frame(name: str, data: Any, event_id: int | None = None) -> bytes:
    """One server-sent event."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


Reader = Callable[..., Awaitable[Any]]


async def stream(
    read: Reader,
    where: str,
    args: list[Any],
    shape: Callable[[Any], dict[str, Any]],
    *,
    last_event_id: str | None = None,
    after: str | None = None,
    poll: float = POLL_SECONDS,
    closing: asyncio.Event | None = None,
) -> AsyncIterator[bytes]:
    """Server-sent events for the log rows matching `where`: `entries` (a list of `shape(row)`, oldest first, id =
    the last seq read), `skipped` (`{count}` rows left out to catch up; unfiltered streams only), and a comment
    line as keep-alive. `read` is `Store.read`; the stream ends when `closing` is set (the server shuts down)."""
    newest = await read(latest_seq)
    position = start_position(newest, last_event_id, after)
    yield f"retry: {RECONNECT_MS}\n".encode() + frame("hello", {"seq": position, "newest": newest})
    filtered = bool(where)
    window = FILTERED_BATCH if filtered else BATCH
    idle = 0.0
    while True:
        busy = newest - position > MAX_BEHIND and not filtered
        if busy:
            skip_to = newest - BUSY_BATCH
            yield frame("skipped", {"count": skip_to - position}, skip_to)
            position = skip_to
        if newest > position:
            rows, position = await read(tail, position, where, args, window)
            if rows:
                yield frame("entries", [shape(r) for r in rows], position)
                idle = 0.0
        wait = max(poll, BUSY_POLL_SECONDS) if busy else poll
        if await _closed(closing, wait):  # at most BATCH rows per poll, however far behind: the cost stays bounded
            return
        idle += wait
        if idle >= PING_SECONDS:
            yield b": ping\n\n"
            idle = 0.0
        newest = await read(latest_seq)


async def _closed(closing: asyncio.Event | None, wait: float) -> bool:
    """Sleep `wait` seconds, or less when `closing` is set; whether it is."""
    if closing is None:
        await asyncio.sleep(wait)
        return False
    try:
        await asyncio.wait_for(closing.wait(), wait)
    except TimeoutError:
        return False
    return True
