"""Listing figures: `messages list --all` / `logs --all` over the long run's entries must stream in constant memory.

The CLI's output is read (and counted, never kept) while it runs: its peak RSS over the long run's server against the
same listing's peak over a server holding 1,000 messages. Constant memory = the ratio stays near 1 however
many entries."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

from common import PYTHON, QSTASH, DevServer, Row, SinkProc, bench_env, command_has, rss_kib
from load import run_publish_many

SMALL = 1_000  # messages on the baseline server


def streamed_rss(argv: list[str], env: dict[str, str]) -> tuple[list[tuple[int, int]], int, int]:
    """([(lines so far, RSS KiB)] samples, peak RSS KiB from the kernel, exit code) of a listing command."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines, samples = 0, []
    while chunk := proc.stdout.read(1 << 12):
        lines += chunk.count(b"\n")
        with contextlib.suppress(OSError):
            if rss := rss_kib(proc.pid):  # 0 once the process has exited
                samples.append((lines, rss))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return samples, usage.ru_maxrss, proc.returncode


def _small_server(workdir: Path) -> DevServer:
    """A second server holding `SMALL` delivered messages: the baseline listing."""
    server = DevServer(workdir)
    with SinkProc(workdir) as sink:
        run_publish_many(server.port, server.token, f"{sink.url}/s", SMALL, concurrency=8)
        sink.wait_count(SMALL, timeout=60)
    return server


def listing(server: DevServer, messages: int, workdir: Path) -> list[Row]:
    """Each listing's peak RSS (kernel) over the long run's server against the same listing of a server holding
    1,000 messages; the RSS samples along the long listing are kept in the JSON."""
    rows = []
    cases = [
        ("messages list --all (v1)", ["--api", "v1", "messages", "list"], ["messages", "list"]),
        ("messages list --all (v2)", ["--api", "v2", "messages", "list"], ["messages", "list"]),
        ("logs --all", ["logs"], ["logs"]),
    ]
    small = _small_server(workdir)
    try:
        for name, argv, help_argv in cases:
            figure = f"listing: {name}, CLI peak RSS, {messages:,} vs {SMALL:,} messages"
            goal = "≤ 1.2× (constant)"
            if not command_has(help_argv, "--all"):
                rows.append(Row(figure, None, None, "MiB", goal, None, note="command not available yet"))
                continue
            command = [PYTHON, QSTASH, *argv, "--all", "-q"]
            _, base, base_code = streamed_rss(command, bench_env(**small.env))
            samples, peak, code = streamed_rss(command, bench_env(**server.env))
            total = samples[-1][0] if samples else 0
            if code or base_code or not base:
                rows.append(
                    Row(figure, None, None, "MiB", goal, False, note=f"exit {code}/{base_code}, {total:,} lines")
                )
                continue
            rows.append(
                Row(figure, base / 1024, peak / 1024, "MiB", goal, peak / base <= 1.2,
                    note=f"{total:,} entries streamed (server holds {messages:,} messages)",
                    extra={"samples": samples[:: max(1, len(samples) // 50)]})
            )  # fmt: skip
    finally:
        small.stop()
    return rows
