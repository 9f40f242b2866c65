"""`qstash topics`: v1 topics (ids `tpc_…`) or v2 URL groups (keyed by name). Also the one-piece listing, --yes and
delete output that `endpoints` shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer

from qstash_cli.inputs import validate_topic_name, validate_url
from qstash_cli.output import JSON, Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(
    help="Manage topics (v1) / URL groups (v2): a name that fans a message out to its endpoints.",
    no_args_is_help=True,
)


# -- shared with `endpoints` -------------------------------------------------------------------------------------
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal).")


def unpaged_options(noun: str) -> tuple[Any, Any]:
    """`--limit N` and `--all` for a listing the API returns in one piece (`--all` is the default)."""
    from qstash_cli.api.pages import DEFAULT_LIMIT

    return (
        typer.Option(
            None, "--limit", min=1, help=f"Show at most N {noun}s (on a terminal {DEFAULT_LIMIT} by default)."
        ),
        typer.Option(False, "--all", help=f"Show every {noun}."),
    )


def first(items: list[dict[str, Any]], limit: int | None, all_: bool, s: Settings) -> Iterator[dict[str, Any]]:
    """The rows of a one-piece listing: the first `limit` of them (on a terminal 20 by default), or all with --all."""
    from qstash_cli.api.pages import iterate, page_limit

    return iterate(lambda _cursor: (items, None), limit=page_limit(limit, all_, s.out.mode == "table"))


def show_first(s: Settings, items: Any, limit: int | None, all_: bool, columns: list[Column], id_key: str) -> None:
    """A one-piece listing (see `first`), then on a terminal a note on stderr when the default cut it short."""
    from qstash_cli.api.pages import note_more

    shown = s.out.rows(first(items, limit, all_, s), columns, id_key=id_key)
    note_more(s.out, shown, limit, all_, len(items) if isinstance(items, list) else None)


def deleted(s: Settings, reply: Any, what: str) -> None:
    """After a delete: the API's answer with --json (when it sent one), and `Deleted WHAT` on stderr."""
    if s.out.mode == JSON and reply is not None:
        s.out.json(reply)
    s.out.info(f"Deleted {what}")


# -- topics ------------------------------------------------------------------------------------------------------
def _topic_id(row: dict[str, Any]) -> Any:
    return row.get("topicId") or row.get("id")


def _endpoint_count(row: dict[str, Any]) -> int:
    return len(row.get("endpoints") or row.get("endpointIds") or [])


def endpoint_text(e: dict[str, Any]) -> str:
    """`ept_1=https://…` (v1), `name=https://…` (v2 with a name) or the bare URL."""
    if isinstance(e, str):  # the v0 SDK listed endpoint ids only
        return e
    label = e.get("endpointId") or e.get("name") or e.get("id")
    return f"{label}={e.get('url', '')}" if label else str(e.get("url", ""))


@dataclass(frozen=True)
class EndpointsColumn(Column):
    """A topic's endpoints: one per line on a terminal, space-separated when piped."""

    def render(self, row: dict[str, Any], *, human: bool) -> str:
        items = [endpoint_text(e) for e in row.get(str(self.key)) or []]
        if not items:
            return "-" if human else ""
        return ("\n" if human else " ").join(items)


def list_columns(api: str) -> list[Column]:
    cols = [Column("name", "name")]
    if api == "v1":
        cols.append(Column("id", _topic_id))
    return cols + [
        Column("endpoints", _endpoint_count),
        Column("created", "createdAt", "time"),
        Column("updated", "updatedAt", "time"),
    ]


def record_fields(api: str) -> list[Column]:
    cols = [Column("name", "name")]
    if api == "v1":
        cols.append(Column("id", _topic_id))
    return cols + [
        Column("created", "createdAt", "time"),
        Column("updated", "updatedAt", "time"),
        EndpointsColumn("endpoints", "endpoints"),
    ]


def id_key(api: str) -> str:
    return "topicId" if api == "v1" else "name"


def _show(s: Settings, data: dict[str, Any]) -> None:
    s.out.record(data, id_key=id_key(s.api), fields=record_fields(s.api))


LIMIT, ALL = unpaged_options("topic")


def _topic_names(ctx: typer.Context, incomplete: str) -> list[str]:
    from qstash_cli.completers import names

    return names("topics")(ctx, incomplete)


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: int | None = LIMIT,
    all_: bool = ALL,
) -> None:
    """List topics (v1) / URL groups (v2) with their endpoint counts.

    \b
    Example:
      qstash topics list
      qstash --api v1 topics list -q
    """
    s = settings_from(ctx)
    from qstash_cli.completers import remember_rows

    rows = remember_rows(s, "topics", s.client().topics.list(), "name")
    show_first(s, rows, limit, all_, list_columns(s.api), id_key(s.api))


@app.command("get")
def get(
    ctx: typer.Context,
    topic: str = typer.Argument(
        ..., help="v2: the URL group name. v1: the topic id (tpc_…) or name.", autocompletion=_topic_names
    ),
) -> None:
    """Show one topic / URL group and its endpoints.

    \b
    Example:
      qstash topics get orders
      qstash --api v1 topics get tpc_123
    """
    s = settings_from(ctx)
    _show(s, s.client().topics.get(validate_topic_name(topic, what="topic")))


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Topic / URL group name: letters, digits, '-', '_', '.'."),
    endpoint: list[str] = typer.Option(
        [], "--endpoint", "-e", metavar="URL", help="An endpoint URL (repeatable). v2: at least one is required."
    ),
) -> None:
    """Create a topic (v1), or a URL group with its endpoints (v2).

    v2 has no empty URL groups: `POST /v2/topics/NAME/endpoints` adds the endpoints and creates the group when it is
    missing (an existing group keeps its other endpoints). v1 creates the topic, then one endpoint per --endpoint.

    \b
    Example:
      qstash topics create orders --endpoint https://a.example.com/hook --endpoint https://b.example.com/hook
      qstash --api v1 topics create orders
    """
    s = settings_from(ctx)
    name = validate_topic_name(name)
    urls = [validate_url(u, what="endpoint URL") for u in endpoint]
    _show(s, s.client().topics.create(name, urls))


@app.command("update")
def update(
    ctx: typer.Context,
    topic: str = typer.Argument(..., help="The topic id (tpc_…)."),
    name: str = typer.Option(..., "--name", help="The new name."),
) -> None:
    """Rename a topic (v1 only: `PUT /v1/topics/ID`). v2 URL groups cannot be renamed.

    \b
    Example:
      qstash --api v1 topics update tpc_123 --name orders-eu
    """
    s = settings_from(ctx)
    topic = validate_topic_name(topic, what="topic id")
    name = validate_topic_name(name)
    _show(s, s.client().topics.rename(topic, name))


@app.command("delete")
def delete(
    ctx: typer.Context,
    topic: str = typer.Argument(
        ..., help="v2: the URL group name. v1: the topic id (tpc_…) or name.", autocompletion=_topic_names
    ),
    yes: bool = YES,
) -> None:
    """Delete a topic / URL group and all its endpoints.

    \b
    Example:
      qstash topics delete orders --yes
    """
    s = settings_from(ctx)
    topic = validate_topic_name(topic, what="topic")
    kind = "URL group" if s.api == "v2" else "topic"
    s.out.confirm(f"delete {kind} {topic} and all its endpoints", yes=yes)
    deleted(s, s.client().topics.delete(topic), f"{kind} {topic}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="topics")
    root.add_typer(app, name="url-groups", help="Manage URL groups (v2; the same commands as `qstash topics`).")
