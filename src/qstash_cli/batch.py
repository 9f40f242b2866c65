"""`qstash publish --batch FILE.jsonl`: stream a JSON-lines file, validate every line, send the valid ones in chunks.

One message per line::

    {"destination": "https://example.com/a", "body": "hi", "headers": {"X-Team": "data"}, "delay": "10s"}

Keys: destination, body (a string, or any JSON value which is sent serialised with Content-Type application/json),
headers (Content-Type and Upstash-* headers are sent as given, any other name is forwarded as Upstash-Forward-Name),
and the shortcuts method, contentType, delay, notBefore, retries, timeout, callback, failureCallback, dedupId,
contentDedup, queue, label, retryDelay, flowControlKey, rate, parallelism, period, redact, callbackMethod,
callbackTimeout, callbackRetries, callbackRetryDelay, callbackDelay, callbackHeaders (an object), and the same
failureCallback… keys. The command's flags (and DESTINATION) are the defaults of every line.

v2 sends each chunk as one `POST /v2/batch`; a chunk the server rejects as a whole (400/404/412/413/422, e.g. one
unknown URL group) is split in halves and resent until the offending lines are isolated, so they alone fail.
v1 publishes line by line. Chunks go out over one shared httpx client
from a small thread pool; results are printed in line order as chunks complete, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from qstash_cli import inputs, qstash_headers
from qstash_cli.errors import ApiError, AuthError, InputError, QstashError
from qstash_cli.publishing import Message
from qstash_cli.safe_text import escape_controls

LINE_KEYS = frozenset(
    [
        "destination",
        "body",
        "headers",
        "method",
        "contentType",
        "delay",
        "notBefore",
        "retries",
        "timeout",
        "callback",
        "failureCallback",
        "dedupId",
        "contentDedup",
        "queue",
        "label",
        *qstash_headers.file_keys(camel=True),
    ]
)
SETTING_KEYS = qstash_headers.file_keys(camel=True)
V1_CHUNK = 16  # v1 lines per worker task: small, so a few hundred lines already run concurrently
SPLIT_STATUSES = (400, 404, 412, 413, 422)  # a chunk rejected whole with these is split in halves and resent
MAX_REPORTED = 20  # failure reasons echoed on stderr


@dataclass
class Outcome:
    """The result of one line: the API's answer for it, or why it failed."""

    line: int
    destination: str = ""
    data: Any = None
    error: str | None = None
    invalid: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "destination": self.destination}
        if self.error is not None:
            out["error"] = self.error
        elif isinstance(self.data, dict):
            out.update(self.data)
        elif isinstance(self.data, list):
            out["messages"] = self.data
        return out

    def message_ids(self) -> list[str]:
        items = self.data if isinstance(self.data, list) else [self.data]
        return [str(i["messageId"]) for i in items if isinstance(i, dict) and i.get("messageId")]


@dataclass
class Chunk:
    items: list[tuple[int, Message, Any]] = field(default_factory=list)  # (line, message, payload)
    invalid: list[Outcome] = field(default_factory=list)


# -- parsing ----------------------------------------------------------------------------------------------------


def parse_line(raw: bytes, defaults: Message, default_body: str | None) -> tuple[Message, str | None]:
    """One JSON line → (Message, body text). Raises InputError naming what is wrong."""
    if len(raw) > inputs.MAX_MESSAGE_SIZE:
        raise InputError(
            f"the line is longer than {inputs.MAX_MESSAGE_SIZE} bytes (the largest message QStash accepts); "
            "no line after it was read"
        )
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError("the JSON is nested too deep") from None
    if not isinstance(obj, dict):
        raise InputError('expected a JSON object such as {"destination": "https://...", "body": "..."}')
    unknown = obj.keys() - LINE_KEYS
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(LINE_KEYS))})")
    o: dict[str, Any] = {}
    dest = obj.get("destination")
    if dest is not None:
        o["destination"] = inputs.validate_destination(_str(dest, "destination"))
    elif not defaults.destination:
        raise InputError('missing "destination" (or give DESTINATION on the command line)')
    body = default_body
    if "body" in obj:
        value = obj["body"]
        if value is None or isinstance(value, str):
            body = value
        else:
            try:
                body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            except RecursionError:
                raise InputError("the body is nested too deep") from None
            o["content_type"] = "application/json"
    if "headers" in obj:
        _headers(obj["headers"], defaults, o)
    if "method" in obj:
        o["method"] = inputs.validate_method(_str(obj["method"], "method"))
    if "contentType" in obj:
        o["content_type"] = inputs.validate_header_value(_str(obj["contentType"], "contentType"), "contentType")
    if "delay" in obj:
        o["delay"] = inputs.validate_delay(
            inputs.parse_duration(_scalar(obj["delay"], "delay"), what="delay"), what="delay"
        )
        if "notBefore" not in obj:
            o["not_before"] = None
    if "notBefore" in obj:
        o["not_before"] = inputs.parse_not_before(_scalar(obj["notBefore"], "notBefore"))
        if "delay" not in obj:
            o["delay"] = None
    if "retries" in obj:
        value = obj["retries"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"invalid retries {value!r}: expected an integer")
        o["retries"] = inputs.validate_retries(value)
    if "timeout" in obj:
        o["timeout"] = inputs.parse_duration(_scalar(obj["timeout"], "timeout"), what="timeout")
    if "callback" in obj:
        o["callback"] = inputs.validate_url(_str(obj["callback"], "callback"), what="callback URL")
    if "failureCallback" in obj:
        url = _str(obj["failureCallback"], "failureCallback")
        o["failure_callback"] = inputs.validate_url(url, what="failureCallback URL")
    if "dedupId" in obj:
        o["dedup_id"] = inputs.validate_dedup_id(_str(obj["dedupId"], "dedupId"))
    if "contentDedup" in obj:
        if not isinstance(obj["contentDedup"], bool):
            raise InputError("invalid contentDedup: expected true or false")
        o["content_dedup"] = obj["contentDedup"]
    if "queue" in obj:
        o["queue"] = inputs.validate_id(_str(obj["queue"], "queue"), what="queue name")
    if "label" in obj:
        o["label"] = inputs.validate_header_value(_str(obj["label"], "label"), "label")
    line_settings = qstash_headers.settings_from_file(obj, SETTING_KEYS)
    if line_settings:
        values = {**defaults.setting_values, **line_settings}
        o["setting_values"] = values
        o["settings"] = qstash_headers.settings_headers(values)
    return (replace(defaults, **o) if o else defaults), body


def _headers(value: Any, defaults: Message, o: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        raise InputError("invalid headers: expected an object of name → value")
    forward = {n.lower(): (n, v) for n, v in defaults.forward}
    raw = dict(defaults.raw_headers)
    for key, val in value.items():
        name, text = inputs.parse_header(f"{key}: {_scalar(val, f'header {key}')}")
        lower = name.lower()
        if lower == "content-type":
            o["content_type"] = text
        elif lower.startswith("upstash-"):
            raw[name] = text
        else:
            forward[lower] = (name, text)
    o["forward"] = list(forward.values())
    o["raw_headers"] = raw


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"invalid {what} {value!r}: expected a non-empty string")
    return value


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"invalid {what} {value!r}: expected a string or a number")
    return str(value)


def read_lines(stream: BinaryIO, limit: int = inputs.MAX_MESSAGE_SIZE) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-blank line. A line longer than `limit` comes cut to `limit + 1` bytes (its
    parse then fails on the length) and is the last one read, so memory stays bounded (`--batch /dev/zero`)."""
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if raw.strip():
            yield number, raw
        if len(raw) > limit:
            return


class _Interrupts:
    """Ctrl-C as KeyboardInterrupt, except inside `held()`, where it waits for the end of the block (a result row
    printed is then always a row counted). Installed for the batch's duration, on the main thread only; a second
    handler does not disturb the pool threads, which Python never interrupts anyway."""

    def __init__(self) -> None:
        self.holding = self.pending = False
        self.previous: Any = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.holding:
            self.pending = True
            return
        raise KeyboardInterrupt

    def install(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            raise KeyboardInterrupt


def count_lines(path: str) -> int | None:
    """Lines in a regular file (for the progress bar's total), None for pipes."""
    try:
        if not os.path.isfile(path):
            return None
        total = 0
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                total += block.count(b"\n")
        return total
    except OSError:
        return None


# -- sending ----------------------------------------------------------------------------------------------------


class Batch:
    """Validates lines into chunks and sends them concurrently through one client; yields outcomes in order."""

    def __init__(
        self,
        client: Any,
        api: str,
        defaults: Message,
        default_body: str | None,
        *,
        chunk_size: int = 500,
        workers: int = 4,
    ) -> None:
        self.client = client
        self.api = api
        self.defaults = defaults
        self.default_body = default_body
        self.chunk_size = chunk_size if api == "v2" else min(chunk_size, V1_CHUNK)
        self.workers = workers if api == "v2" else max(workers, 8)

    def chunks(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[Chunk]:
        chunk = Chunk()
        for number, raw in lines:
            try:
                msg, body = parse_line(raw, self.defaults, self.default_body)
                msg.check(self.api)
                headers = msg.headers(self.api)
            except QstashError as exc:
                chunk.invalid.append(Outcome(number, error=exc.message, invalid=True))
                continue
            if self.api == "v2":
                item: dict[str, Any] = {"destination": msg.destination, "headers": headers}
                if body is not None:
                    item["body"] = body
                if msg.queue:
                    item["queue"] = msg.queue
                payload: Any = json.dumps(item).encode()
            else:
                payload = (body.encode() if body is not None else None, headers)
            chunk.items.append((number, msg, payload))
            if len(chunk.items) >= self.chunk_size:
                yield chunk
                chunk = Chunk()
        if chunk.items or chunk.invalid:
            yield chunk

    def send(self, items: list[tuple[int, Message, Any]]) -> list[Outcome]:
        if self.api == "v2":
            return self._send_v2(items)
        return [self._send_v1(number, msg, payload) for number, msg, payload in items]

    def _send_v2(self, items: list[tuple[int, Message, Any]]) -> list[Outcome]:
        payload = b"[" + b",".join(p for _, _, p in items) + b"]"
        try:
            answers = self.client.publish.batch(payload, idempotent=all(m.dedup_id for _, m, _ in items))
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status in SPLIT_STATUSES and len(items) > 1:  # one bad item rejects the request: isolate it
                half = len(items) // 2
                return self._send_v2(items[:half]) + self._send_v2(items[half:])
            return [Outcome(n, m.destination, error=exc.message) for n, m, _ in items]
        except QstashError as exc:
            return [Outcome(n, m.destination, error=exc.message) for n, m, _ in items]
        if not isinstance(answers, list) or len(answers) != len(items):
            return [Outcome(n, m.destination, error="unexpected answer from /v2/batch") for n, m, _ in items]
        out = []
        for (number, msg, _), answer in zip(items, answers, strict=True):
            if isinstance(answer, dict) and answer.get("error"):
                out.append(Outcome(number, msg.destination, error=str(answer["error"])))
            else:
                out.append(Outcome(number, msg.destination, data=answer))
        return out

    def _send_v1(self, number: int, msg: Message, payload: Any) -> Outcome:
        body, headers = payload
        try:
            data = self.client.publish.publish(msg.destination, body, headers, idempotent=bool(msg.dedup_id))
        except AuthError:
            raise
        except QstashError as exc:
            return Outcome(number, msg.destination, error=exc.message)
        return Outcome(number, msg.destination, data=data)

    def run(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[Outcome]:
        """Outcomes in line order; at most 2 × workers chunks in flight. After a Ctrl-C, `sent_anyway()` has the
        outcomes of the chunks already sent (they must still be reported)."""
        self.client.transport.http  # noqa: B018 - create the shared httpx client before the threads start
        pending = self._pending = deque()
        self._ready = deque()
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qstash-batch")
        try:
            for chunk in self.chunks(lines):
                future = pool.submit(self.send, chunk.items) if chunk.items else None
                pending.append((future, chunk.invalid))
                while len(pending) >= 2 * self.workers:
                    yield from self._next_done()
            while pending:
                yield from self._next_done()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    _pending: deque[tuple[Future[list[Outcome]] | None, list[Outcome]]]
    _ready: deque[Outcome]

    def _next_done(self) -> Iterator[Outcome]:
        """The oldest chunk's outcomes, one by one (kept until handed out: an interrupt loses none)."""
        outcomes = _collect(*self._pending[0])
        self._pending.popleft()
        self._ready.extend(outcomes)
        while self._ready:
            yield self._ready.popleft()

    def sent_anyway(self) -> list[Outcome]:
        """After the run stopped early (the pool is shut down, queued chunks cancelled): the outcomes not handed out
        yet of the chunks that were sent, in line order."""
        out = list(getattr(self, "_ready", ()))
        for future, invalid in getattr(self, "_pending", ()):
            if future is None or not future.cancelled():
                with contextlib.suppress(QstashError):  # e.g. a 401: nothing of that chunk was sent
                    out.extend(_collect(future, invalid))
        return out


def _collect(future: Future[list[Outcome]] | None, invalid: list[Outcome]) -> list[Outcome]:
    done = future.result() if future is not None else []
    return sorted(done + invalid, key=lambda o: o.line)


# -- the command's driver -----------------------------------------------------------------------------------------


def publish_file(
    source: str,
    *,
    client: Any,
    api: str,
    out: Any,
    defaults: Message,
    default_body: str | None,
    chunk_size: int,
    workers: int = 4,
) -> None:
    """Send every valid line of `source` (a path or `-`), print one result per line, raise if any line failed."""
    batch = Batch(client, api, defaults, default_body, chunk_size=chunk_size, workers=workers)
    try:
        stream: BinaryIO = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"batch file not found: {source}") from None
    except OSError as exc:
        raise InputError(f"cannot read batch file {source}: {exc.strerror}") from None
    started = time.perf_counter()
    failed: list[Outcome] = []
    sent = 0
    progress = _progress(None if source == "-" else count_lines(source))
    outcomes = batch.run(read_lines(stream))
    interrupts = _Interrupts().install()
    try:
        for outcome in outcomes:
            with interrupts.held():  # a row printed is a row counted, whenever Ctrl-C comes
                _print(out, outcome)
                if outcome.error is not None:
                    failed.append(outcome)
                else:
                    sent += 1
            if progress:
                progress(1)
    except KeyboardInterrupt:  # report what was sent before stopping: those messages are in QStash
        outcomes.close()  # waits for the chunks in flight, cancels the rest
        late = batch.sent_anyway()
        for outcome in late:
            _print(out, outcome)
        sent += sum(o.error is None for o in late)
        out.stderr.write(f"interrupted: {sent} message(s) sent (listed above); the lines after them were not sent\n")
        raise
    finally:
        interrupts.restore()
        if progress:
            progress(None)
        if stream is not sys.stdin.buffer:
            stream.close()
    total = sent + len(failed)
    out.info(f"sent {sent} of {total} message(s) in {time.perf_counter() - started:.2f}s")
    if total == 0:
        out.info(f"no messages in {'stdin' if source == '-' else source}")
    if failed:
        _fail(out, failed, total)


def _print(out: Any, o: Outcome) -> None:
    if out.mode == "json":
        out.json_line(o.as_json())
    elif out.mode == "quiet":
        for mid in o.message_ids():
            out.line(escape_controls(mid))
    elif o.error is not None:
        out.line(f"{o.line}\terror: {escape_controls(o.error)}")
    else:
        ids = o.message_ids()
        dedup = " (deduplicated)" if isinstance(o.data, dict) and o.data.get("deduplicated") else ""
        out.line(f"{o.line}\t{escape_controls(','.join(ids))}{dedup}")


def _fail(out: Any, failed: list[Outcome], total: int) -> None:
    for o in failed[:MAX_REPORTED]:
        out.stderr.write(f"line {o.line}: {escape_controls(o.error or '')}\n")
    if len(failed) > MAX_REPORTED:
        out.stderr.write(f"... and {len(failed) - MAX_REPORTED} more\n")
    numbers = ", ".join(str(o.line) for o in failed[:50]) + (", ..." if len(failed) > 50 else "")
    message = f"{len(failed)} of {total} line(s) failed: {numbers}"
    if all(o.invalid for o in failed):
        raise InputError(message + " (invalid; nothing was sent for them)")
    raise ApiError(message)


def _progress(total: int | None) -> Callable[[int | None], None] | None:
    """A Rich progress bar on stderr when it is a terminal and stdout is not (`> results.jsonl`: on a terminal the
    result lines show the progress themselves): call with a step, then with None to stop. stdout is never captured
    (the results go where stdout points); stderr notes are printed above the bar."""
    if not sys.stderr.isatty() or sys.stdout.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
        redirect_stdout=False,
    )
    task = bar.add_task("batch", total=total)
    bar.start()

    def step(n: int | None) -> None:
        if n is None:
            bar.stop()
        else:
            bar.advance(task, n)

    return step
