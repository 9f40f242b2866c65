"""SQLite store with group commit on the event loop's thread.

Every database job (a function taking the connection) is queued with `run`/`submit`; the first job queued since the
last commit schedules the next one at the end of the current turn of the event loop, so the jobs of every request
handled in that turn run inside a single transaction (each in its own savepoint, so one failing job does not undo
the others), commit once, and only then resolve the callers' futures. A publish is answered 2xx only after the commit
that holds it, so throughput comes from batching, not from skipping durability.

Why the loop's thread and not a writer thread of its own (as before): the jobs are short Python around SQLite, and a
second thread only added hand-offs (a queue, a wake-up, `call_soon_threadsafe` back) and contention for the GIL;
measured side by side on 2 cores the two were within the noise, the loop's thread a little ahead, so the simpler one
stays (benchmarks/README.md). The price: a long job holds up the whole loop, not only other jobs — keep jobs small
(retention already works in pages). Reads that must not wait go to `read`: a reader connection on its own thread.

Journal: WAL. `synchronous=NORMAL` (the default here) makes every commit durable against a crash of *this process*
(SIGKILL, OOM, Ctrl-C): a committed transaction is in the WAL file in the OS page cache before COMMIT returns, and the
next open replays it. Only an OS crash or power cut can lose the last transactions; `--sync full` fsyncs every commit
to cover that too, at the cost of one fsync per group. SIGKILL is the threat model the tests exercise.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any

from qstash_cli.server.logrows import SeqConnection, start_seq

PENDING_INDEX = (
    "CREATE INDEX IF NOT EXISTS tasks_pending ON tasks(next_at, id) WHERE state IN ('CREATED', 'RETRY', 'ACTIVE')"
)
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    headers TEXT);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY, topic_id TEXT NOT NULL, url TEXT NOT NULL, name TEXT, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS endpoints_topic ON endpoints(topic_id);
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY, parallelism INTEGER NOT NULL, paused INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, url TEXT, topic_name TEXT, queue_name TEXT, schedule_id TEXT,
    label TEXT, meta TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS messages_created ON messages(created_at);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, message_id TEXT NOT NULL, url TEXT NOT NULL, endpoint_id TEXT, endpoint_name TEXT,
    queue_name TEXT, state TEXT NOT NULL, retried INTEGER NOT NULL DEFAULT 0, max_retries INTEGER NOT NULL,
    next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, completed_at INTEGER, last_error_at INTEGER, error TEXT);
CREATE INDEX IF NOT EXISTS tasks_message ON tasks(message_id);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, message_id TEXT NOT NULL, task_id TEXT,
    state TEXT NOT NULL, error TEXT, next_delivery_time INTEGER, url TEXT, topic_name TEXT, endpoint_name TEXT,
    schedule_id TEXT, queue_name TEXT, label TEXT, response_status INTEGER, response_header TEXT,
    response_body TEXT, request_header TEXT);
CREATE INDEX IF NOT EXISTS logs_message ON logs(message_id);
CREATE INDEX IF NOT EXISTS logs_time ON logs(time);
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, cron TEXT NOT NULL, destination TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0, next_at INTEGER, last_at INTEGER, last_states TEXT, error TEXT,
    meta TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS flow_control (key TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup (k TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, response TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dlq (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, message_id TEXT NOT NULL, task_id TEXT, created_at INTEGER NOT NULL,
    url TEXT, topic_name TEXT, queue_name TEXT, schedule_id TEXT, label TEXT, response_status INTEGER,
    response_header TEXT, response_body BLOB, error TEXT);
CREATE INDEX IF NOT EXISTS dlq_seq ON dlq(seq);
CREATE INDEX IF NOT EXISTS dlq_message ON dlq(message_id);
CREATE TABLE IF NOT EXISTS wf_runs (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, created_at INTEGER NOT NULL, state TEXT NOT NULL, completed_at INTEGER,
    response TEXT, caller_ip TEXT, label TEXT, flow_control_key TEXT, dlq_id TEXT, failure_state TEXT, config TEXT);
CREATE INDEX IF NOT EXISTS wf_runs_created ON wf_runs(created_at);
CREATE TABLE IF NOT EXISTS wf_steps (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL UNIQUE, call_type TEXT NOT NULL,
    body BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS wf_messages (
    message_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, advanced INTEGER NOT NULL DEFAULT 0,
    step_id INTEGER);
CREATE INDEX IF NOT EXISTS wf_messages_run ON wf_messages(run_id);
CREATE TABLE IF NOT EXISTS wf_waiters (
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, run_id TEXT NOT NULL, waiter TEXT NOT NULL,
    timeout_message_id TEXT, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS wf_waiters_event ON wf_waiters(event_id);
CREATE TABLE IF NOT EXISTS wf_notifications (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, event_id TEXT NOT NULL, data BLOB NOT NULL, created_at INTEGER);
"""
    + PENDING_INDEX
    + ";\n"
)

Job = Callable[..., Any]
MAX_BATCH = 1000
UNGUARDED: set[Job] = set()  # jobs run without a savepoint of their own (`unguarded`)


def unguarded(fn: Job) -> Job:
    """Mark a frequent job that raises only when something is wrong (a full disk, a bug), to run without the two
    statements of a savepoint of its own. When it raises, the whole group is rolled back and each of its jobs run
    again alone, so the failure still stays that job's. Every job must bear running again after a rollback (a
    full disk already does that to them all)."""
    UNGUARDED.add(fn)
    return fn


class DiskFull(Exception):
    """A write failed because the disk (or file size limit) of the data file is full; nothing of it was stored."""


def _storage_error(exc: Exception) -> Exception:
    """DiskFull for SQLite's 'database or disk is full' (SQLITE_FULL), else the error itself."""
    if isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL):
        return DiskFull(f"the disk holding the data file is full ({exc})")
    return exc


class Store:
    """The database, written from the event loop's thread. `await run(fn, *args)` runs `fn(conn, *args)` and returns
    its result after the transaction holding it has committed; `submit` does the same without waiting."""

    def __init__(self, path: str | None, *, sync: str = "normal") -> None:
        self.path = path
        self.conn = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None, factory=SeqConnection
        )
        self.conn.row_factory = sqlite3.Row
        if path:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.execute("PRAGMA cache_size=-4000")  # 4 MB: memory stays flat however large the file grows
        self.conn.executescript(SCHEMA)
        _add_columns(self.conn)
        start_seq(self.conn)
        self._reader: sqlite3.Connection | None = None
        self._read_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: list[tuple[Job, tuple, asyncio.Future | None]] = []

    async def run(self, fn: Job, *args: Any) -> Any:
        """Run `fn(conn, *args)` in the next group commit; return once it is committed."""
        return await self.later(asyncio.get_running_loop(), fn, *args)

    def later(self, loop: asyncio.AbstractEventLoop, fn: Job, *args: Any) -> asyncio.Future:
        """`run` for code outside a coroutine (the HTTP protocol's callbacks): the future of `fn(conn, *args)`,
        resolved once the group commit holding it has committed."""
        future = loop.create_future()
        self._add(loop, (fn, args, future))
        return future

    def submit(self, fn: Job, *args: Any) -> None:
        """Queue `fn(conn, *args)` without waiting for it (ordering with later jobs is kept)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # start-up or shutdown: no loop to batch on
            self.call(fn, *args)
            return
        self._add(loop, (fn, args, None))

    def call(self, fn: Job, *args: Any) -> Any:
        """Run `fn(conn, *args)` at once and return its committed result, outside the event loop (start-up)."""
        self._flush()
        ((ok, value),) = self._execute([(fn, args, None)])
        if not ok:
            raise value
        return value

    async def read(self, fn: Job, *args: Any) -> Any:
        """Run the read-only `fn(conn, *args)` on a separate connection (file stores: WAL readers do not wait for the
        writer, nor it for them), for reads that must never delay publishing, such as the console's live stream.
        An in-memory store has one connection, so there it is `run`."""
        if not self.path:
            return await self.run(fn, *args)
        if self._read_pool is None:
            self._read_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qstash-read")
        return await asyncio.get_running_loop().run_in_executor(self._read_pool, self._read, fn, args)

    def _read(self, fn: Job, args: tuple) -> Any:
        if self._reader is None:
            self._reader = sqlite3.connect(self.path or "", check_same_thread=False, isolation_level=None)
            self._reader.row_factory = sqlite3.Row
            self._reader.execute("PRAGMA query_only=ON")
            self._reader.execute("PRAGMA cache_size=-2000")
        return fn(self._reader, *args)

    def close(self) -> None:
        """Finish queued jobs, checkpoint and close."""
        self._flush()
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True, cancel_futures=True)
            if self._reader is not None:
                self._reader.close()
        try:
            if self.path:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
        except sqlite3.Error:
            pass

    def _add(self, loop: asyncio.AbstractEventLoop, item: tuple[Job, tuple, asyncio.Future | None]) -> None:
        """Queue a job; the first job since the last commit schedules the next one, after the callbacks that are
        ready now (the other requests of this turn of the loop join it)."""
        self._pending.append(item)
        if len(self._pending) == 1:
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        """One transaction (a group commit) for the queued jobs, then their futures."""
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            for (_fn, _args, future), (ok, value) in zip(batch, self._execute(batch), strict=True):
                if future is None or future.done():
                    continue
                try:
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                except RuntimeError:  # its loop has closed (the last jobs, flushed by `close`): nobody is waiting
                    pass

    def _execute(self, batch: list[tuple]) -> list[tuple[bool, Any]]:
        """Run the jobs in one transaction: (ok, value or error) for each. When the whole transaction fails for a
        full disk, each job is run again alone, so one write that does not fit fails only itself (reads and small
        writes still succeed)."""
        conn = self.conn
        results: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, _future in batch:
                if fn in UNGUARDED and len(batch) > 1:
                    results.append((True, fn(conn, *args)))  # raises: the whole batch again, job by job (below)
                    continue
                conn.execute("SAVEPOINT job")
                try:
                    value = fn(conn, *args)
                except Exception as exc:  # noqa: BLE001 - handed back to the caller
                    if not conn.in_transaction:  # SQLite rolled the whole transaction back (disk full, I/O error)
                        raise
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((False, _storage_error(exc)))
                else:
                    conn.execute("RELEASE job")
                    results.append((True, value))
            conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - nothing of this batch is stored
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            error = _storage_error(exc)
            if len(batch) > 1 and (isinstance(error, DiskFull) or any(item[0] in UNGUARDED for item in batch)):
                return [self._execute([item])[0] for item in batch]
            return [(False, error)] * len(batch)
        return results


ADDED_COLUMNS = {  # columns newer than some existing data files
    "logs": {"request_header": "TEXT"},
    "wf_messages": {"advanced": "INTEGER NOT NULL DEFAULT 0", "step_id": "INTEGER"},
}


def _add_columns(conn: sqlite3.Connection) -> None:
    """Bring a data file written by an older version up to the schema (ALTER TABLE ADD COLUMN; the pending-task
    index on (next_at, id), so loading the due-queue page by page never re-sorts the tasks due at one instant; no
    `logs_task` index: a task's log rows are found through its message's). Older files keep `logs.seq` as
    AUTOINCREMENT; the writer numbers log rows itself either way (`logrows.SeqConnection`). They keep a `done`
    column on messages too, no longer written or read: whether a message is done is whether a task of it is
    pending."""
    conn.execute("DROP INDEX IF EXISTS logs_task")
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'tasks_pending'").fetchone()
    if row is not None and "next_at, id" not in row[0]:
        conn.execute("DROP INDEX tasks_pending")
        conn.execute(PENDING_INDEX)
    for table, columns in ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
