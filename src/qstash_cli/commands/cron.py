"""`qstash cron`: the next fire times of a cron expression (no token needed)."""

from __future__ import annotations

import typer

from qstash_cli import publishing as P
from qstash_cli.inputs import validate_cron
from qstash_cli.settings import settings_from


def cron(
    ctx: typer.Context,
    expression: str = typer.Argument(..., metavar="EXPR", help="5-field cron; 'CRON_TZ=Zone ' prefix allowed."),
    count: int = typer.Option(5, "--count", "-n", metavar="N", min=1, max=1000, help="How many fire times to show."),
) -> None:
    """Show the next fire times of a cron expression in UTC and local time (and in its CRON_TZ zone).

    QStash evaluates cron in UTC unless the expression starts with CRON_TZ=<IANA zone>.

    \b
    Examples:
      qstash cron "*/15 9-17 * * 1-5" -n 3
      qstash cron "CRON_TZ=Europe/Berlin 0 9 * * *"
    """
    s = settings_from(ctx)
    expr = validate_cron(expression)
    s.out.rows(P.fire_times(expr, count), P.fire_columns(expr), id_key="utc")


def register(root: typer.Typer) -> None:
    root.command("cron")(cron)
