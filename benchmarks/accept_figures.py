"""The accept path against its ceilings, all driven by the same load generator in the same run: `qstash dev`
(`POST /v2/publish` with `Upstash-Delay: 1h`, durable: the 2xx comes after the COMMIT), a hello-world Starlette app
on the same uvicorn settings (the goal's baseline), and a bare uvloop + httptools responder (the floor, printed)."""

from __future__ import annotations

import time
from pathlib import Path

from common import BENCH, PYTHON, DevServer, Proc, Row, bench_env, free_port, median, stored_messages, wait_port
from load import has_wrk, run_publish_many, run_wrk

PATH = "/v2/publish/http://127.0.0.1:9/accept"  # delayed 1 h: never delivered while measuring
CONNECTIONS = 32


def generator() -> str:
    """The load generator used: wrk when installed (compiled, so it is not the limit), else load.py (Python)."""
    return "wrk" if has_wrk() else "python load.py"


def _wrk(port: int, token: str, seconds: float, workdir: Path) -> tuple[float, int, int]:
    """One wrk run of the publish with `Upstash-Delay: 1h` (`load.run_wrk`; one thread: the other core is the
    server's)."""
    return run_wrk(port, token, PATH, seconds, workdir, connections=CONNECTIONS, delayed=True)


def _python(port: int, token: str, n: int) -> tuple[float, int, int]:
    sent = run_publish_many(port, token, "http://127.0.0.1:9/accept", n, concurrency=CONNECTIONS,
                            headers={"Upstash-Delay": "1h"})  # fmt: skip
    ok = [s for s in sent if 200 <= s.status < 300]
    return len(ok) / (max(s.end for s in sent) - min(s.start for s in sent)), len(sent), len(sent) - len(ok)


def accept_path(workdir: Path, seconds: float, rounds: int, n: int) -> list[Row]:
    """Rounds of (hello, ours, floor), order rotated each round; medians of requests/s."""
    gen = generator()
    hello_port, floor_port = free_port(), free_port()
    hello = Proc([PYTHON, str(BENCH / "hello_app.py"), "starlette", str(hello_port)], log=workdir / "hello.log",
                 env=bench_env())  # fmt: skip
    floor = Proc([PYTHON, str(BENCH / "hello_app.py"), "floor", str(floor_port)], log=workdir / "floor.log",
                 env=bench_env())  # fmt: skip
    rates: dict[str, list[float]] = {"hello": [], "ours": [], "floor": []}
    bad = {"hello": 0, "ours": 0, "floor": 0}
    total_ours = 0
    with hello, floor, DevServer(workdir) as ours:
        wait_port(hello_port, proc=hello.proc)
        wait_port(floor_port, proc=floor.proc)
        ports = {"hello": hello_port, "ours": ours.port, "floor": floor_port}

        def measure(name: str, secs: float) -> tuple[float, int, int]:
            if gen == "wrk":
                return _wrk(ports[name], ours.token, secs, workdir)
            return _python(ports[name], ours.token, max(200, int(n * secs / seconds)))

        for name in ports:  # warm-up
            measure(name, 1)
        order: list[str] = ["hello", "ours", "floor"]
        for _ in range(rounds):
            for name in order:
                rate, total, errors = measure(name, seconds)
                rates[name].append(rate)
                bad[name] += errors
                if name == "ours":
                    total_ours += total
                time.sleep(0.3)
            order = order[1:] + order[:1]
        stored = stored_messages(ours)
    h, o, f = (median(rates[k]) for k in ("hello", "ours", "floor"))
    runs = f"median of {rounds} × {seconds:g} s, {CONNECTIONS} keep-alive connections, load generator: {gen}"
    durable = f"{stored:,} messages stored ≥ {total_ours:,} answered 2xx (plus warm-up), {bad['ours']} non-2xx/errors"
    return [
        Row("accept path: qstash dev vs hello-world Starlette (same uvicorn flags)", h, o, "/s", "≥ 1.0×",
            o / h >= 1.0 and bad["ours"] == 0, note=f"{runs}; {durable}"),
        Row("accept path: vs bare uvloop+httptools (the floor, printed)", f, o, "/s", "(floor)", None,
            note=f"the floor answers a fixed 200 without ASGI; hello-world Starlette at {h / f:.2f}× the floor"),
    ]  # fmt: skip
