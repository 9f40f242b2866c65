"""Client figures against a real `qstash dev`: one `qstash publish` vs httpie, and `qstash publish --batch` of 10,000
messages vs a loop over the official Python SDK's publish."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from common import BIN, PYTHON, QSTASH, DevServer, Row, SinkProc, bench_env, command_has, interleaved, time_run

BODY = "hello from the benchmark"
BULK = 10_000


def one_request(workdir: Path, runs: int) -> Row:
    figure = "one request: qstash publish URL -d BODY"
    if not command_has(["publish"], "--body"):
        return Row(figure, None, None, "ms", "≤ 0.35× httpie", None, note="`qstash publish` not available yet")
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/one"
        ours_env = bench_env(**server.env)
        ours = [PYTHON, QSTASH, "publish", dest, "-d", BODY, "-q"]
        httpie = [
            PYTHON, str(BIN / "http"), "--ignore-stdin", "--check-status", "-b", "POST",
            f"{server.url}/v2/publish/{dest}", f"Authorization:Bearer {server.token}", "Content-Type:text/plain",
            "--raw", BODY,
        ]  # fmt: skip
        subprocess.run(ours, env=ours_env, capture_output=True, check=True)  # bytecode caches, server warm
        subprocess.run(httpie, env=bench_env(), capture_output=True, check=True)
        (base, base_cpu), (mine, mine_cpu) = interleaved(
            runs, lambda: time_run(httpie, env=bench_env()), lambda: time_run(ours, env=ours_env)
        )
        delivered = sink.wait_count(2 * (runs + 3), timeout=30)
    return Row(
        figure,
        base * 1000,
        mine * 1000,
        "ms",
        "≤ 0.35× httpie",
        mine / base <= 0.35,
        note=f"median of {runs} (wall; CPU {mine_cpu / base_cpu:.2f}×); httpie `http POST` of the same request"
        + ("" if delivered else "; NOT all delivered"),
    )


def bulk(workdir: Path, sdk_sample: int, runs: int) -> Row:
    figure = f"bulk: qstash publish --batch ({BULK:,} messages)"
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/bulk"
        base = _sdk_loop(server, dest, sdk_sample) * BULK / sdk_sample
        if not command_has(["publish"], "--batch"):
            return Row(
                figure,
                base,
                None,
                "s",
                "≤ 3 s",
                None,
                note=f"`publish --batch` not available yet; SDK: {sdk_sample:,} publishes ×{BULK // sdk_sample}",
            )
        path = workdir / "batch.jsonl"
        with open(path, "w") as f:
            for i in range(BULK):
                f.write(json.dumps({"destination": dest, "body": f"message {i}"}) + "\n")
        env = bench_env(**server.env)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [PYTHON, QSTASH, "publish", "--batch", str(path), "-q"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                return Row(
                    figure,
                    base,
                    None,
                    "s",
                    "≤ 3 s",
                    False,
                    note=f"publish --batch exited {proc.returncode}: {proc.stderr.decode()[-300:]}",
                )
        ours = sorted(times)[len(times) // 2]
        expected = sdk_sample + runs * BULK
        delivered = sink.wait_count(expected, timeout=120)
    note = f"median of {runs}; SDK loop: {sdk_sample:,} publishes timed, ×{BULK // sdk_sample} extrapolated" + (
        "" if delivered else f"; sink got {sink.count()} of {expected} in 120 s"
    )
    return Row(figure, base, ours, "s", "≤ 3 s", ours <= 3.0, note=note)


def _sdk_loop(server: DevServer, dest: str, n: int) -> float:
    """Seconds for `n` publishes through the official SDK (`QStash(...).message.publish`), one client, in a loop."""
    code = (
        "import sys, time\nfrom qstash import QStash\n"
        f"c = QStash({server.token!r}, base_url={server.url!r})\n"
        f"c.message.publish(url={dest!r}, body='warm-up')\n"
        "t = time.perf_counter()\n"
        f"for i in range({n}):\n    c.message.publish(url={dest!r}, body=f'message {{i}}')\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([PYTHON, "-c", code], env=bench_env(), capture_output=True, text=True, check=True)
    return float(out.stdout.strip())
