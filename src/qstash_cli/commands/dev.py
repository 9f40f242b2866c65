"""`qstash dev`: run the local QStash server. Only typer is imported here; the server loads when the command runs."""

from __future__ import annotations

import math
from pathlib import Path

import typer

PLANS = ("free", "payg", "pro")


def dev(
    port: int = typer.Option(
        8080,
        "--port",
        "-port",
        envvar="QSTASH_DEV_PORT",
        min=0,
        max=65535,
        help="Port to listen on (-port=N as the official server; 0: any free port).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback prints a warning."),
    data: Path | None = typer.Option(
        None, "--data", help="SQLite data file [default: dev.sqlite3 in the user data dir, e.g. ~/.local/share/qstash]."
    ),
    memory: bool = typer.Option(False, "--memory", help="Throwaway run: in-memory database, nothing kept."),
    token: str | None = typer.Option(
        None, "--token", help="Token clients must send [default: the official dev server's fixed token]."
    ),
    quota: str = typer.Option(
        "payg",
        "--quota",
        "-quota",
        envvar="QSTASH_DEV_QUOTA",
        autocompletion=lambda incomplete: [p for p in PLANS if p.startswith(incomplete.lower())],
        help="Plan limits to enforce: free, payg or pro (message size → 413; retries, delay, schedules, topics, "
        "queues → 412).",
    ),
    dedup_window: float = typer.Option(
        600.0, "--dedup-window", help="Seconds a deduplication id is remembered (600 = 10 minutes, like QStash today)."
    ),
    backoff_scale: float = typer.Option(
        1.0, "--backoff-scale", help="Multiply the retry backoff min(86400, e^(2.5n)) s, e.g. 0.001 for tests."
    ),
    sync: str = typer.Option(
        "normal",
        "--sync",
        help="SQLite synchronous mode: normal (survives a crash of the "
        "server process) or full (also an OS crash; slower).",
    ),
    workers: int = typer.Option(128, "--workers", min=1, max=10000, help="Concurrent deliveries."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-request and per-delivery lines on stderr."),
    one_process: bool = typer.Option(
        False,
        "--one-process",
        help="Make the deliveries' HTTP requests from the server process itself, not from its delivery process "
        "(one core instead of two).",
    ),
    log_port: int | None = typer.Option(
        None, "--log-port", "-log-port", envvar="QSTASH_DEV_LOG_PORT", hidden=True, help="Accepted, not used."
    ),
    message_grace: float = typer.Option(
        600.0,
        "--message-grace",
        help="Seconds a delivered message still answers GET /v2/messages/{id} (then 404).",
    ),
    retention: str = typer.Option(
        "7d",
        "--retention",
        help="How long delivered, cancelled and failed messages, their logs and ended workflow runs are kept "
        "(e.g. 7d, 12h, 90s; 0: pruned once finished and past --message-grace; off: kept forever). DLQ entries "
        "stay until deleted.",
    ),
    no_console: bool = typer.Option(
        False, "--no-console", help="Do not serve the browser console at http://HOST:PORT/ (see README: console)."
    ),
) -> None:
    """Run a local QStash server (v1 and v2 API) for development and tests.

    Messages, schedules and keys are kept in SQLite, so nothing accepted is lost on a crash or restart.
    """
    if quota.lower() not in PLANS:
        raise typer.BadParameter(f"choose one of {', '.join(PLANS)}", param_hint="--quota")
    if sync not in ("normal", "full"):
        raise typer.BadParameter("choose normal or full", param_hint="--sync")
    if not host.strip():
        raise typer.BadParameter("must not be empty (0.0.0.0 binds every address)", param_hint="--host")
    for hint, seconds in (
        ("--dedup-window", dedup_window),
        ("--backoff-scale", backoff_scale),
        ("--message-grace", message_grace),
    ):
        if not math.isfinite(seconds) or seconds < 0:
            raise typer.BadParameter(f"{seconds:g} is not a number >= 0", param_hint=hint)
    kept: float | None = None
    if retention.strip().lower() != "off":
        from qstash_cli.errors import InputError
        from qstash_cli.inputs import parse_duration

        try:
            kept = float(parse_duration(retention, what="retention"))
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--retention") from None
    from qstash_cli.server.run import Options, serve

    opts = Options(
        port=port,
        host=host,
        data=str(data) if data else None,
        memory=memory,
        quota=quota.lower(),
        dedup_window=dedup_window,
        message_grace=message_grace,
        retention=kept,
        backoff_scale=backoff_scale,
        sync=sync,
        workers=workers,
        quiet=quiet,
        one_process=one_process,
        console=not no_console,
    )
    if token:
        opts.token = token
    code = serve(opts)
    if code:
        raise typer.Exit(code)
