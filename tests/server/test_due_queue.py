"""The lazy due-queue (server/duequeue.py): pages of pending tasks read from SQLite as they come near, every task
delivered exactly once — after a restart with a backlog due in the past and the future, while tasks are published
and cancelled as the backlog is read, and for tasks (and retries) due beyond the page horizon. Small `--due-window` /
`--due-horizon` values make the pages many and the horizon short.

The first tests drive `DueQueue` directly on a real SQLite file, holding its page read at chosen points, so the
interleavings of a page read with a commit, an offer and an attempt are exact rather than left to timing."""

from __future__ import annotations

import asyncio
import collections
import random
import threading
from pathlib import Path

from qstash_cli.server import data
from qstash_cli.server.duequeue import DueQueue
from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.models import MessageSpec, Target
from qstash_cli.server.store import Store
from tests.server.helpers import wait_until

# -- helpers ----------------------------------------------------------------------------------------------------


def _spec(url: str, due: int, body: bytes) -> MessageSpec:
    meta = {"method": "POST", "header": {}, "notBefore": due, "api": "v2", "callerIP": "127.0.0.1"}
    return MessageSpec(
        id=new_id("msg"),
        created_at=now_ms(),
        not_before=due,
        max_retries=3,
        meta=meta,
        body=body,
        targets=[Target(url)],
    )


def _insert(conn, specs: list[MessageSpec]) -> list[tuple[int, str]]:  # noqa: ANN001
    """Store messages with the server's own job; their tasks' (next_at, id)."""
    return [(d.next_at, d.task_id) for spec in specs for d in data.insert_message(conn, spec)]


def _fill_file(path: Path, dues: list[tuple[int, str]]) -> dict[str, int]:
    """A data file holding one pending message per (due ms, url); message id → due."""
    store = Store(str(path))
    specs = [_spec(url, due, str(due).encode()) for due, url in dues]
    store.call(_insert, specs)
    store.close()
    return {s.id: s.not_before for s in specs}


class HeldStore(Store):
    """A real store whose page reads wait for the test: `reading` is set when a read is asked for, `before` lets it
    start, `read` is set once it ran and `after` lets its result go back (None: no wait)."""

    before: asyncio.Event | None = None
    after: asyncio.Event | None = None
    reading: asyncio.Event | None = None
    done: asyncio.Event | None = None

    async def read(self, fn, *args):  # noqa: ANN001, ANN002, ANN201
        if self.reading is not None:
            self.reading.set()
        if self.before is not None:
            await self.before.wait()
        result = await super().read(fn, *args)
        if self.done is not None:
            self.done.set()
        if self.after is not None:
            await self.after.wait()
        return result


def _ids(due: DueQueue) -> list[str]:
    return [entry[2] for entry in due.heap]


def _run(coro) -> None:  # noqa: ANN001
    asyncio.run(coro)


# -- the due-queue against a real SQLite file -------------------------------------------------------------------


def test_pages_follow_due_order_and_stop_at_the_horizon(tmp_path):
    async def main() -> None:
        store = Store(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        keys = await store.run(_insert, [_spec("http://127.0.0.1:9/", now - 1000 + i % 5, b"x") for i in range(12)])
        far = await store.run(_insert, [_spec("http://127.0.0.1:9/", now + 3_600_000, b"x")])
        due = DueQueue(store, window=5, horizon_ms=60_000)
        assert await due.fill() == 5 and due.full
        assert await due.fill() == 5 and await due.fill() == 2 and not due.full
        assert sorted(_ids(due)) == sorted(t for _, t in keys)  # the far one is left in SQLite
        assert far[0][1] not in due.held and due.front[0] < far[0][0]
        assert [e[2] for e in due.pop_due(now_ms())] == [t for _, t in sorted(keys)]
        store.close()

    _run(main())


def test_offer_while_a_page_reads_it_keeps_one_entry(tmp_path):
    """Committed before the read: the page sees the task and its offer is set aside; one entry."""

    async def main() -> None:
        store = HeldStore(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        due = DueQueue(store, window=100, horizon_ms=60_000)
        await due.fill()  # empty: the front is the horizon
        store.before, store.reading = asyncio.Event(), asyncio.Event()
        due.front = (now - 1, "")  # as if a backlog page ended there
        filling = asyncio.create_task(due.fill())
        await store.reading.wait()
        [(at, task)] = await store.run(_insert, [_spec("http://127.0.0.1:9/", now + 10, b"x")])
        assert due.offer(at, task, None, "payload") is False and due.filling
        store.before.set()
        assert await filling == 1
        assert _ids(due) == [task] and due.heap[0][4] is None  # set aside without payload: the attempt reads it
        store.close()

    _run(main())


def test_offer_committed_after_the_read_is_pushed_when_the_front_covers_it(tmp_path):
    """Committed after the page was read: the page missed it; its offer, set aside, is pushed (short page)."""

    async def main() -> None:
        store = HeldStore(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        due = DueQueue(store, window=100, horizon_ms=60_000)
        due.front = (now - 1, "")
        store.after, store.done = asyncio.Event(), asyncio.Event()
        filling = asyncio.create_task(due.fill())
        await store.done.wait()  # the page is read (empty); its result waits for `after`
        [(at, task)] = await store.run(_insert, [_spec("http://127.0.0.1:9/", now + 10, b"x")])
        assert due.offer(at, task, None, "payload") is False
        store.after.set()
        assert await filling == 0
        assert _ids(due) == [task] and due.heap[0][4] is None  # set aside without its payload (see Engine.cancel)
        store.close()

    _run(main())


def test_offer_beyond_a_full_page_is_left_to_the_next_page(tmp_path):
    async def main() -> None:
        store = HeldStore(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        backlog = await store.run(_insert, [_spec("http://127.0.0.1:9/", now - 100 + i, b"x") for i in range(4)])
        due = DueQueue(store, window=2, horizon_ms=60_000)
        store.after, store.reading = asyncio.Event(), asyncio.Event()
        filling = asyncio.create_task(due.fill())
        await store.reading.wait()
        [(at, task)] = await store.run(_insert, [_spec("http://127.0.0.1:9/", now, b"x")])
        due.offer(at, task, None, None)
        store.after.set()
        await filling
        assert sorted(_ids(due)) == sorted(t for _, t in backlog[:2]) and due.full  # beyond this page's front
        store.after = None
        while due.full:
            await due.fill()
        assert sorted(_ids(due)) == sorted([t for _, t in backlog] + [task])  # read by a later page, once
        store.close()

    _run(main())


def test_a_held_task_retried_while_a_page_reads_is_not_doubled(tmp_path):
    """The task is in an attempt; its retry is committed beyond the front and the page reads it: skipped (held);
    the attempt's follow-up, offered after it ends, is the one entry."""

    async def main() -> None:
        store = HeldStore(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        [(at, task)] = await store.run(_insert, [_spec("http://127.0.0.1:9/", now - 10, b"x")])
        due = DueQueue(store, window=100, horizon_ms=60_000)
        await due.fill()
        [entry] = due.pop_due(now_ms())  # the attempt starts: still held
        retry_at = now + 1000
        due.front = (now, "")  # the retry lies beyond the front (as with a backlog page)

        def retry(conn) -> None:  # noqa: ANN001
            conn.execute("UPDATE tasks SET state = 'RETRY', retried = 1, next_at = ? WHERE id = ?", (retry_at, task))

        await store.run(retry)
        assert await due.fill() == 1 and due.heap == []  # read, but held by the attempt
        due.release(task)
        assert due.offer(retry_at, task, None, None) is True
        assert _ids(due) == [task] and entry[2] == task
        store.close()

    _run(main())


def test_cancelled_and_delivered_tasks_are_not_read(tmp_path):
    async def main() -> None:
        store = Store(str(tmp_path / "d.sqlite3"))
        now = now_ms()
        specs = [_spec("http://127.0.0.1:9/", now - 10 + i, b"x") for i in range(3)]
        keys = await store.run(_insert, specs)
        await store.run(data.cancel_messages, [specs[0].id], now)
        due = DueQueue(store, window=100, horizon_ms=60_000)
        await due.fill()
        assert sorted(_ids(due)) == sorted(t for _, t in keys[1:])
        store.close()

    _run(main())


# -- the server -------------------------------------------------------------------------------------------------


def _counts(sink, path: str) -> collections.Counter:
    return collections.Counter(r.header("upstash-message-id") for r in sink.requests if r.path == path)


def _sentinel(server, sink) -> None:
    """Publish one message due now and wait for it: deliveries before it are in the sink."""
    with server.client() as c:
        c.post(f"/v2/publish/{sink.url}/sentinel", content=b"s")
    sink.wait_for(1, path="/sentinel", timeout=20)


def test_restart_delivers_a_backlog_due_in_the_past_and_future_once_in_due_order(dev_server_factory, sink, tmp_path):
    now = now_ms()
    rng = random.Random(7)
    past = [now - 60_000 + rng.randrange(0, 50_000) for _ in range(130)] + [now - 30_000] * 20  # 20 at one instant
    future = [now + 2000 + 150 * i for i in range(10)]  # beyond the first pages' 1 s horizon
    dues = [(due, f"{sink.url}/due") for due in past + future]
    rng.shuffle(dues)  # stored in an order that is not the due order
    path = tmp_path / "backlog.sqlite3"
    expected = _fill_file(path, dues)
    server = dev_server_factory(data=path, workers=1, due_window=7, due_horizon=1, quiet=True)
    got = sink.wait_for(len(expected), path="/due", timeout=60)
    _sentinel(server, sink)
    assert _counts(sink, "/due") == collections.Counter(expected.keys())  # every message, once
    delivered = [int(r.body) for r in got if r.path == "/due"]
    assert delivered == sorted(delivered)  # one worker: in due order
    assert sorted(delivered) == sorted(expected.values())


def test_publish_and_cancel_while_the_backlog_is_read(dev_server_factory, sink, tmp_path):
    now = now_ms()
    dues = [(now - 20_000 + i, f"{sink.url}/old") for i in range(400)]
    dues += [(now + 8000 + i, f"{sink.url}/later") for i in range(30)]
    path = tmp_path / "backlog.sqlite3"
    stored = _fill_file(path, dues)
    sink.respond(path="/old", delay=0.02)  # 400 × 20 ms over 4 workers: the backlog takes a while to read
    server = dev_server_factory(data=path, workers=4, due_window=10, due_horizon=1, quiet=True)
    later = [mid for mid, due in stored.items() if due >= now + 8000]
    published: dict[str, str] = {}
    cancelled: set[str] = set()
    lock = threading.Lock()

    def publish(delay: str, path: str) -> None:
        with server.client() as c:
            for i in range(15):
                r = c.post(f"/v2/publish/{sink.url}{path}", content=f"{i}".encode(), headers={"Upstash-Delay": delay})
                assert r.status_code == 200
                with lock:
                    published[r.json()["messageId"]] = path

    threads = [
        threading.Thread(target=publish, args=args) for args in (("0s", "/new"), ("1s", "/new1"), ("3s", "/new3"))
    ]
    for t in threads:
        t.start()
    with server.client() as c:
        for mid in later[:15]:
            if c.delete(f"/v2/messages/{mid}").json()["cancelled"]:
                cancelled.add(mid)
    for t in threads:
        t.join()
    with server.client() as c:
        for mid in [m for m, p in published.items() if p == "/new3"][:8]:
            if c.delete(f"/v2/messages/{mid}").json()["cancelled"]:
                cancelled.add(mid)
    expected = {mid: "/old" if due < now else "/later" for mid, due in stored.items()} | published
    expected = {mid: p for mid, p in expected.items() if mid not in cancelled}  # a cancel that came too late: 0
    wait_until(lambda: sum(1 for r in sink.requests if r.path != "/sentinel") >= len(expected), timeout=60)
    _sentinel(server, sink)
    seen = collections.Counter(r.header("upstash-message-id") for r in sink.requests if r.path != "/sentinel")
    assert seen == collections.Counter(expected.keys())
    assert {(r.header("upstash-message-id"), r.path) for r in sink.requests if r.path != "/sentinel"} == set(
        expected.items()
    )


def test_tasks_and_retries_beyond_the_horizon_come_due(dev_server_factory, sink):
    server = dev_server_factory(due_window=2, due_horizon=0.5, backoff_scale=0.25)  # a retry waits ~3 s
    sink.respond(status=500, path="/retry", times=1)
    with server.client() as c:
        far = c.post(f"/v2/publish/{sink.url}/far", content=b"f", headers={"Upstash-Delay": "2s"}).json()["messageId"]
        retried = c.post(f"/v2/publish/{sink.url}/retry", content=b"r").json()["messageId"]
        kept = c.post(f"/v2/publish/{sink.url}/kept", content=b"k", headers={"Upstash-Delay": "3s"}).json()
    sink.wait_for(1, path="/retry")
    server.restart()  # the delayed one is only in SQLite now
    sink.wait_for(1, path="/far", timeout=20)
    sink.wait_for(2, path="/retry", timeout=20)
    sink.wait_for(1, path="/kept", timeout=20)
    _sentinel(server, sink)
    assert _counts(sink, "/far") == {far: 1}
    assert _counts(sink, "/retry") == {retried: 2}
    assert _counts(sink, "/kept") == {kept["messageId"]: 1}


def test_a_queue_paused_before_a_restart_stays_paused(dev_server_factory, sink):
    server = dev_server_factory(workers=1)
    with server.client() as c:
        assert c.post("/v2/queues", json={"queueName": "q", "parallelism": 2, "paused": True}).status_code == 200
        queued = c.post(f"/v2/enqueue/q/{sink.url}/q", content=b"q").json()["messageId"]
    server.restart()
    _sentinel(server, sink)  # one worker: the queued task, due earlier, would have gone first
    assert _counts(sink, "/q") == {}
    with server.client() as c:
        assert c.post("/v2/queues/q/resume").status_code == 200
    sink.wait_for(1, path="/q")
    assert _counts(sink, "/q") == {queued: 1}
