"""Start-up figures: `qstash --version`, `--help`, `topics --help` and a completion request against the bare
two-command Typer app in benchmarks/baseline_app.py, timed alternately in the same run (wall clock, medians)."""

from __future__ import annotations

import subprocess

from common import BENCH, PYTHON, QSTASH, Row, bench_env, interleaved, time_run

BASELINE = [PYTHON, str(BENCH / "baseline")]
OURS = [PYTHON, QSTASH]
GOAL = 1.2

CASES = [
    # figure, baseline argv, our argv, baseline env extra, our env extra
    ("startup: --version", ["--version"], ["--version"], {}, {}),
    ("startup: --help", ["--help"], ["--help"], {}, {}),
    ("startup: topics --help", ["hello", "--help"], ["topics", "--help"], {}, {}),
    (
        "startup: completion (qstash to<TAB>)",
        [],
        [],
        {"_BASELINE_COMPLETE": "complete_bash", "COMP_WORDS": "baseline he", "COMP_CWORD": "1"},
        {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash to", "COMP_CWORD": "1"},
    ),
]


def run(runs: int) -> list[Row]:
    # Write the bytecode caches first (pip does this at install time; the timed runs then read them).
    for _, base_args, our_args, base_env, our_env in CASES:
        subprocess.run([*BASELINE, *base_args], env=bench_env(**base_env), capture_output=True)
        subprocess.run([*OURS, *our_args], env=bench_env(**our_env), capture_output=True)
    rows = []
    for figure, base_args, our_args, base_env, our_env in CASES:
        benv, oenv = bench_env(**base_env), bench_env(**our_env)
        base, ours = interleaved(
            runs,
            lambda a=base_args, e=benv: time_run([*BASELINE, *a], env=e),
            lambda a=our_args, e=oenv: time_run([*OURS, *a], env=e),
        )
        (base_wall, base_cpu), (our_wall, our_cpu) = base, ours
        rows.append(
            Row(
                figure,
                base_wall * 1000,
                our_wall * 1000,
                "ms",
                f"≤ {GOAL}× bare Typer app",
                our_wall / base_wall <= GOAL,
                note=f"median of {runs} (wall); CPU {our_cpu * 1000:.0f} vs {base_cpu * 1000:.0f} ms = "
                f"{our_cpu / base_cpu:.2f}×",
                extra={"cpu_ms": {"baseline": base_cpu * 1000, "ours": our_cpu * 1000}},
            )
        )
    return rows
