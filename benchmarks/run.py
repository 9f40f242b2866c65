"""Run every speed figure of issues 5 and 12 and print one table (figure, baseline, ours, ratio, goal, result).

    python benchmarks/run.py            # default sizes (~3-4 min on 2 cores)
    python benchmarks/run.py --quick    # fewer runs and messages (~1-2 min)
    python benchmarks/run.py --full     # the 100,000-message long run (RSS, listings), more start-up runs
    python benchmarks/run.py --only startup,server

Baselines are timed in the same run (machines are noisy); figures are medians. Servers listen on ephemeral
127.0.0.1 ports. Results: benchmarks/results/<time>.json and .md (and latest.*). Exit 1 when a measured goal is
missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accept_figures  # noqa: E402
import client_figures  # noqa: E402
import console_figures  # noqa: E402
import growth_figures  # noqa: E402
import listing  # noqa: E402
import server_figures  # noqa: E402
import startup  # noqa: E402
from common import RESULTS, Row  # noqa: E402

SIZES = {  # startup runs, one-request runs, bulk runs, SDK sample, burst, latency messages, long run, console rounds;
    # accept path: seconds per wrk run and rounds; growth: messages through a short retention, pending messages, runs
    "quick": dict(startup=11, request=5, bulk=1, sdk=200, burst=3_000, latency=300, long=20_000, console=1,
                  accept_s=3, accept_rounds=1, retention=20_000, pending=20_000, pending_runs=3),
    "default": dict(startup=31, request=11, bulk=3, sdk=1_000, burst=10_000, latency=1_000, long=30_000, console=5,
                    accept_s=5, accept_rounds=3, retention=50_000, pending=100_000, pending_runs=5),
    "full": dict(startup=51, request=21, bulk=5, sdk=1_000, burst=20_000, latency=2_000, long=100_000, console=5,
                 accept_s=5, accept_rounds=5, retention=200_000, pending=100_000, pending_runs=7),
}  # fmt: skip
PARTS = ("startup", "client", "accept", "server", "listing", "growth", "pending", "console")  # pending: growth's
# start-up with pending messages alone


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("/s",):
        return f"{value:,.0f}{unit}"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    head = ["figure", "baseline", "ours", "ratio", "goal", "result"]
    body = [
        [
            r.figure,
            fmt(r.baseline, r.unit),
            fmt(r.ours, r.unit),
            f"{r.ratio:.2f}×" if r.ratio is not None else "-",
            r.goal,
            "n/a" if r.ok is None else ("PASS" if r.ok else "FAIL"),
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)]
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    return "\n".join(out) + ("\n\nNotes:\n" + "\n".join(notes) if notes else "")


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "typer": version("typer"),
        "platform": platform.platform(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer runs and messages")
    mode.add_argument("--full", action="store_true", help="100,000-message long run, more runs")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of: {', '.join(PARTS)}")
    a = p.parse_args()
    size_name = "quick" if a.quick else "full" if a.full else "default"
    size = SIZES[size_name]
    parts = [x.strip() for x in a.only.split(",") if x.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tmp").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="qstash-bench-"))
    rows: list[Row] = []

    def step(label: str, fn, *args):  # noqa: ANN001, ANN202
        print(f"... {label}", file=sys.stderr, flush=True)
        t = time.perf_counter()
        result = fn(*args)
        print(f"    done in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        return result

    try:
        if "startup" in parts:
            rows += step("start-up", startup.run, size["startup"])
        if "client" in parts:
            rows.append(step("one request vs httpie", client_figures.one_request, workdir, size["request"]))
            rows.append(step("bulk publish --batch", client_figures.bulk, workdir, size["sdk"], size["bulk"]))
        if "accept" in parts:
            rows += step("accept path vs Starlette and the floor", accept_figures.accept_path, workdir,
                         size["accept_s"], size["accept_rounds"], size["burst"])  # fmt: skip
        if "server" in parts:
            rows += step("server throughput", server_figures.throughput, workdir, size["burst"])
            rows += step("server latency", server_figures.latency, workdir, size["latency"])
        if "server" in parts or "listing" in parts:
            row, server = step("server long run", server_figures.long_run, workdir, size["long"])
            try:
                if "server" in parts:
                    rows.append(row)
                if "listing" in parts:
                    rows += step("listings", listing.listing, server, size["long"], workdir)
            finally:
                server.stop()
        if "growth" in parts:
            rows.append(step("retention: data file size", growth_figures.retention_flat, workdir, size["retention"]))
        if "growth" in parts or "pending" in parts:
            rows += step("start-up with pending messages", growth_figures.startup_pending, workdir, size["pending"],
                         size["pending_runs"])  # fmt: skip
        if "console" in parts:
            rows.append(
                step(
                    "console live stream", console_figures.accept_with_browser, workdir, size["burst"], size["console"]
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    info = machine()
    text = table(rows)
    header = (
        f"qstash benchmarks ({size_name}) — {info['date']} — {info['cpus']} CPUs, {info['cpu']}, "
        f"Python {info['python']}, Typer {info['typer']}"
    )
    print(header)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    doc = {"mode": size_name, "sizes": size, "machine": info, "rows": [r.as_dict() for r in rows]}
    for name in (stamp, "latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        (RESULTS / f"{name}.md").write_text(f"{header}\n\n{text}\n")
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
