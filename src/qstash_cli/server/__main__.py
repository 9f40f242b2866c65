"""`python -m qstash_cli.server [options]`: the same server as `qstash dev`, without the CLI (tests, benchmarks)."""

from __future__ import annotations

import argparse
import os
import sys

from qstash_cli.server.run import DEFAULT_DEDUP_WINDOW, DEFAULT_MESSAGE_GRACE, DEFAULT_RETENTION, Options, serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qstash_cli.server", description="Local QStash-compatible server.")
    # -port / -quota / -log-port: the official server's flag spellings (Go flags) work too
    p.add_argument("--port", "-port", type=int, default=int(os.environ.get("QSTASH_DEV_PORT", "8080")))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data", default=None, help="SQLite file (default: under the user data dir)")
    p.add_argument("--memory", action="store_true", help="keep nothing: in-memory database")
    p.add_argument("--token", default=None)
    p.add_argument("--log-port", "-log-port", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--quota", "-quota", default=os.environ.get("QSTASH_DEV_QUOTA", "payg"), choices=["free", "payg", "pro"]
    )
    p.add_argument("--dedup-window", type=float, default=DEFAULT_DEDUP_WINDOW, help="seconds (default 600)")
    p.add_argument("--message-grace", type=float, default=DEFAULT_MESSAGE_GRACE, help="seconds (default 600)")
    p.add_argument("--retention", default=None, help="finished messages kept for (e.g. 7d, 90s, off; default 7d)")
    p.add_argument("--backoff-scale", type=float, default=1.0)
    p.add_argument("--sync", choices=["normal", "full"], default="normal")
    p.add_argument("--workers", type=int, default=128)
    p.add_argument("--quiet", action="store_true", help="no per-request / per-delivery lines")
    p.add_argument("--one-process", action="store_true", help="deliver from the server process, not a child process")
    p.add_argument("--no-console", action="store_true", help="do not serve the browser console at /")
    p.add_argument("--max-connections", type=int, default=1000, help="open connections (default 1000)")
    p.add_argument("--header-timeout", type=float, default=10.0, help="seconds to send a request's headers")
    p.add_argument("--idle-timeout", type=int, default=30, help="seconds an idle connection stays open")
    p.add_argument("--http", choices=["auto", "httptools", "h11"], default="auto", help="uvicorn's HTTP parser")
    p.add_argument("--due-window", type=int, default=5000, help=argparse.SUPPRESS)  # tasks per due-queue page
    p.add_argument("--due-horizon", type=float, default=60.0, help=argparse.SUPPRESS)  # seconds a page looks ahead
    a = p.parse_args(argv)
    retention: float | None = DEFAULT_RETENTION
    if a.retention is not None:
        from qstash_cli.server.parse import BadValue, duration

        try:
            retention = None if a.retention.strip().lower() == "off" else duration(a.retention, name="--retention")
        except BadValue as exc:
            p.error(str(exc))
    opts = Options(
        port=a.port,
        host=a.host,
        data=a.data,
        memory=a.memory,
        quota=a.quota,
        dedup_window=a.dedup_window,
        message_grace=a.message_grace,
        retention=retention,
        backoff_scale=a.backoff_scale,
        sync=a.sync,
        workers=a.workers,
        quiet=a.quiet,
        one_process=a.one_process,
        console=not a.no_console,
        max_connections=a.max_connections,
        header_timeout=a.header_timeout,
        idle_timeout=a.idle_timeout,
        http=a.http,
        due_window=a.due_window,
        due_horizon=a.due_horizon,
    )
    if a.token:
        opts.token = a.token
    return serve(opts)


if __name__ == "__main__":
    sys.exit(main())
