"""Server figures for `qstash dev` (python -m qstash_cli.server, SQLite file, default durability): accepted
publishes/s, deliveries/s to a local sink, publish→delivery latency, RSS over a long run."""

from __future__ import annotations

import time
from pathlib import Path

from common import DevServer, Row, SinkProc, rss_kib
from load import Sent, run_publish_many


def _ok(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if 200 <= s.status < 300]


def throughput(workdir: Path, n: int, concurrency: int = 32) -> list[Row]:
    """Burst `n` publishes over `concurrency` keep-alive connections and wait for every delivery; then the same burst
    with `Upstash-Delay: 1h` (nothing delivered while it runs): the accept path alone."""
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/t"
        run_publish_many(server.port, server.token, dest, 200, concurrency=8)  # warm-up
        sink.wait_count(200, timeout=30)
        sent = run_publish_many(server.port, server.token, dest, n, concurrency=concurrency)
        ok = _ok(sent)
        t0 = min(s.start for s in sent)
        accepted = len(ok) / (max(s.end for s in sent) - t0)
        drained = sink.wait_count(200 + len(ok), timeout=max(60.0, n / 100))
        delayed = run_publish_many(server.port, server.token, dest, n, concurrency=concurrency,
                                   headers={"Upstash-Delay": "1h"})  # fmt: skip
        ok_delayed = _ok(delayed)
        accepted_only = len(ok_delayed) / (max(s.end for s in delayed) - min(s.start for s in delayed))
        sink.stop()
        arrivals = sink.records()
    got = [arrivals[s.message_id] for s in ok if s.message_id in arrivals]
    deliveries = len(got) / (max(got) - t0) if got else 0.0
    note = f"{len(ok):,}/{n:,} accepted over {concurrency} connections (load.py), vs the accept path alone"
    return [
        Row("server: accepts/s while delivering vs accept path alone", accepted_only, accepted, "/s", "≥ 0.5×",
            accepted >= 0.5 * accepted_only and len(ok) == n, note=note),
        Row("server: accept path alone (Upstash-Delay 1h, load.py)", None, accepted_only, "/s", "(baseline)", None,
            note=f"{len(ok_delayed):,}/{n:,} accepted"),
        Row("server: deliveries/s to a local sink vs accept path", accepted_only, deliveries, "/s", "≥ 0.5×",
            deliveries >= 0.5 * accepted_only and drained,
            note=f"{len(got):,} delivered; rate from first publish to last delivery"),
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
