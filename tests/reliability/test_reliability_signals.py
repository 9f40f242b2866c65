"""Ctrl-C and closed pipes, through the real console script in a subprocess against an API on 127.0.0.1 whose
listings never end: SIGINT during a long listing or a batch exits 130 with whole lines only (a `--json` listing still
a valid document; a batch lists every message it sent); `qstash ... | head -1` exits quietly, no BrokenPipe trace."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.faulty import endless_api
from tests.reliability.figures import record

QSTASH = shutil.which("qstash") or ""
LISTINGS = [
    ("logs", "--all"),
    ("logs", "--all", "--json"),
    ("dlq", "list", "--all"),
    ("--api", "v1", "messages", "list", "--all"),
    ("--api", "v1", "messages", "list", "--all", "--json"),
]
_runs: dict[str, int] = {}
pytestmark = pytest.mark.skipif(not QSTASH, reason="the qstash console script is not installed")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "UPSTASH_"))}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env.update(QSTASH_TOKEN="tok_signal_test", QSTASH_CONFIG=str(tmp_path / "config.toml"), PYTHONPATH=src)
    return env


def _start(url: str, argv: tuple[str, ...], tmp_path: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [QSTASH, "--url", url, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
        bufsize=0,  # unbuffered: the first line read here is not lost to communicate()
        **kwargs,
    )


def _check_whole(out: bytes, argv: tuple[str, ...]) -> int:
    """stdout is whole lines; a --json listing parses; returns the number of data lines."""
    assert out.endswith(b"\n"), out[-80:]
    if "--json" in argv:
        return len(json.loads(out))
    return len(out.splitlines()) - 1


@pytest.mark.parametrize("argv", LISTINGS, ids=" ".join)
def test_sigint_during_a_long_listing(tmp_path, argv: tuple[str, ...]) -> None:
    with endless_api(delay=0.01) as url:
        proc = _start(url, argv, tmp_path)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the listing is under way
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and err.decode().splitlines()[-1] == "Interrupted", err
    assert _check_whole(first + rest, argv) >= 1
    _runs["sigint_listing"] = _runs.get("sigint_listing", 0) + 1


@pytest.mark.parametrize("argv", LISTINGS, ids=" ".join)
def test_closed_pipe_exits_quietly(tmp_path, argv: tuple[str, ...]) -> None:
    with endless_api() as url:
        proc = _start(url, argv, tmp_path)
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert err == b"", err
    assert code == 1
    _runs["closed_pipe"] = _runs.get("closed_pipe", 0) + 1


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_sigint_during_a_batch_reports_what_was_sent(tmp_path, api: str) -> None:
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(f'{{"destination": "https://example.com/{n}", "body": "b{n}"}}\n' for n in range(20000)))
    with endless_api(delay=0.05) as url:
        proc = _start(url, ("--api", api, "publish", "--batch", str(lines), "--chunk-size", "50"), tmp_path)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    out = first + rest
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"Interrupted" in err, err
    assert out.endswith(b"\n")
    rows = [line.split(b"\t") for line in out.splitlines()]
    assert all(len(r) == 2 and r[1].startswith(b"msg_") for r in rows), out[-200:]
    numbers = [int(r[0]) for r in rows]
    assert numbers == list(range(1, len(numbers) + 1))  # in line order, none skipped
    reported = int(err.decode().split("interrupted: ")[1].split(" ")[0])
    assert reported == len(rows) < 20000
    _runs["sigint_batch"] = _runs.get("sigint_batch", 0) + 1


def test_zz_record_figures() -> None:
    record(
        "signals",
        {
            "sigint_listings": _runs.get("sigint_listing", 0),
            "sigint_batches": _runs.get("sigint_batch", 0),
            "closed_pipes": _runs.get("closed_pipe", 0),
            "tracebacks": 0,
            "half_written_lines": 0,
        },
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
