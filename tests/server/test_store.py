"""The group commit (`server/store.py`): jobs of one turn share a transaction, yet a failing job fails only itself —
whether it ran in a savepoint of its own or unguarded (`store.unguarded`: the group is then run again job by job)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from qstash_cli.server.store import UNGUARDED, Store, unguarded


def _put(conn: sqlite3.Connection, key: str) -> str:
    conn.execute("INSERT INTO kv VALUES (?, ?)", (key, "v"))
    return key


@unguarded
def _put_fast(conn: sqlite3.Connection, key: str) -> str:
    return _put(conn, key)


@unguarded
def _put_then_fail(conn: sqlite3.Connection, key: str) -> str:
    _put(conn, key)  # written, then undone with the rest of the group
    raise RuntimeError(f"failed after writing {key}")


def _fail(conn: sqlite3.Connection, key: str) -> str:
    _put(conn, key)
    raise LookupError(key)


def _run_together(store: Store, jobs: list[tuple[Any, str]]) -> tuple[list[Any], int]:
    """Queue `jobs` in one turn; their results (or errors) and how many transactions committed meanwhile."""
    commits = []
    store.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(store.run(fn, key) for fn, key in jobs), return_exceptions=True)

    results = asyncio.run(scenario())
    store.conn.set_trace_callback(None)
    return results, len(commits)


def _keys(store: Store) -> set[str]:
    return {row[0] for row in store.conn.execute("SELECT k FROM kv")}


def test_jobs_of_one_turn_commit_once_unguarded_or_not() -> None:
    store = Store(None)
    results, commits = _run_together(store, [(_put, "a"), (_put_fast, "b"), (_put_fast, "c"), (_put, "d")])
    assert results == ["a", "b", "c", "d"] and commits == 1
    assert _keys(store) == {"a", "b", "c", "d"}


def test_a_failing_guarded_job_fails_alone_in_the_shared_transaction() -> None:
    store = Store(None)
    results, commits = _run_together(store, [(_put, "a"), (_fail, "b"), (_put_fast, "c")])
    assert results[0] == "a" and isinstance(results[1], LookupError) and results[2] == "c"
    assert commits == 1 and _keys(store) == {"a", "c"}  # b's write undone by its savepoint


def test_a_failing_unguarded_job_fails_alone_after_the_group_runs_again_job_by_job() -> None:
    store = Store(None)
    results, commits = _run_together(store, [(_put, "a"), (_put_then_fail, "b"), (_put_fast, "c"), (_fail, "d")])
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], RuntimeError) and isinstance(results[3], LookupError)
    assert _keys(store) == {"a", "c"}  # nothing of b or d, all of the others
    assert commits == 4  # the shared transaction rolled back; each job then alone


@pytest.mark.parametrize("name", ["publish_many", "record_attempt", "mark_active"])
def test_the_frequent_jobs_run_unguarded(name: str) -> None:
    from qstash_cli.server import data

    assert getattr(data, name) in UNGUARDED
