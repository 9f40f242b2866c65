"""Listing figures: `messages list --all` / `logs --all` over the long run's entries must stream in constant memory —
the CLI's peak RSS for everything vs for one small page (`--limit 100`)."""

from __future__ import annotations

import os
import subprocess

from common import PYTHON, QSTASH, DevServer, Row, bench_env, command_has


def peak_rss(argv: list[str], env: dict[str, str]) -> tuple[int, int, int]:
    """(peak RSS KiB, output lines, exit code) of a command whose stdout is read and counted, never kept."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 16):
        lines += chunk.count(b"\n")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss, lines, proc.returncode


def listing(server: DevServer, entries: int) -> list[Row]:
    rows = []
    cases = [
        ("messages list --all (v1)", ["--api", "v1", "messages", "list"], ["messages", "list"]),
        ("logs --all", ["logs"], ["logs"]),
    ]
    for name, argv, help_argv in cases:
        figure = f"listing: {name}, CLI peak RSS"
        if not command_has(help_argv, "--all"):
            rows.append(Row(figure, None, None, "MiB", "≤ 1.2× one page", None, note="command not available yet"))
            continue
        env = bench_env(**server.env)
        small, small_lines, code1 = peak_rss([PYTHON, QSTASH, *argv, "--limit", "100", "-q"], env)
        full, full_lines, code2 = peak_rss([PYTHON, QSTASH, *argv, "--all", "-q"], env)
        ok = code1 == code2 == 0 and full / small <= 1.2
        note = f"{full_lines:,} entries streamed (server holds {entries:,} messages) vs {small_lines} for --limit 100"
        if code1 or code2:
            note += f"; exit codes {code1}/{code2}"
        rows.append(Row(figure, small / 1024, full / 1024, "MiB", "≤ 1.2× one page", ok, note=note))
    return rows
