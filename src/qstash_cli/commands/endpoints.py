"""`qstash endpoints`: v1 endpoints (ids `ept_…`) or the endpoints inside v2 URL groups (group + URL or name)."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli.commands.topics import YES, deleted, show_first, unpaged_options
from qstash_cli.errors import InputError
from qstash_cli.inputs import validate_id, validate_topic_name, validate_url
from qstash_cli.output import Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(
    help="Manage endpoints: v1 by id (ept_…); v2 inside a URL group, by the group and the endpoint's URL or name.",
    no_args_is_help=True,
)

KEY_HELP = "v1: the endpoint id (ept_…). v2: the URL group (topic) name; pick the endpoint with --name or --endpoint."
NAME_HELP = "v2: the endpoint's name within the group."
URL_HELP = "v2: the endpoint's URL within the group."
ENDPOINT_OPT = ("--endpoint", "-e")
LIMIT, ALL = unpaged_options("endpoint")


def columns(api: str) -> list[Column]:
    if api == "v1":
        return [
            Column("id", lambda e: e.get("endpointId") or e.get("id")),
            Column("topic", "topicId"),
            Column("url", "url"),
        ]
    return [Column("topic", "topicName"), Column("name", "name"), Column("url", "url")]


def id_key(api: str) -> str:
    return "endpointId" if api == "v1" else "url"


def _key(s: Settings, key: str) -> str:
    return validate_id(key, what="endpoint id") if s.api == "v1" else validate_topic_name(key, what="topic")


def _selectors(name: str | None, url: str | None) -> dict[str, str | None]:
    return {
        "name": validate_topic_name(name, what="endpoint name") if name is not None else None,
        "url": validate_url(url, what="endpoint URL") if url is not None else None,
    }


def _show(s: Settings, data: dict[str, Any]) -> None:
    s.out.record(data, id_key=id_key(s.api), fields=columns(s.api))


@app.command("list")
def list_(
    ctx: typer.Context,
    topic: str | None = typer.Option(None, "--topic", help="Only this topic's endpoints (v1: id or name)."),
    limit: int | None = LIMIT,
    all_: bool = ALL,
) -> None:
    """List endpoints. v2: the endpoints of every URL group (columns topic, name, url).

    \b
    Example:
      qstash endpoints list --topic orders
      qstash --api v1 endpoints list
    """
    s = settings_from(ctx)
    items = s.client().endpoints.list(validate_topic_name(topic, what="topic") if topic is not None else None)
    show_first(s, items, limit, all_, columns(s.api), id_key(s.api))


@app.command("create")
def create(
    ctx: typer.Context,
    group: str = typer.Argument(..., metavar="GROUP", help="The topic / URL group name (as get/update/delete)."),
    endpoint_url: str | None = typer.Argument(None, metavar="ENDPOINT_URL", help="The endpoint URL (http(s)://)."),
    topic: str | None = typer.Option(None, "--topic", help="The group, for the older form `create URL --topic G`."),
    topic_id: str | None = typer.Option(None, "--topic-id", help="v1: the topic id (tpc_…) instead of GROUP."),
    name: str | None = typer.Option(None, "--name", help="v2: a name for the endpoint within the group."),
) -> None:
    """Add an endpoint to a topic / URL group: the group first, then the endpoint, as in get, update and delete
    (v2 creates the group when missing). `create URL --topic GROUP` and v1's `create URL --topic-id tpc_…` work too.

    \b
    Example:
      qstash endpoints create orders https://example.com/hook --name billing
      qstash --api v1 endpoints create https://example.com/hook --topic-id tpc_123
    """
    s = settings_from(ctx)
    if endpoint_url is None:  # the older form: create URL --topic GROUP / --topic-id ID
        endpoint_url = group
    elif topic is not None or topic_id is not None:
        raise InputError("give the group once: `create GROUP URL`, or `create URL --topic GROUP`")
    else:
        topic = group
    url = validate_url(endpoint_url, what="endpoint URL")
    topic = validate_topic_name(topic, what="topic") if topic is not None else None
    topic_id = validate_id(topic_id, what="topic id") if topic_id is not None else None
    name = _selectors(name, None)["name"]
    _show(s, s.client().endpoints.create(url, topic=topic, topic_id=topic_id, name=name))


@app.command("get")
def get(
    ctx: typer.Context,
    id_or_topic: str = typer.Argument(..., help=KEY_HELP),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    endpoint: str | None = typer.Option(None, *ENDPOINT_OPT, metavar="URL", help=URL_HELP),
) -> None:
    """Show one endpoint. v1: by id. v2: by URL group plus --name or --endpoint.

    \b
    Example:
      qstash endpoints get orders --name billing
      qstash --api v1 endpoints get ept_123
    """
    s = settings_from(ctx)
    key = _key(s, id_or_topic)
    _show(s, s.client().endpoints.get(key, **_selectors(name, endpoint)))


@app.command("update")
def update(
    ctx: typer.Context,
    id_or_topic: str = typer.Argument(..., help=KEY_HELP),
    new_url: str = typer.Argument(..., help="The endpoint's new URL."),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    endpoint: str | None = typer.Option(
        None, *ENDPOINT_OPT, metavar="URL", help="v2: the endpoint's current (old) URL within the group."
    ),
    new_name: str | None = typer.Option(None, "--new-name", help="v2: a new name (default: keep the old one)."),
) -> None:
    """Point an endpoint at a new URL. v1: `PUT /v1/endpoints/ID`. v2 has no update, so this is a replace: the old
    endpoint is removed from the group and the new one added (keeping its name unless --new-name is given).

    \b
    Example:
      qstash endpoints update orders https://new.example.com/hook --name billing
      qstash --api v1 endpoints update ept_123 https://new.example.com/hook
    """
    s = settings_from(ctx)
    key = _key(s, id_or_topic)
    new_url = validate_url(new_url, what="new endpoint URL")
    new_name = _selectors(new_name, None)["name"]
    data = s.client().endpoints.update(key, new_url, new_name=new_name, **_selectors(name, endpoint))
    if s.api == "v2":
        s.out.info(f"Replaced the endpoint in URL group {key} (v2 has no endpoint update: removed the old, added new)")
    _show(s, data)


@app.command("delete")
def delete(
    ctx: typer.Context,
    id_or_topic: str = typer.Argument(..., help=KEY_HELP),
    name: str | None = typer.Option(None, "--name", help=NAME_HELP),
    endpoint: str | None = typer.Option(None, *ENDPOINT_OPT, metavar="URL", help=URL_HELP),
    yes: bool = YES,
) -> None:
    """Delete an endpoint. v1: by id. v2: by URL group plus --name or --endpoint (removing a group's last endpoint
    deletes the group).

    \b
    Example:
      qstash endpoints delete orders --endpoint https://example.com/hook --yes
      qstash --api v1 endpoints delete ept_123 -y
    """
    s = settings_from(ctx)
    key = _key(s, id_or_topic)
    sel = _selectors(name, endpoint)
    what = f"endpoint {key}" if s.api == "v1" else f"endpoint {sel['name'] or sel['url']} of URL group {key}"
    from qstash_cli.api.endpoints import check_selector

    check_selector(s.api, sel["name"], sel["url"])  # before asking
    s.out.confirm(f"delete {what}", yes=yes)
    deleted(s, s.client().endpoints.delete(key, **sel), what)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="endpoints")
