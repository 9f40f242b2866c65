"""Server figures for `qstash dev` (python -m qstash_cli.server, SQLite file, default durability): accepted
publishes/s, deliveries/s to a local sink, publish→delivery latency, RSS over a long run."""

from __future__ import annotations

import time
from pathlib import Path

from common import DevServer, Row, SinkProc, median, rss_kib, stored_messages
from load import Sent, has_wrk, run_publish_many, run_wrk


def _ok(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if 200 <= s.status < 300]


def _burst(port: int, token: str, dest: str, n: int, concurrency: int, **headers: str) -> tuple[list[Sent], float]:
    """One burst of `n` publishes: what was sent, and the accepted (2xx) publishes per second over the burst."""
    sent = run_publish_many(port, token, dest, n, concurrency=concurrency, headers=headers or None)
    return sent, len(_ok(sent)) / (max(s.end for s in sent) - min(s.start for s in sent))


def burst_seconds(n: int) -> int:
    """How long a wrk burst standing for `n` publishes lasts: `n / 3000` s, rounded, at least 2 s."""
    return max(2, round(n / 3000))


def delivered_burst(server: DevServer, workdir: Path, dest: str, n: int, concurrency: int) -> tuple[float, int, int]:
    """One burst of publishes to `dest` (delivered): wrk for `burst_seconds(n)` when installed, else `n` publishes
    from load.py. (accepted/s, messages stored by it — with wrk, counted in the data file, so one cut off by wrk's
    end counts too —, non-2xx answers and socket errors)."""
    if has_wrk():
        before = stored_messages(server, dest)
        rate, _, bad = run_wrk(server.port, server.token, f"/v2/publish/{dest}", burst_seconds(n), workdir,
                               connections=concurrency, delayed=False)  # fmt: skip
        time.sleep(0.5)  # a publish cut off by wrk's end may still commit
        return rate, stored_messages(server, dest) - before, bad
    sent, rate = _burst(server.port, server.token, dest, n, concurrency)
    return rate, len(_ok(sent)), len(sent) - len(_ok(sent))


def _round(workdir: Path, n: int, concurrency: int, delayed_first: bool) -> tuple[float, float, float, int, bool]:
    """One round on a fresh server and sink: a burst of publishes delivered to the sink, and the same burst with
    `Upstash-Delay: 1h` (the accept path alone), in the given order. (accepted/s while delivering, accept path
    alone/s, deliveries/s from the first publish to the last delivery, accepted while delivering, all drained).
    With wrk a burst lasts `n / 3000` s, rounded (at least 2 s), else it is `n` publishes from load.py."""
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/t"
        run_publish_many(server.port, server.token, dest, 200, concurrency=8)  # warm-up
        sink.wait_count(200, timeout=30)

        def alone() -> float:
            if has_wrk():
                return run_wrk(server.port, server.token, "/v2/publish/http://127.0.0.1:9/later", burst_seconds(n),
                               workdir, connections=concurrency, delayed=True)[0]  # fmt: skip
            return _burst(server.port, server.token, dest, n, concurrency, **{"Upstash-Delay": "1h"})[1]

        if delayed_first:
            alone_rate = alone()
        t0 = time.time()
        accepted, count, bad = delivered_burst(server, workdir, dest, n, concurrency)
        every = bad == 0
        drained = sink.wait_count(200 + count, timeout=max(60.0, count / 100))
        if not delayed_first:
            alone_rate = alone()
        sink.stop()
        arrivals = [t for t in sink.records().values() if t >= t0]
    deliveries = len(arrivals) / (max(arrivals) - t0) if arrivals else 0.0
    return accepted, alone_rate, deliveries, count if every else -1, drained and len(arrivals) == count


def throughput(workdir: Path, n: int, concurrency: int = 32, rounds: int = 3) -> list[Row]:
    """`rounds` rounds (`_round`), each on a fresh server, the order of the two bursts alternated. Each ratio is the
    median round's (its figures are shown): a ratio stays within one round, its baseline timed minutes apart from it
    never."""
    results = [_round(workdir, n, concurrency, delayed_first=bool(r % 2)) for r in range(rounds)]
    by_accepts = sorted(results, key=lambda r: r[0] / r[1])[rounds // 2]
    by_deliveries = sorted(results, key=lambda r: r[2] / r[1])[rounds // 2]
    every = all(r[3] >= 0 for r in results)
    drained = all(r[4] for r in results)
    each = ", ".join(f"{r[0]:,.0f}/{r[1]:,.0f}/{r[2]:,.0f}" for r in results)
    gen = f"wrk, {burst_seconds(n)} s a burst" if has_wrk() else f"load.py, {n:,} publishes a burst"
    note = (f"the median of {rounds} rounds, each on a fresh server (accepted while delivering/alone/deliveries per "
            f"s: {each}); {concurrency} connections, {gen}; every publish answered 2xx: {every}")  # fmt: skip
    return [
        Row("server: accepts/s while delivering vs accept path alone", by_accepts[1], by_accepts[0], "/s", "≥ 0.5×",
            by_accepts[0] >= 0.5 * by_accepts[1] and every, note=note),
        Row(f"server: accept path alone (Upstash-Delay 1h, {'wrk' if has_wrk() else 'load.py'})", None,
            median([r[1] for r in results]), "/s", "(baseline)", None, note=f"median of {rounds} bursts"),
        Row("server: deliveries/s to a local sink vs accept path", by_deliveries[1], by_deliveries[2], "/s", "≥ 0.5×",
            by_deliveries[2] >= 0.5 * by_deliveries[1] and drained,
            note=f"the median round; every accepted message delivered in each: {drained}; first publish to last"),
    ]  # fmt: skip


def latency(workdir: Path, n: int, rate: float = 100.0) -> list[Row]:
    """Publish `n` messages paced at `rate`/s; latency = sink arrival − publish request start."""
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/l"
        run_publish_many(server.port, server.token, dest, 100, concurrency=4)  # warm-up
        sink.wait_count(100, timeout=30)
        sent = _ok(run_publish_many(server.port, server.token, dest, n, concurrency=4, rate=rate))
        sink.wait_count(100 + len(sent), timeout=60)
        sink.stop()
        arrivals = sink.records()
    lat = sorted((arrivals[s.message_id] - s.start) * 1000 for s in sent if s.message_id in arrivals)
    if not lat:
        return [Row("server: publish→delivery latency p50", None, None, "ms", "≤ 5 ms", False, note="no deliveries")]
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    note = f"{len(lat):,} messages paced at {rate:.0f}/s"
    return [
        Row("server: publish→delivery latency p50", None, p50, "ms", "≤ 5 ms", p50 <= 5, note=note),
        Row("server: publish→delivery latency p99", None, p99, "ms", "≤ 25 ms", p99 <= 25, note=note),
    ]


def long_run(workdir: Path, n: int, chunks: int = 10) -> tuple[Row, DevServer]:
    """Publish `n` messages in `chunks` bursts, sampling the server's RSS; the server is returned still running (its
    data feeds the listing figures) — the caller stops it."""
    server = DevServer(workdir)
    with SinkProc(workdir) as sink:
        dest = f"{sink.url}/r"
        samples: list[int] = []
        total = 0
        for _ in range(chunks):
            total += len(_ok(run_publish_many(server.port, server.token, dest, n // chunks, concurrency=32)))
            samples.append(rss_kib(server.pid))
        drained = sink.wait_count(total, timeout=max(60.0, n / 200))
        time.sleep(0.5)
        samples.append(rss_kib(server.pid))
    half = samples[len(samples) // 2 - 1]  # RSS once half the messages went through (caches warm)
    late = max(samples[len(samples) // 2 :])
    row = Row(
        f"server: RSS over {n:,} messages (2nd half peak vs half-way)",
        half / 1024,
        late / 1024,
        "MiB",
        "≤ 1.1× (flat)",
        late / half <= 1.1 and drained and total == n,
        note=f"{total:,} accepted; RSS MiB after each {n // chunks:,} and after the drain: "
        + " ".join(f"{s / 1024:.0f}" for s in samples),
        extra={"rss_kib": samples},
    )
    return row, server
