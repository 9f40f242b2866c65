"""`qstash keys`: the signing keys receivers verify `Upstash-Signature` with."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli.output import TABLE, Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(help="Show or rotate the signing keys (current, next).", no_args_is_help=True)

FIELDS = [Column("current", "current"), Column("next", "next")]


def _show(s: Settings, data: dict[str, Any]) -> None:
    if s.out.mode == TABLE:
        s.out.warn("these are signing secrets: do not paste them into logs, tickets or chats")
    s.out.record(data, id_key="current", fields=FIELDS)


@app.command("get")
def get(ctx: typer.Context) -> None:
    """Show the current and next signing keys (secrets; `-q` prints the current key only).

    \b
    Example:
      qstash keys get --json
    """
    s = settings_from(ctx)
    _show(s, s.client().keys.get())


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
) -> None:
    """Rotate the signing keys: the next key becomes current and a new next key is generated.

    Receivers that verify with the old current key only will reject deliveries: update QSTASH_CURRENT_SIGNING_KEY and
    QSTASH_NEXT_SIGNING_KEY wherever signatures are verified.

    \b
    Example:
      qstash keys rotate --yes
    """
    s = settings_from(ctx)
    s.out.confirm("rotate the signing keys (the old current key is retired)", yes=yes)
    data = s.client().keys.rotate()
    _show(s, data)
    s.out.info("Rotated: update QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY where signatures are verified")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="keys")
