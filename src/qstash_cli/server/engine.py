"""Delivery: the due-queue (duequeue.py: the tasks due soon in memory, the rest read from SQLite page by page as
they come near) in front of a bounded pool of async workers sharing one HTTP client (outbound.Client: pooled
keep-alive connections, httptools parser).

An entry is (next_at, seq, task_id, gate, payload). Tasks due soon keep their payload (no database read); others
keep only the id and are loaded when due. Every attempt is signed with the current key at delivery time and recorded
in one write.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import math
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qstash_cli.server import data, deliverer, duequeue, flows, outbound, workflow
from qstash_cli.server.attempt_headers import attempt_headers
from qstash_cli.server.ids import now_ms
from qstash_cli.server.models import Delivery, Outcome
from qstash_cli.server.parse import retry_after, retry_delay_ms
from qstash_cli.server.store import DiskFull, Store
from qstash_cli.server.workflow_delivery import RunsInFlight, refused_trigger, workflow_headers

FLOW_PREFIX = data.FLOW_PREFIX  # gate names of flow-control keys (queues use their own name)
KEEP_PAYLOAD_MS = 2000
RESPONSE_LIMIT = 1 << 20
MARK_ACTIVE_AFTER = 0.2  # seconds
RECORD_RETRY = 1.0  # seconds between two tries to store an outcome while the disk is full


@dataclass
class KeyRing:
    """The signing keys in force; shared by the HTTP layer (rotate) and the workers (sign)."""

    current: str
    next: str


@dataclass
class QueueState:
    parallelism: int = 1
    paused: bool = False
    active: int = 0
    waiting: collections.deque = field(default_factory=collections.deque)


def backoff_seconds(retried: int, scale: float) -> float:
    """The documented default backoff before retry number `retried` (1-based): min(86400, e^(2.5·n)), scaled."""
    return min(86400.0, math.exp(2.5 * retried)) * scale


class Engine:
    """Schedules tasks by due time and runs their delivery attempts."""

    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        *,
        backoff_scale: float = 1.0,
        workers: int = 128,
        default_timeout: float = 300.0,
        log: Callable[[str], None] | None = None,
        due_window: int = duequeue.WINDOW,
        due_horizon_ms: int = duequeue.HORIZON_MS,
        remote: bool = False,
    ) -> None:
        self.store = store
        self.keys = keys
        self.backoff_scale = backoff_scale
        self.workers = workers
        self.default_timeout = default_timeout
        self.log = log or (lambda line: None)
        self.quiet = log is None  # no delivery lines to format (`qstash dev --quiet`)
        self.cancelled: set[str] = set()
        self.queues: dict[str, QueueState] = {}
        self.flows: dict[str, flows.Flow] = {}
        self.due = duequeue.DueQueue(
            store, window=due_window, horizon_ms=due_horizon_ms, on_push=self._poke, log=self.log
        )
        self._wake: asyncio.Event | None = None
        self._ready: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self.remote = remote  # the HTTP exchanges in a child process (deliverer.py)
        self.client: outbound.Client | deliverer.Remote | None = None
        self.inflight = 0
        self.run_failed: Callable[[str], None] = lambda run_id: None  # set by run.py: tell an invoking run
        self.runs = RunsInFlight()  # workflow deliveries in flight and the step each will make its endpoint publish

    # -- scheduling -------------------------------------------------------------------------------------------

    def add(self, deliveries: list[Delivery]) -> None:
        """Queue tasks (committed) for delivery at their `next_at`: now when due soon, else when their page is read."""
        now = now_ms()
        pushed = False
        for d in deliveries:
            payload = d if d.next_at - now < KEEP_PAYLOAD_MS else None
            gate = d.queue_name
            if gate is None and d.meta.get("flowControlKey"):
                key, meta = d.meta["flowControlKey"], d.meta
                flow = self.flow(key)
                if flow.configure(meta.get("parallelism"), meta.get("rate"), meta.get("period")):
                    self.store.submit(flows.save, key, flow.settings())
                gate = FLOW_PREFIX + key
            pushed |= self.due.offer(d.next_at, d.task_id, gate, payload)
        if pushed:
            self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def cancel(self, task_ids: list[str]) -> None:
        """Skip these (cancelled, committed) tasks when they come due; those not in memory are skipped by the store."""
        self.cancelled.update(t for t in task_ids if t in self.due.held)

    def set_queue(self, name: str, parallelism: int, paused: bool) -> None:
        """Create or update a queue's limits, releasing waiting tasks when allowed."""
        state = self.queues.setdefault(name, QueueState())
        state.parallelism, state.paused = max(1, parallelism), paused
        self._drain_queue(state)

    def flow(self, key: str) -> flows.Flow:
        """The flow-control key's state, made on first use."""
        if key not in self.flows:
            self.flows[key] = flows.Flow(key, period_start=now_ms())
        return self.flows[key]

    def _offer(self, item: tuple) -> None:
        assert self._ready is not None
        name = item[3]
        if name is None:
            self._ready.put_nowait(item)
            return
        if name.startswith(FLOW_PREFIX):
            flow = self.flow(name[len(FLOW_PREFIX) :])
            flow.waiting.append(item)
            self._drain_flow(flow)
            return
        state = self.queues.setdefault(name, QueueState())
        state.waiting.append(item)
        self._drain_queue(state)

    def _drain_queue(self, state: QueueState) -> None:
        while state.waiting and not state.paused and state.active < state.parallelism and self._ready is not None:
            state.active += 1
            self._ready.put_nowait(state.waiting.popleft())

    def _drain_flow(self, flow: flows.Flow) -> None:
        """Start what the flow's pause, parallelism and rate allow; come back when the rate period ends."""
        flow.timer = None
        while flow.waiting and flow.room() and self._ready is not None:
            wait = flow.take(now_ms())
            if wait > 0:
                flow.timer = asyncio.get_running_loop().call_later(wait / 1000, self._drain_flow, flow)
                return
            flow.active += 1
            self._ready.put_nowait(flow.waiting.popleft())

    def _redrain(self, flow: flows.Flow) -> None:
        if flow.timer is not None:
            flow.timer.cancel()
        self._drain_flow(flow)

    def _release(self, name: str | None) -> None:
        if name is None:
            return
        if name.startswith(FLOW_PREFIX):
            flow = self.flows.get(name[len(FLOW_PREFIX) :])
            if flow is not None:
                flow.active = max(0, flow.active - 1)
                if flow.timer is None:
                    self._drain_flow(flow)
            return
        state = self.queues.get(name)
        if state is not None:
            state.active = max(0, state.active - 1)
            self._drain_queue(state)

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP client, load the flow-control keys and queues, start the due-queue's pages (in the
        background: HTTP is answered before the pending tasks are read), the dispatcher and the workers."""
        self._wake = asyncio.Event()
        self._ready = asyncio.Queue()
        self.due.ready_size = self._ready.qsize
        if self.remote:
            self.client = deliverer.Remote(self.log, max_idle=self.workers)
            await self.client.start()
        else:
            # one TLS context: the CA bundle costs ~50 ms
            self.client = outbound.Client(ssl.create_default_context(), max_idle=self.workers)
        for key, settings in await self.store.run(flows.load):
            self.flows[key] = flows.Flow.stored(key, settings)
            self.flows[key].period_start = now_ms()
        for name, parallelism, paused in await self.store.run(data.queue_gates):  # a paused queue stays paused
            self.set_queue(name, parallelism, paused)
        self._tasks = [asyncio.create_task(self._dispatch()), asyncio.create_task(self.due.fill_forever())]
        self._tasks += [asyncio.create_task(self._work(self.client)) for _ in range(self.workers)]

    async def stop(self) -> None:
        """Stop workers (an attempt in flight is retried after the next start) and close the client."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.client is not None:
            self.client.close()

    def flow_entries(self) -> list[dict]:
        """`/v2/flowControl`: every key known (stored or seen since start), with its figures."""
        now = now_ms()
        return [self.flows[key].entry(now) for key in sorted(self.flows)]

    async def flow_act(self, key: str, action: str, **values: Any) -> bool:
        """pause / resume / pin / unpin / resetRate a key (stored before answering); False for an unknown key."""
        flow = self.flows.get(key)
        if flow is None:
            return False
        now = now_ms()
        if action in ("pause", "resume"):
            flow.paused = action == "pause"
        elif action == "pin":
            flow.pin(values.get("parallelism"), values.get("rate"), values.get("period"), now)
        elif action == "unpin":
            flow.pinned_parallelism &= not values.get("parallelism")
            flow.pinned_rate &= not values.get("rate")
        else:
            flow.reset_rate(now)
        await self.store.run(flows.save, key, flow.settings())
        self._redrain(flow)
        return True

    @property
    def backlog(self) -> int:
        """Tasks in memory waiting for their time."""
        return len(self.due.heap)

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            now = now_ms()
            due = self.due.pop_due(now)
            for item in due:
                self._offer(item)
            if due:
                self.due.drained()
            next_at = self.due.next_due()
            timeout = (next_at - now) / 1000 if next_at is not None else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _work(self, client: outbound.Client | deliverer.Remote) -> None:
        assert self._ready is not None
        while True:
            item = await self._ready.get()
            self.due.drained()
            self.inflight += 1
            try:
                follow = await self._attempt(item, client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker must survive anything
                self.log(f"delivery error for {item[2]}: {type(exc).__name__}: {exc}; trying again in 1s")
                self.due.again(now_ms() + 1000, item[2], item[3])
                self._poke()
            else:
                if not any(d.task_id == item[2] for d in follow):  # a retry stays skipped if cancelled meanwhile
                    self.cancelled.discard(item[2])
                self.due.release(item[2])
                self.add(follow)
            finally:
                self.inflight -= 1
                self._release(item[3])

    # -- one attempt ------------------------------------------------------------------------------------------

    async def _attempt(self, item: tuple, client: outbound.Client | deliverer.Remote) -> list[Delivery]:
        """One attempt of the entry's task; returns the tasks it leads to (retry, callbacks) for the due-queue."""
        task_id = item[2]
        if task_id in self.cancelled:
            return []
        d: Delivery | None = item[4]
        if d is None:
            d = await self.store.run(data.load_delivery, task_id)
            if d is None:
                return []
        started = now_ms()
        extra: list[tuple[str, str]] = []
        wf = d.meta.get("wf")
        if wf:
            got = await self.store.run(workflow.delivery_body, wf["run"], d.message_id, wf["kind"], d.body, started)
            if got is None:  # the run has ended: this step is not delivered
                await self.store.run(data.cancel_messages, [d.message_id], started)
                return []
            body, run, next_step = got
            if body is workflow.ADVANCED:
                await self.store.run(data.skip_delivered, d, started)
                return []
            d = dataclasses.replace(d, body=body)
            if wf["kind"] == "callback":  # the endpoint answers a call's callback with that call's result step
                step = d.meta.get("header", {}).get("Upstash-Workflow-Stepid", [""])[0]
                next_step = int(step) if step.isdigit() else None
            if wf["kind"] != "call":
                extra = workflow_headers(run, wf)
            if next_step is not None:
                self.runs.expect(wf["run"], d.message_id, next_step)
        # ACTIVE is stored only for attempts still running after a moment; quick ones get their ACTIVE log entry
        # with the outcome (one write per attempt instead of two).
        marked: list[bool] = []  # the ACTIVE entry went in while the attempt ran
        mark = asyncio.get_running_loop().call_later(MARK_ACTIVE_AFTER, self._mark_active, d, started, marked)
        try:
            outcome = await self._send(d, started, client, extra)
        finally:
            mark.cancel()
            if wf:
                self.runs.expect(wf["run"], d.message_id, None)
        if wf:
            outcome = refused_trigger(wf, outcome)
        follow = await self._record(d, outcome, bool(marked))
        if wf and wf["kind"] != "call" and not outcome.ok and outcome.retry_at is None:
            self.run_failed(wf["run"])
        if not self.quiet:
            status = outcome.status if outcome.status is not None else "ERR"
            note = f" ({outcome.error})" if outcome.error else ""
            retry = f" retry in {(outcome.retry_at - outcome.finished) / 1000:.3g}s" if outcome.retry_at else ""
            self.log(
                f"deliver {d.meta.get('method', 'POST')} {d.url} {status} {outcome.finished - started}ms "
                f"{d.message_id} retried={d.retried}{note}{retry}"
            )
        return follow

    def _mark_active(self, d: Delivery, started: int, marked: list[bool]) -> None:
        marked.append(True)
        self.store.submit(data.mark_active, d, started)

    async def _record(self, d: Delivery, outcome: Outcome, marked: bool) -> list[Delivery]:
        """Store an attempt's outcome. While the disk is full, keep trying to store it (every RECORD_RETRY s) instead
        of failing the worker, which would send the request again."""
        while True:
            try:
                return await self.store.run(data.record_attempt, d, outcome, marked)
            except DiskFull as exc:
                self.log(f"cannot store the outcome of {d.message_id}: {exc}; trying again in {RECORD_RETRY:g}s")
                await asyncio.sleep(RECORD_RETRY)

    def headers_for(self, d: Delivery, started: int, extra: list[tuple[str, str]] = ()) -> list[tuple[str, str]]:  # type: ignore[assignment]
        """The request headers of an attempt of `d` started at `started` (ms), signed with the current key."""
        return attempt_headers(self.keys.current, *self._header_args(d, started, extra))

    @staticmethod
    def _header_args(d: Delivery, started: int, extra: list[tuple[str, str]]) -> tuple:
        """`attempt_headers`' arguments after the key (the URL and body first: the delivery process reads them)."""
        meta = d.meta
        caller = meta.get("callerIP") or "127.0.0.1"
        return (d.url, d.body, d.message_id, d.retried, caller, list(extra), d.schedule_id, d.topic_name,
                meta.get("header", {}), started // 1000)  # fmt: skip

    async def _send(
        self,
        d: Delivery,
        started: int,
        client: outbound.Client | deliverer.Remote,
        extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> Outcome:
        timeout = float(d.meta.get("timeout") or self.default_timeout)
        status: int | None = None
        resp_headers: dict[str, list[str]] = {}
        resp_body = b""
        error: str | None = None
        flat: dict[str, str] = {}
        sent: list[tuple[str, str]] | None = None
        method, connect = d.meta.get("method", "POST"), min(timeout, 10.0)
        try:
            if isinstance(client, deliverer.Remote):  # headers, signature and exchange in the delivery process
                args = self._header_args(d, started, extra)
                sent, response = await client.attempt(
                    deliverer.Spec(self.keys.current, method, args, connect, RESPONSE_LIMIT, timeout)
                )
                if isinstance(response, BaseException):
                    raise response
            else:
                sent = self.headers_for(d, started, extra)
                response = await client.request(
                    method,
                    d.url,
                    sent,
                    d.body,
                    connect_timeout=connect,
                    limit=RESPONSE_LIMIT,  # keep what the logs and callbacks can carry
                    timeout=timeout,  # the whole exchange, not just each read
                )
            status, resp_body = response.status, response.body
            for name, value in response.headers:
                resp_headers.setdefault(name.title(), []).append(value)
                flat[name.lower()] = value
        except TimeoutError:
            status = None
            error = f"timeout after {timeout:g}s"
        except (OSError, outbound.ProtocolError) as exc:
            error = f"connection error: {type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - invalid URL and the like
            error = f"request failed: {exc}"
        finished = now_ms()
        retry_at = self._retry_at(d, status, flat, finished)
        return Outcome(started, finished, status, resp_headers, resp_body, error, retry_at, sent)

    def _retry_at(self, d: Delivery, status: int | None, headers: dict[str, str], finished: int) -> int | None:
        if status is not None and 200 <= status < 300:
            return None
        if status == 489 and headers.get("upstash-nonretryable-error", "").lower() == "true":
            return None
        if d.retried >= d.max_retries:
            return None
        wait = retry_after(headers, time.time()) if status is not None else None
        if wait is not None:
            return finished + int(wait * 1000)
        expr = d.meta.get("retryDelayExpression")
        if expr:
            ms = retry_delay_ms(expr, d.retried)
            if ms is not None:
                return finished + int(ms * self.backoff_scale)
        return finished + int(backoff_seconds(d.retried + 1, self.backoff_scale) * 1000)
