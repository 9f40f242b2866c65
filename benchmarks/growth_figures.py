"""Growth figures: the data file stays flat over a long run with a short `--retention`, and `qstash dev` starts
about as fast with many pending messages as with none (memory per pending message reported)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from common import PYTHON, DevServer, Proc, Row, SinkProc, bench_env, free_port, median, rss_kib
from load import run_publish_many


def _file_kib(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists()) // 1024


def retention_flat(workdir: Path, n: int, chunks: int = 10) -> Row:
    """Publish `n` messages (delivered to a local sink) in `chunks` bursts to a server with `--retention 2s`; the
    size of the data file (+ WAL) after each burst: the peak of the second half vs the size half-way."""
    figure = f"retention: data file over {n:,} messages (--retention 2s), 2nd half peak vs half-way"
    with SinkProc(workdir) as sink, DevServer(workdir, "--retention", "2s", "--message-grace", "0") as server:
        dest = f"{sink.url}/g"
        sizes, total = [], 0
        for _ in range(chunks):
            sent = run_publish_many(server.port, server.token, dest, n // chunks, concurrency=32)
            total += sum(1 for s in sent if 200 <= s.status < 300)
            sink.wait_count(total, timeout=max(60.0, n / 100))
            sizes.append(_file_kib(server.data))
        time.sleep(3)
        sizes.append(_file_kib(server.data))
        delivered = sink.count()
    half = sizes[len(sizes) // 2 - 1]
    late = max(sizes[len(sizes) // 2 :])
    return Row(figure, half / 1024, late / 1024, "MiB", "≤ 1.1× (flat)", late / half <= 1.1 and delivered >= total == n,
               note=f"{total:,} accepted, {delivered:,} delivered; MiB after each {n // chunks:,}: "
               + " ".join(f"{s / 1024:.1f}" for s in sizes), extra={"kib": sizes})  # fmt: skip


def _fill(path: Path, pending: int) -> None:
    """A data file holding `pending` messages delayed by a day (written in-process with the server's own jobs)."""
    from qstash_cli.server import data
    from qstash_cli.server.ids import new_id, now_ms
    from qstash_cli.server.models import MessageSpec, Target
    from qstash_cli.server.store import Store

    store = Store(str(path))
    now = now_ms()

    def page(conn, start: int, count: int) -> None:  # noqa: ANN001
        for i in range(start, start + count):
            due = now + 86_400_000 + i  # as if published one per millisecond, delayed by a day
            meta = {"method": "POST", "header": {}, "notBefore": due, "api": "v2", "callerIP": "127.0.0.1"}
            spec = MessageSpec(id=new_id("msg"), created_at=now + i, not_before=due, max_retries=3, meta=meta,
                               body=b"x", targets=[Target("http://127.0.0.1:9/p")])  # fmt: skip
            data.insert_message(conn, spec)

    for start in range(0, pending, 5000):
        store.call(page, start, min(5000, pending - start))
    store.close()


SETTLE = 1.0  # seconds after the first answer: the due-queue's first page is read in the background by then


def _start(path: Path) -> tuple[float, int]:
    """(seconds until GET /v2/keys answers 200, RSS KiB `SETTLE` s later) of `python -m qstash_cli.server --data
    path`."""
    from qstash_cli import devcreds

    port = free_port()
    argv = [PYTHON, "-m", "qstash_cli.server", "--port", str(port), "--data", str(path), "--quiet", "--no-console"]
    t0 = time.perf_counter()
    request = f"GET /v2/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {devcreds.DEV_TOKEN}\r\n\r\n".encode()
    with Proc(argv, log=path.with_suffix(".log"), env=bench_env()) as proc:
        while True:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"qstash dev exited with {proc.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(request)
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        answered = time.perf_counter() - t0
                        time.sleep(SETTLE)
                        return answered, rss_kib(proc.pid)
            except OSError:
                time.sleep(0.01)


def _loaded_bytes(path: Path, pages: int = 4) -> tuple[float, int]:
    """(bytes per task, tasks) held by the due-queue for `pages` pages read from `path` (tracemalloc, in-process, a
    horizon wide enough to take the delayed messages): what a task costs while it is in memory."""
    import asyncio
    import gc
    import tracemalloc

    from qstash_cli.server.duequeue import WINDOW, DueQueue
    from qstash_cli.server.store import Store

    async def measure() -> tuple[float, int]:
        store = Store(str(path))
        try:
            due = DueQueue(store, window=WINDOW, horizon_ms=2 * 86_400_000)
            await due.fill()  # the first page warms the reader connection
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            n = sum([await due.fill() for _ in range(pages)])
            gc.collect()
            grown = sum(d.size_diff for d in tracemalloc.take_snapshot().compare_to(before, "filename"))
            tracemalloc.stop()
            return grown / max(1, n), n
        finally:
            store.close()

    return asyncio.run(measure())


def _evict(path: Path) -> bool:
    """Drop `path` (and its WAL) from the OS page cache (`POSIX_FADV_DONTNEED`); False where that is not possible.
    In a VM the host may still cache it, so this is "not in this machine's memory", not a cold disk."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)  # only clean pages can be dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def startup_pending(workdir: Path, pending: int, runs: int) -> list[Row]:
    """`qstash dev` start-up (until it answers) on a data file with `pending` pending messages vs an empty one, and
    on the same file dropped from the page cache first."""
    empty, full = workdir / "empty.sqlite3", workdir / "pending.sqlite3"
    _fill(empty, 0)
    _fill(full, pending)
    times: dict[str, list[float]] = {"empty": [], "full": [], "evicted": []}
    rss: dict[str, list[int]] = {"empty": [], "full": []}
    for i in range(runs + 1):
        for name, path in (("empty", empty), ("full", full))[:: 1 if i % 2 else -1]:
            t, r = _start(path)
            if i:  # the first round warms the page cache and bytecode
                times[name].append(t)
                rss[name].append(r)
        if i and _evict(full):
            times["evicted"].append(_start(full)[0])
    base, ours = median(times["empty"]), median(times["full"])
    evicted = median(times["evicted"]) if times["evicted"] else None
    per = (median(rss["full"]) - median(rss["empty"])) * 1024 / pending
    loaded, n = _loaded_bytes(full)
    mib = f"RSS {median(rss['empty']) / 1024:.0f} → {median(rss['full']) / 1024:.0f} MiB {SETTLE:g} s after the answer"
    return [
        Row(f"qstash dev start-up: {pending:,} pending vs none", base, ours, "s", "≤ 2×", ours <= 2 * base,
            note=f"median of {runs}; until GET /v2/keys answers (the due-queue is read from SQLite in the background, "
            "page by page as tasks come near)"),
        Row(f"qstash dev start-up: {pending:,} pending, the file out of the page cache, vs none", base, evicted, "s",
            "(printed)", None, note=f"median of {len(times['evicted'])}; the data file dropped from the OS page cache "
            "before each start (posix_fadvise DONTNEED; the VM's host may still hold it): the integrity check reads "
            "every page (datafile.read_ahead reads the file sequentially first)" if evicted else "not measured: no "
            "posix_fadvise here"),
        Row("qstash dev memory per pending message", None, per, "B", "(reported)", None,
            note=f"{mib} with {pending:,} pending (due in a day: none is read into memory yet)"),
        Row("qstash dev memory per task in the due-queue", None, loaded, "B", "(reported)", None,
            note=f"tracemalloc over {n:,} tasks read in pages (heap entry and held id); memory holds only tasks due "
            "within 60 s, a page or two of 5,000 ahead of the workers, plus those waiting at a paused or busy gate"),
    ]  # fmt: skip
