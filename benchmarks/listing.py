"""Listing figures: `messages list --all` / `logs --all` over the long run's entries must stream in constant memory.

The CLI's RSS is sampled while its output is read (and counted, never kept): the peak over the whole listing against
the peak while the first 1,000 entries arrived. Constant memory = the ratio stays near 1 however many entries."""

from __future__ import annotations

import contextlib
import os
import subprocess

from common import PYTHON, QSTASH, DevServer, Row, bench_env, command_has, rss_kib

EARLY = 1_000  # entries: the RSS while the first 1k arrived is the baseline of the RSS over all of them


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


def listing(server: DevServer, messages: int) -> list[Row]:
    rows = []
    cases = [
        ("messages list --all (v1)", ["--api", "v1", "messages", "list"], ["messages", "list"]),
        ("messages list --all (v2)", ["--api", "v2", "messages", "list"], ["messages", "list"]),
        ("logs --all", ["logs"], ["logs"]),
    ]
    for name, argv, help_argv in cases:
        figure = f"listing: {name}, CLI RSS"
        goal = "≤ 1.2× (first 1k)"
        if not command_has(help_argv, "--all"):
            rows.append(Row(figure, None, None, "MiB", goal, None, note="command not available yet"))
            continue
        samples, peak, code = streamed_rss([PYTHON, QSTASH, *argv, "--all", "-q"], bench_env(**server.env))
        total = samples[-1][0] if samples else 0
        early = max((rss for n, rss in samples if n <= max(EARLY, samples[0][0])), default=0) if samples else 0
        if not early or code:
            rows.append(Row(figure, None, None, "MiB", goal, False, note=f"exit {code}, {total:,} lines"))
            continue
        late = max(rss for _, rss in samples)
        rows.append(
            Row(figure, early / 1024, late / 1024, "MiB", goal, late / early <= 1.2,
                note=f"{total:,} entries streamed (server holds {messages:,} messages); kernel peak "
                f"{peak / 1024:.0f} MiB", extra={"samples": samples[:: max(1, len(samples) // 50)]})
        )  # fmt: skip
    return rows
