"""Cron schedules: stored next fire time per schedule, an in-memory heap of fire times, and a loop that fires each
schedule at its minute (croniter, `CRON_TZ=` aware). Firing stores the produced messages and the schedule's next fire
time in one transaction, so a crash neither loses nor doubles a run; a run missed while the server was down fires
once at start. Pausing keeps computing the next time but skips delivery."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from qstash_cli.server.catalog import NotFound, topic_get
from qstash_cli.server.data import insert_message
from qstash_cli.server.engine import Engine
from qstash_cli.server.ids import now_ms
from qstash_cli.server.models import Delivery, Target
from qstash_cli.server.parse import next_fire
from qstash_cli.server.publishing import LimitError, is_url, make_specs
from qstash_cli.server.quota import Quota
from qstash_cli.server.store import DiskFull, Store

FIRE_RETRY_MS = 5000  # a schedule whose firing could not be stored (disk full) is tried again after this

Conn = sqlite3.Connection


# -- database jobs ----------------------------------------------------------------------------------------------


def schedule_upsert(
    conn: Conn, sid: str, cron: str, destination: str, meta: dict, body: bytes, now: int, quota: Quota
) -> int:
    """Create the schedule, or overwrite the one with this id; returns its next fire time."""
    existing = conn.execute("SELECT id FROM schedules WHERE id = ?", (sid,)).fetchone()
    next_at = next_fire(cron, now)
    if existing is None:
        if conn.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] >= quota.max_schedules:
            raise LimitError(f"the {quota.name} plan allows at most {quota.max_schedules} schedules")
        conn.execute(
            "INSERT INTO schedules (id, created_at, cron, destination, paused, next_at, meta, body) "
            "VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
            (sid, now, cron, destination, next_at, json.dumps(meta), body),
        )
    else:
        conn.execute(
            "UPDATE schedules SET cron = ?, destination = ?, next_at = ?, meta = ?, body = ?, error = NULL "
            "WHERE id = ?",
            (cron, destination, next_at, json.dumps(meta), body, sid),
        )
    return next_at


def _states(conn: Conn, row: Any) -> dict[str, Any]:
    """The row as a dict with lastScheduleStates derived from the tasks of the last run."""
    out = dict(row)
    states = json.loads(row["last_states"] or "{}")
    for mid in states:
        tasks = [r[0] for r in conn.execute("SELECT state FROM tasks WHERE message_id = ?", (mid,)).fetchall()]
        if tasks and all(s == "DELIVERED" for s in tasks):
            states[mid] = "SUCCESS"
        elif any(s in ("FAILED", "CANCELLED") for s in tasks):
            states[mid] = "FAIL"
        else:
            states[mid] = "IN_PROGRESS"
    out["last_states"] = json.dumps(states)
    return out


def schedule_get(conn: Conn, sid: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM schedules WHERE id = ?", (sid,)).fetchone()
    if row is None:
        raise NotFound(f"schedule {sid!r} not found")
    out = _states(conn, row)
    out["topic"] = None if is_url(row["destination"]) else topic_get(conn, row["destination"])
    return out


def schedule_list(conn: Conn) -> list[dict[str, Any]]:
    ids = [r[0] for r in conn.execute("SELECT id FROM schedules ORDER BY created_at, id").fetchall()]
    return [schedule_get(conn, sid) for sid in ids]


def schedule_set_paused(conn: Conn, sid: str, paused: bool) -> None:
    if conn.execute("UPDATE schedules SET paused = ? WHERE id = ?", (int(paused), sid)).rowcount == 0:
        raise NotFound(f"schedule {sid!r} not found")


def schedule_delete(conn: Conn, sid: str) -> None:
    if conn.execute("DELETE FROM schedules WHERE id = ?", (sid,)).rowcount == 0:
        raise NotFound(f"schedule {sid!r} not found")


def schedule_times(conn: Conn) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT id, next_at FROM schedules WHERE next_at IS NOT NULL")]


def fire(conn: Conn, sid: str, due_at: int, now: int) -> tuple[list[Delivery], int | None]:
    """Run a schedule due at `due_at`: store its messages and next fire time. (tasks, next fire time to watch)."""
    row = conn.execute("SELECT * FROM schedules WHERE id = ?", (sid,)).fetchone()
    if row is None or row["next_at"] != due_at:
        return [], None  # deleted, or re-timed (a fresh heap entry exists)
    next_at = next_fire(row["cron"], max(due_at, now))
    if row["paused"]:
        conn.execute("UPDATE schedules SET next_at = ? WHERE id = ?", (next_at, sid))
        return [], next_at
    meta = json.loads(row["meta"])
    destination = row["destination"]
    topic = None
    if is_url(destination):
        targets = [Target(destination)]
    else:
        topic = topic_get(conn, destination)
        if topic is None or not topic["endpoints"]:
            conn.execute(
                "UPDATE schedules SET next_at = ?, last_at = ?, error = ? WHERE id = ?",
                (next_at, now, f"url group {destination!r} not found or empty", sid),
            )
            return [], next_at
        targets = [Target(e["url"], e["id"], e.get("name")) for e in topic["endpoints"]]
    retries = int(meta.pop("retries", 3))
    delay = float(meta.get("delay") or 0)
    specs = make_specs(
        meta,
        bytes(row["body"]),
        targets=targets,
        per_target=meta.get("api") != "v1",
        max_retries=retries,
        first_attempt=now + int(delay * 1000),
        now=now,
        topic=topic,
        queue_name=meta.get("queueName"),
        schedule_id=sid,
    )
    deliveries = [d for spec in specs for d in insert_message(conn, spec)]
    states = {spec.id: "IN_PROGRESS" for spec in specs}
    conn.execute(
        "UPDATE schedules SET next_at = ?, last_at = ?, last_states = ?, error = NULL WHERE id = ?",
        (next_at, now, json.dumps(states), sid),
    )
    return deliveries, next_at


# -- the loop ---------------------------------------------------------------------------------------------------


class Scheduler:
    """Fires schedules on time; `watch` adds or re-times one."""

    def __init__(self, store: Store, engine: Engine, log: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.log = log or (lambda line: None)
        self._heap: list[tuple[int, str]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._wake = asyncio.Event()
        for sid, next_at in await self.store.run(schedule_times):
            heapq.heappush(self._heap, (next_at, sid))
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def watch(self, sid: str, next_at: int) -> None:
        heapq.heappush(self._heap, (next_at, sid))
        if self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            now = now_ms()
            while self._heap and self._heap[0][0] <= now:
                due_at, sid = heapq.heappop(self._heap)
                try:
                    deliveries, next_at = await self.store.run(fire, sid, due_at, now_ms())
                except DiskFull as exc:  # try again shortly: a schedule never stops for a full disk
                    self.log(f"schedule {sid} failed to fire: {exc}; trying again in {FIRE_RETRY_MS / 1000:g}s")
                    heapq.heappush(self._heap, (now_ms() + FIRE_RETRY_MS, sid))
                    continue
                except Exception as exc:  # noqa: BLE001 - keep the other schedules firing
                    self.log(f"schedule {sid} failed to fire: {exc}")
                    continue
                self.engine.add(deliveries)
                if deliveries:
                    self.log(f"schedule {sid} fired: {len(deliveries)} task(s)")
                if next_at is not None:
                    heapq.heappush(self._heap, (next_at, sid))
                now = now_ms()
            timeout = (self._heap[0][0] - now) / 1000 if self._heap else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
