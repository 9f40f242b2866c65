"""The due-queue: pending tasks in due order, kept in memory only for those due soon.

SQLite holds every pending task (the `tasks_pending` index on `(next_at, id)`); memory holds those up to the *front*,
a `(next_at, id)` key that moves forward page by page: a page is the next `window` pending tasks after the front due
within `horizon` ms from now, read on the store's reader connection in the background. Start-up answers HTTP before
the first page is in; a data file of 100k delayed messages costs no memory until they come near. The next page is
read when the front comes within half the horizon of now, and — when the last page was full (a backlog of tasks due
now) — once fewer than half a window of tasks are loaded and not started.

Exactly once: `held` has the id of every task with an entry in memory (heap, a gate's wait list, the ready queue or
an attempt); a task already held is never pushed again. A new task (publish, retry, schedule fire, callback,
workflow step) due up to the front is pushed at once; a later one is left in SQLite for a later page, which starts
reading after its COMMIT. While a page is being read, new tasks beyond the old front wait aside (`stash`): the page
may or may not have seen them, so once it is in they are pushed if the new front covers them (`held` keeps one
entry) and otherwise left to the next page. Entries read from pages or set aside carry no payload: the attempt loads
the task and skips it unless it is still pending (cancelled or delivered meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from typing import Any

from qstash_cli.server import data
from qstash_cli.server.ids import now_ms
from qstash_cli.server.store import Store

WINDOW = 5000  # tasks per page
HORIZON_MS = 60_000  # a page holds no task due later than this from now
RETRY_S = 1.0  # after a page failed to load
_LAST_ID = "\U0010ffff"  # above every task id: a front of (t, _LAST_ID) covers every task due by t

Key = tuple[int, str]


class DueQueue:
    """A heap of (next_at, seq, task_id, gate, payload) backed by the pending tasks in SQLite."""

    def __init__(
        self,
        store: Store,
        *,
        window: int = WINDOW,
        horizon_ms: int = HORIZON_MS,
        on_push: Callable[[], None] = lambda: None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.store = store
        self.window = max(1, window)
        self.horizon_ms = max(2, horizon_ms)
        self.on_push = on_push  # the dispatcher's wake-up
        self.log = log
        self.heap: list[tuple] = []
        self.held: set[str] = set()
        self.front: Key = (-1, "")  # every pending task up to here is held (or finished)
        self.full = True  # the last page was full: more tasks may follow right after the front
        self.filling = False
        self.stash: list[tuple[int, str, str | None, Any]] = []
        self.ready_size: Callable[[], int] = lambda: 0  # entries handed on but not yet taken by a worker
        self.pages = 0
        self._seq = itertools.count()
        self._hungry = False  # waiting for the loaded tasks to drain before reading the next page
        self._more = asyncio.Event()

    # -- what the engine calls -------------------------------------------------------------------------------

    def offer(self, next_at: int, task_id: str, gate: str | None, payload: Any) -> bool:
        """A new or retried task, already committed: pushed when due up to the front (True), else left to a page."""
        if (next_at, task_id) <= self.front:
            return self._push(next_at, task_id, gate, payload)
        if self.filling:  # no payload: it may be cancelled before the page is in, unseen by `Engine.cancel`
            self.stash.append((next_at, task_id, gate, None))
        return False

    def again(self, at: int, task_id: str, gate: str | None) -> None:
        """Try a held task again at `at` (its attempt failed inside the server, nothing was recorded)."""
        self.held.add(task_id)
        heapq.heappush(self.heap, (at, next(self._seq), task_id, gate, None))

    def release(self, task_id: str) -> None:
        """The task's entry is gone (attempt finished, skipped or cancelled): a later page or offer may push it."""
        self.held.discard(task_id)

    def pop_due(self, now: int) -> list[tuple]:
        """The entries due by `now`, in due order."""
        out = []
        while self.heap and self.heap[0][0] <= now:
            out.append(heapq.heappop(self.heap))
        return out

    def next_due(self) -> int | None:
        return self.heap[0][0] if self.heap else None

    def drained(self) -> None:
        """Entries left the heap or the ready queue: read the next page if it waited for that."""
        if self._hungry and self.loaded() < self.window // 2 + 1:
            self._hungry = False
            self._more.set()

    def loaded(self) -> int:
        return len(self.heap) + self.ready_size()

    # -- pages -----------------------------------------------------------------------------------------------

    def _push(self, next_at: int, task_id: str, gate: str | None, payload: Any) -> bool:
        if task_id in self.held:
            return False
        self.held.add(task_id)
        heapq.heappush(self.heap, (next_at, next(self._seq), task_id, gate, payload))
        return True

    def _wait(self, now: int) -> float | None:
        """Seconds until the next page is due: 0 now, None until `drained` says so."""
        due = self.front[0] - self.horizon_ms // 2
        if now < due:
            return (due - now) / 1000
        if self.full and self.loaded() > self.window // 2:
            self._hungry = True
            return None
        return 0

    async def fill_forever(self) -> None:
        """Read page after page as the front nears and the loaded tasks drain."""
        while True:
            wait = self._wait(now_ms())
            if wait == 0:
                try:
                    await self.fill()
                except Exception as exc:  # noqa: BLE001 - e.g. a locked or unreadable file: try again
                    self.log(f"cannot read pending tasks: {type(exc).__name__}: {exc}; trying again in {RETRY_S:g}s")
                    await asyncio.sleep(RETRY_S)
                continue
            self._more.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), wait)

    async def fill(self) -> int:
        """Read one page after the front and push it; returns how many tasks it held."""
        until = now_ms() + self.horizon_ms
        self.filling = True
        try:
            page = await self.store.read(data.pending_page, self.front, until, self.window)
        except BaseException:
            self.filling, self.stash = False, []  # those tasks are committed: the next page reads them
            raise
        pushed = False
        for next_at, task_id, gate in page:
            pushed |= self._push(next_at, task_id, gate, None)
        if len(page) == self.window:
            self.front, self.full = (page[-1][0], page[-1][1]), True
        else:
            self.front, self.full = max(self.front, (until, _LAST_ID)), False
        stash, self.stash, self.filling = self.stash, [], False
        for next_at, task_id, gate, payload in stash:
            if (next_at, task_id) <= self.front:
                pushed |= self._push(next_at, task_id, gate, payload)
        self.pages += 1
        if pushed:
            self.on_push()
        return len(page)
