"""`qstash queues` (v2): list, get, upsert, delete, pause, resume — parallelism, lag and paused at a glance."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import completers as C
from qstash_cli.commands.topics import ALL, LIMIT, YES, deleted, show_first
from qstash_cli.inputs import validate_id
from qstash_cli.output import Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(
    help="Manage queues (v2): ordered delivery with a parallelism limit (publish into one with --queue).",
    no_args_is_help=True,
)

QUEUE = typer.Argument(
    ..., metavar="QUEUE", help="Queue name: letters, digits, '-', '_', '.'.", autocompletion=C.names("queues")
)

COLUMNS = [
    Column("name", "name"),
    Column("parallelism", "parallelism"),
    Column("lag", "lag"),
    Column("paused", "paused"),
    Column("created", "createdAt", "time"),
    Column("updated", "updatedAt", "time"),
]


def _name(queue: str) -> str:
    return validate_id(queue, what="queue name")


def _show(s: Settings, data: dict[str, Any]) -> None:
    s.out.record(data, id_key="name", fields=COLUMNS)


@app.command("list")
def list_(ctx: typer.Context, limit: int | None = LIMIT, all_: bool = ALL) -> None:
    """List queues: parallelism, lag (messages waiting), paused.

    \b
    Example:
      qstash queues list
    """
    s = settings_from(ctx)
    rows = C.remember_rows(s, "queues", s.client().queues.list(), "name")
    show_first(s, rows, limit, all_, COLUMNS, "name")


@app.command("get")
def get(ctx: typer.Context, queue: str = QUEUE) -> None:
    """Show one queue.

    \b
    Example:
      qstash queues get orders
    """
    s = settings_from(ctx)
    _show(s, s.client().queues.get(_name(queue)))


@app.command("upsert")
def upsert(
    ctx: typer.Context,
    queue: str = QUEUE,
    parallelism: int | None = typer.Option(
        None, "--parallelism", metavar="N", min=1, help="Deliveries in flight at once (the API's default: 1)."
    ),
    paused: bool | None = typer.Option(None, "--paused/--active", help="Create or leave it paused / active."),
) -> None:
    """Create a queue or change its settings (`POST /v2/queues`), then show it.

    \b
    Examples:
      qstash queues upsert orders --parallelism 5
      qstash publish https://example.com/hook --queue orders -d '{"id":1}'
    """
    s = settings_from(ctx)
    name = _name(queue)
    client = s.client()
    client.queues.upsert(name, parallelism, paused)
    _show(s, client.queues.get(name))


@app.command("delete")
def delete(ctx: typer.Context, queue: str = QUEUE, yes: bool = YES) -> None:
    """Delete a queue (asks first; --yes is required without a terminal).

    \b
    Example:
      qstash queues delete orders --yes
    """
    s = settings_from(ctx)
    name = _name(queue)
    s.out.confirm(f"delete queue {name}", yes=yes)
    deleted(s, s.client().queues.delete(name), f"queue {name}")


@app.command("pause")
def pause(ctx: typer.Context, queue: str = QUEUE) -> None:
    """Pause a queue: messages keep arriving but none is delivered until it is resumed.

    \b
    Example:
      qstash queues pause orders
    """
    _toggle(ctx, queue, "pause")


@app.command("resume")
def resume(ctx: typer.Context, queue: str = QUEUE) -> None:
    """Resume a paused queue.

    \b
    Example:
      qstash queues resume orders
    """
    _toggle(ctx, queue, "resume")


def _toggle(ctx: typer.Context, queue: str, action: str) -> None:
    s = settings_from(ctx)
    name = _name(queue)
    getattr(s.client().queues, action)(name)
    s.out.record({"name": name, "status": "paused" if action == "pause" else "resumed"}, id_key="name")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="queues")
