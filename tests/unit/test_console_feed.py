"""The live stream's position logic (server/feed.py) over a real in-memory store: resume, skip-ahead, filters."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from qstash_cli.server import feed
from qstash_cli.server.routes.console import stream_entry
from qstash_cli.server.routes.logs import FILTERS
from qstash_cli.server.store import Store


def _store(rows: int, every_tenth_failed: bool = False) -> Store:
    store = Store(None)
    states = ["FAILED" if every_tenth_failed and i % 10 == 0 else "CREATED" for i in range(1, rows + 1)]
    store.call(
        lambda c: c.executemany(
            "INSERT INTO logs (time, message_id, task_id, state, url) VALUES (?, ?, 'tsk', ?, 'http://x')",
            [(i, f"msg_{i}", s) for i, s in enumerate(states, 1)],
        )
    )
    return store


def _frames(store: Store, count: int, params: dict[str, list[str]] | None = None, **kw: Any) -> list[tuple]:
    """The first `count` frames of a stream, parsed as (event, id, data)."""
    where, args = FILTERS.where(params or {})

    async def go() -> list[tuple]:
        out = []
        async for raw in feed.stream(store.read, where, args, stream_entry, poll=0, **kw):
            if raw.startswith(b":"):
                continue
            fields = dict(line.split(": ", 1) for line in raw.decode().strip().split("\n") if ": " in line)
            out.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
            if len(out) == count:
                return out
        return out

    try:
        return asyncio.run(asyncio.wait_for(go(), 10))
    finally:
        store.close()


def test_a_new_stream_shows_the_last_rows_then_follows():
    hello, entries = _frames(_store(150), 2)
    assert hello == ("hello", None, {"seq": 50, "newest": 150})
    assert entries[0] == "entries" and entries[1] == "150"
    assert [e["seq"] for e in entries[2]] == list(range(51, 151))
    assert entries[2][0] == {"seq": 51, "time": 51, "state": "CREATED", "kind": "published", "messageId": "msg_51",
                             "taskId": "tsk", "url": "http://x"}  # fmt: skip


def test_a_reconnect_resumes_after_last_event_id():
    _, entries = _frames(_store(30), 2, last_event_id="25")
    assert [e["seq"] for e in entries[2]] == [26, 27, 28, 29, 30]


def test_a_stream_far_behind_skips_to_the_newest_rows_and_says_how_many():
    _, skipped, entries = _frames(_store(5000), 3, after="0")
    assert skipped == ("skipped", str(5000 - feed.BUSY_BATCH), {"count": 5000 - feed.BUSY_BATCH})
    assert [e["seq"] for e in entries[2]] == list(range(5000 - feed.BUSY_BATCH + 1, 5001))


def test_a_filtered_stream_never_skips_a_matching_row():
    frames = _frames(_store(12000, every_tenth_failed=True), 4, {"state": ["FAILED"]}, after="0")
    assert [f[0] for f in frames] == ["hello", "entries", "entries", "entries"]
    seqs = [e["seq"] for f in frames[1:] for e in f[2]]
    assert seqs == list(range(10, 12001, 10)) and {e["state"] for f in frames[1:] for e in f[2]} == {"FAILED"}
