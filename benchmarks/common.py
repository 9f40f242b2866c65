"""Shared helpers for the benchmarks: timing, medians, subprocess servers, RSS sampling, result rows."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
QSTASH = str(BIN / "qstash")


@dataclass
class Row:
    """One figure of the table: ours against a baseline (or an absolute goal), and whether the goal is met."""

    figure: str
    baseline: float | None  # same unit as `ours`; None when the goal is absolute
    ours: float | None
    unit: str
    goal: str  # e.g. "≤ 1.2×", "≤ 3 s", "≥ 2000/s"
    ok: bool | None  # None = not measured
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline and self.ours is not None:
            return self.ours / self.baseline
        return None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def time_run(argv: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True) -> float:
    """Wall seconds of one subprocess run (output discarded)."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def interleaved(runs: int, a: Callable[[], float], b: Callable[[], float], warmup: int = 2) -> tuple[float, float]:
    """Medians of `a` and `b`, timed alternately (a, b, b, a, ...) so drift in machine load hits both alike."""
    for _ in range(warmup):
        a()
        b()
    ta: list[float] = []
    tb: list[float] = []
    for i in range(runs):
        if i % 2:
            tb.append(b())
            ta.append(a())
        else:
            ta.append(a())
            tb.append(b())
    return median(ta), median(tb)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def rss_kib(pid: int) -> int:
    """Resident set size of a process (Linux /proc), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def env_without_qstash(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "UPSTASH_", "_QSTASH"))}
    env.update(extra)
    return env
