"""Retention: finished messages (their tasks and logs), ended workflow runs and expired dedup ids are pruned.

A message is pruned once it is done (delivered, failed or cancelled) and its last task finished more than the
retention period ago (never within the `--message-grace` window that GET /v2/messages/{id} still answers in). Kept
whatever their age: messages with a pending task, messages with a DLQ entry (DLQ entries stay until they are deleted,
retried or resumed), messages of a workflow run that still exists, the failure callback of such a run, and the last
run of a schedule (its lastScheduleStates reads them). A workflow run is pruned (with its steps, message links,
waiters and notifications) once it ended more than the retention period ago and is not in the DLQ; its messages go
in a later pass.

Every job is small (≤ `PAGE` messages or runs looked at, a few rows each) and runs as a store job like any
other; the loop yields between jobs, so publishing never waits behind a long delete.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from dataclasses import dataclass

from qstash_cli.server.ids import now_ms
from qstash_cli.server.logrows import remember_seq
from qstash_cli.server.store import Store

Conn = sqlite3.Connection
PAGE = 100  # messages (or runs) looked at per job: with their tasks and logs, about 500 rows deleted at most
DEDUP_PAGE = 500
DEFAULT_RETENTION = 7 * 86400.0  # seconds (`qstash dev --retention 7d`)
_PENDING_SQL = "('CREATED', 'RETRY', 'ACTIVE')"
Cursor = tuple[int, str]


@dataclass
class Page:
    """One job's result: rows deleted, and where the next job resumes (None: this pass is over)."""

    deleted: int
    cursor: Cursor | None


def prune_messages(conn: Conn, after: Cursor, cutoff: int, limit: int = PAGE) -> Page:
    """Look at up to `limit` messages created before `cutoff` after `after` (created_at, id); delete the prunable
    ones with their tasks and logs."""
    rows = conn.execute(
        "SELECT created_at, id FROM messages WHERE created_at < ? AND (created_at > ? OR (created_at = ? AND id > ?)) "
        "ORDER BY created_at, id LIMIT ?",
        (cutoff, after[0], after[0], after[1], limit),
    ).fetchall()
    if not rows:
        return Page(0, None)
    ids = [r[1] for r in rows]
    marks = ",".join("?" * len(ids))
    gone = [
        r[0]
        for r in conn.execute(
            f"SELECT m.id FROM messages m WHERE m.id IN ({marks}) "
            f"AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.message_id = m.id "
            f"AND (t.state IN {_PENDING_SQL} OR t.completed_at IS NULL OR t.completed_at >= ?)) "
            "AND NOT EXISTS (SELECT 1 FROM dlq d WHERE d.message_id = m.id) "
            "AND NOT EXISTS (SELECT 1 FROM wf_messages w WHERE w.message_id = m.id) "
            "AND NOT EXISTS (SELECT 1 FROM wf_runs r WHERE r.id = json_extract(m.meta, '$.wfFailureOf')) "
            "AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.id = m.schedule_id "
            "AND instr(s.last_states, m.id) > 0)",
            (*ids, cutoff),
        ).fetchall()
    ]
    deleted = 0
    if gone:
        remember_seq(conn)  # the newest log rows may go: a restart must not give their seqs again
        marks = ",".join("?" * len(gone))
        for table, column in (("logs", "message_id"), ("tasks", "message_id"), ("messages", "id")):
            deleted += conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", gone).rowcount
    last = rows[-1]
    return Page(deleted, (last[0], last[1]) if len(rows) == limit else None)


def prune_runs(conn: Conn, after: Cursor, cutoff: int, limit: int = PAGE) -> Page:
    """Look at up to `limit` workflow runs created before `cutoff`; delete those that ended before `cutoff` and are
    not in the DLQ, with their steps, message links, waiters and notifications."""
    rows = conn.execute(
        "SELECT created_at, id, state, completed_at, dlq_id FROM wf_runs WHERE created_at < ? "
        "AND (created_at > ? OR (created_at = ? AND id > ?)) ORDER BY created_at, id LIMIT ?",
        (cutoff, after[0], after[0], after[1], limit),
    ).fetchall()
    if not rows:
        return Page(0, None)
    gone = [
        r[1]
        for r in rows
        if r[2] != "RUN_STARTED"
        and r[3] is not None
        and r[3] < cutoff
        and (r[4] is None or conn.execute("SELECT 1 FROM dlq WHERE id = ?", (r[4],)).fetchone() is None)
    ]
    deleted = 0
    if gone:
        marks = ",".join("?" * len(gone))
        for table, column in (
            ("wf_steps", "run_id"),
            ("wf_messages", "run_id"),
            ("wf_waiters", "run_id"),
            ("wf_notifications", "run_id"),
            ("wf_runs", "id"),
        ):
            deleted += conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", gone).rowcount
    last = rows[-1]
    return Page(deleted, (last[0], last[1]) if len(rows) == limit else None)


def prune_dedup(conn: Conn, _after: Cursor, now: int, limit: int = DEDUP_PAGE) -> Page:
    """Delete up to `limit` expired dedup ids (the same shape as the other jobs; no cursor needed)."""
    n = conn.execute(
        "DELETE FROM dedup WHERE rowid IN (SELECT rowid FROM dedup WHERE expires_at <= ? LIMIT ?)", (now, limit)
    ).rowcount
    return Page(n, (0, "") if n == limit else None)


class Retention:
    """The pruning loop of a running server: one pass every `interval` seconds, one small job at a time."""

    def __init__(self, store: Store, retention: float | None, grace: float, *, pause: float = 0.002) -> None:
        self.store = store
        self.retention_ms = None if retention is None else int(retention * 1000)
        self.grace_ms = int(grace * 1000)
        self.interval = 60.0 if retention is None else min(60.0, max(0.2, retention / 10))
        self.pause = pause  # seconds between jobs: publishes queued meanwhile commit without a prune job in their group
        self.deleted = 0

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except Exception as exc:  # noqa: BLE001 - e.g. disk full: the next pass tries again
                sys.stderr.write(f"qstash dev: pruning failed, retrying in {self.interval:g}s: {exc}\n")

    async def run_once(self) -> int:
        """One pass over everything prunable now; returns the rows deleted."""
        now = now_ms()
        total = await self._pages(prune_dedup, (0, ""), now)
        if self.retention_ms is not None:
            cutoff = now - self.retention_ms
            total += await self._pages(prune_runs, (0, ""), cutoff)
            total += await self._pages(prune_messages, (0, ""), min(cutoff, now - self.grace_ms))
        self.deleted += total
        return total

    async def _pages(self, job: object, cursor: Cursor | None, cutoff: int) -> int:
        total = 0
        while cursor is not None:
            page = await self.store.run(job, cursor, cutoff)
            total += page.deleted
            cursor = page.cursor
            await asyncio.sleep(self.pause)
        return total
