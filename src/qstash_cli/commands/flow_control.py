"""`qstash flow-control` (v2): the flow-control keys — wait list, parallelism and rate in use against their maxima,
paused and pinned — and pause, resume, pin, unpin, reset-rate; `global` shows the account's parallelism."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import completers as C
from qstash_cli.commands.topics import ALL, LIMIT, show_first
from qstash_cli.errors import InputError
from qstash_cli.inputs import parse_duration
from qstash_cli.output import Column
from qstash_cli.qstash_headers import validate_flow_control_key
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(
    help="Flow-control keys (v2): limits on deliveries shared by messages published with --flow-control-key.",
    no_args_is_help=True,
)

KEY = typer.Argument(
    ..., metavar="KEY", help="The flow-control key (as given to --flow-control-key).", autocompletion=C.names("keys")
)


def _used(count: str, maximum: str) -> Any:
    def used(row: dict[str, Any]) -> str | None:
        c, m = row.get(count), row.get(maximum)
        if c is None and m is None:
            return None
        return f"{c if c is not None else 0}/{m if m else '-'}"

    return used


def _rate(row: dict[str, Any]) -> str | None:
    used = _used("rateCount", "rateMax")(row)
    period = row.get("ratePeriod")
    return f"{used} per {period}s" if used and period else used


def _pinned(row: dict[str, Any]) -> str:
    pins = [name for name, key in (("parallelism", "isPinnedParallelism"), ("rate", "isPinnedRate")) if row.get(key)]
    return ",".join(pins) or "no"


def _wait_list(row: dict[str, Any]) -> Any:
    return row.get("waitListSize", row.get("waitlistSize"))


COLUMNS = [
    Column("key", "flowControlKey"),
    Column("waiting", _wait_list),
    Column("parallelism", _used("parallelismCount", "parallelismMax")),
    Column("rate", _rate),
    Column("paused", "isPaused"),
    Column("pinned", _pinned),
]
FIELDS = [
    *COLUMNS,
    Column("ratePeriodStart", lambda r: r.get("ratePeriodStart") and int(r["ratePeriodStart"]) * 1000, "time"),
]
GLOBAL_FIELDS = [
    Column("parallelism", _used("parallelismCount", "parallelismMax")),
    Column("parallelismCount", "parallelismCount"),
    Column("parallelismMax", "parallelismMax"),
]


def _key(key: str) -> str:
    return validate_flow_control_key(key)


@app.command("list")
def list_(
    ctx: typer.Context,
    search: str | None = typer.Option(None, "--search", metavar="TEXT", help="Only keys containing TEXT."),
    limit: int | None = LIMIT,
    all_: bool = ALL,
) -> None:
    """List flow-control keys: waiting messages, parallelism and rate used/max, paused, pinned.

    \b
    Example:
      qstash flow-control list --search user-
    """
    s = settings_from(ctx)
    rows = s.client().flow_control.list(search)
    if not search:
        C.remember_rows(s, "keys", rows, "flowControlKey")
    show_first(s, rows, limit, all_, COLUMNS, "flowControlKey")


@app.command("get")
def get(ctx: typer.Context, key: str = KEY) -> None:
    """Show one flow-control key.

    \b
    Example:
      qstash flow-control get user-42
    """
    s = settings_from(ctx)
    s.out.record(s.client().flow_control.get(_key(key)), id_key="flowControlKey", fields=FIELDS)


@app.command("global")
def global_(ctx: typer.Context) -> None:
    """Show the account's parallelism: deliveries in flight against the maximum (`GET /v2/globalParallelism`).

    \b
    Example:
      qstash flow-control global
    """
    s = settings_from(ctx)
    s.out.record(s.client().flow_control.global_parallelism(), id_key="parallelismCount", fields=GLOBAL_FIELDS)


@app.command("pause")
def pause(ctx: typer.Context, key: str = KEY) -> None:
    """Pause a key: its messages wait in the wait list until it is resumed.

    \b
    Example:
      qstash flow-control pause user-42
    """
    _act(ctx, key, "pause", "paused")


@app.command("resume")
def resume(ctx: typer.Context, key: str = KEY) -> None:
    """Resume a paused key.

    \b
    Example:
      qstash flow-control resume user-42
    """
    _act(ctx, key, "resume", "resumed")


@app.command("pin")
def pin(
    ctx: typer.Context,
    key: str = KEY,
    parallelism: int | None = typer.Option(None, "--parallelism", metavar="N", min=1, help="Pin the parallelism."),
    rate: int | None = typer.Option(None, "--rate", metavar="N", min=1, help="Pin the rate (deliveries per period)."),
    period: str | None = typer.Option(None, "--period", metavar="DURATION", help="The rate's period: 1s, 1m, 1h."),
) -> None:
    """Pin a key's limits: the settings incoming messages carry are ignored until unpinned (resets the rate).

    \b
    Example:
      qstash flow-control pin user-42 --parallelism 3 --rate 20 --period 2m
    """
    if parallelism is None and rate is None and period is None:
        raise InputError("nothing to pin: give --parallelism, --rate and/or --period")
    seconds = parse_duration(period, what="--period") if period is not None else None
    if seconds == 0:
        raise InputError("invalid --period '0': it must be at least 1s")
    _act(ctx, key, "pin", "pinned", parallelism=parallelism, rate=rate, period=seconds)


@app.command("unpin")
def unpin(
    ctx: typer.Context,
    key: str = KEY,
    parallelism: bool = typer.Option(False, "--parallelism", help="Unpin the parallelism only."),
    rate: bool = typer.Option(False, "--rate", help="Unpin the rate only."),
) -> None:
    """Unpin a key's limits (both, unless --parallelism or --rate says which).

    \b
    Example:
      qstash flow-control unpin user-42 --rate
    """
    both = not parallelism and not rate
    _act(ctx, key, "unpin", "unpinned", parallelism=parallelism or both, rate=rate or both)


@app.command("reset-rate")
def reset_rate(ctx: typer.Context, key: str = KEY) -> None:
    """Reset a key's rate count: a new period starts now.

    \b
    Example:
      qstash flow-control reset-rate user-42
    """
    _act(ctx, key, "reset_rate", "rate reset")


def _act(ctx: typer.Context, key: str, action: str, status: str, **kwargs: Any) -> None:
    s: Settings = settings_from(ctx)
    name = _key(key)
    getattr(s.client().flow_control, action)(name, **kwargs)
    s.out.record({"flowControlKey": name, "status": status}, id_key="flowControlKey")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="flow-control")
