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


def time_run(argv: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one subprocess run, output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def interleaved(
    runs: int, a: Callable[[], tuple[float, ...]], b: Callable[[], tuple[float, ...]], warmup: int = 2
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-component medians of `a` and `b` (e.g. wall, CPU), timed alternately (a b, b a, ...) so drift in machine
    load hits both alike."""
    for _ in range(warmup):
        a()
        b()
    ta: list[tuple[float, ...]] = []
    tb: list[tuple[float, ...]] = []
    for i in range(runs):
        if i % 2:
            tb.append(b())
            ta.append(a())
        else:
            ta.append(a())
            tb.append(b())
    return tuple(median(c) for c in zip(*ta, strict=True)), tuple(median(c) for c in zip(*tb, strict=True))


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
    """Resident set size of a process and its children (`qstash dev` and its delivery process; Linux /proc), KiB."""
    total = 0
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
        with open(f"/proc/{pid}/status") as f:
            total = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:  # the process has exited
        return 0
    return total + sum(rss_kib(child) for child in children)


def env_without_qstash(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "UPSTASH_", "_QSTASH"))}
    env.update(extra)
    return env


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for timed subprocesses: no QSTASH_* from the caller, bytecode caching on (as after a pip
    install), an isolated config file."""
    env = env_without_qstash(**extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("QSTASH_CONFIG", str(RESULTS / "tmp" / "config.toml"))
    return env


class Proc:
    """A background subprocess, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DevServer(Proc):
    """`python -m qstash_cli.server` on an ephemeral loopback port with its own SQLite file (durable, default sync)."""

    def __init__(self, workdir: Path, *flags: str) -> None:
        from qstash_cli import devcreds

        self.port = free_port()
        self.token = devcreds.DEV_TOKEN
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = workdir / f"dev-{self.port}.sqlite3"
        argv = [PYTHON, "-m", "qstash_cli.server", "--port", str(self.port), "--data", str(self.data), "--quiet"]
        super().__init__([*argv, *flags], log=workdir / f"dev-{self.port}.log", env=bench_env())
        wait_port(self.port, proc=self.proc)

    @property
    def env(self) -> dict[str, str]:
        return {"QSTASH_URL": self.url, "QSTASH_TOKEN": self.token}


def stored_messages(server: DevServer, url: str | None = None) -> int:
    """Messages in the server's data file (to `url` when given): WAL readers see every committed one."""
    import sqlite3

    conn = sqlite3.connect(server.data)
    try:
        where, args = (" WHERE url = ?", (url,)) if url else ("", ())
        return conn.execute(f"SELECT COUNT(*) FROM messages{where}", args).fetchone()[0]
    finally:
        conn.close()


class SinkProc(Proc):
    """benchmarks/sink.py on an ephemeral port; `records()` after `stop()` maps message id → arrival time."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = workdir / f"sink-{self.port}.txt"
        argv = [PYTHON, str(BENCH / "sink.py"), "--port", str(self.port), "--out", str(self.out)]
        super().__init__(argv, log=workdir / f"sink-{self.port}.log", env=bench_env())
        wait_port(self.port, proc=self.proc)

    def count(self) -> int:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"GET /__count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return int(data.split(b"\r\n\r\n", 1)[1])

    def wait_count(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= n:
                return True
            time.sleep(0.05)
        return False

    def records(self) -> dict[str, float]:
        got: dict[str, float] = {}
        with open(self.out) as f:
            for line in f:
                t, _, mid = line.rstrip("\n").partition(" ")
                got.setdefault(mid, float(t))
        return got


def command_has(argv: list[str], needle: str) -> bool:
    """Whether `qstash ARGV --help` runs and mentions `needle` (a command or flag still being written → False)."""
    proc = subprocess.run([QSTASH, *argv, "--help"], capture_output=True, text=True, env=bench_env())
    return proc.returncode == 0 and needle in proc.stdout
