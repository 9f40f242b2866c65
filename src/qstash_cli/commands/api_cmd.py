"""`qstash api METHOD PATH`: an authenticated raw request for anything the CLI does not wrap yet, with the usual
output modes (table/plain, --json, -q)."""

from __future__ import annotations

import json
from typing import Any

import typer

from qstash_cli.errors import InputError
from qstash_cli.inputs import parse_header, read_body
from qstash_cli.output import Column
from qstash_cli.safe_text import escape_controls
from qstash_cli.settings import settings_from

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ID_KEYS = ("messageId", "scheduleId", "dlqId", "workflowRunId", "flowControlKey", "name", "queueName", "topicName")


def _path(path: str) -> str:
    """`/v2/…` on the configured base URL: never another host (no scheme, no `//`), one line."""
    if not path.startswith("/") or path.startswith("//") or path.startswith("/\\"):
        raise InputError(f"invalid PATH {path!r}: use a path on the API such as /v2/queues (no host)")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in path):
        raise InputError(f"invalid PATH {path!r}: no spaces or control characters (encode them as %20)")
    return path


def _query(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"invalid --query {pair!r}: use NAME=VALUE")
        out.append((key, value))
    return out


def api(
    ctx: typer.Context,
    method: str = typer.Argument(..., metavar="METHOD", help="GET, POST, PUT, PATCH or DELETE."),
    path: str = typer.Argument(..., metavar="PATH", help="The API path, e.g. /v2/queues or /v2/flowControl/KEY."),
    body: str | None = typer.Option(None, "--data", "-d", metavar="TEXT|@FILE|@-", help="The request body."),
    header: list[str] = typer.Option(
        None, "--header", "-H", metavar="'NAME: VALUE'", help="A request header, sent as given; repeatable."
    ),
    query: list[str] = typer.Option(None, "--query", "-Q", metavar="NAME=VALUE", help="A query parameter; repeatable."),
) -> None:
    """Send an authenticated request to the QStash API and print the answer (for what the CLI does not wrap).

    A body that parses as JSON is sent as application/json unless -H sets Content-Type. The answer is shown as a
    table (a list of objects), key/value lines (an object), the JSON document with --json, or ids with -q.
    Errors map to the usual exit codes (3 not found, 4 auth, ...).

    \b
    Examples:
      qstash api GET /v2/globalParallelism
      qstash api POST /v2/queues -d '{"queueName": "orders", "parallelism": 2}'
      qstash api GET /v2/events -Q state=FAILED -Q count=5 --json
      qstash api POST /v2/publish/https://example.com/hook -H 'Upstash-Delay: 10s' -d hi
    """
    s = settings_from(ctx)
    verb = method.upper()
    if verb not in METHODS:
        raise InputError(f"invalid METHOD {method!r}: use {', '.join(METHODS)}")
    target = _path(path)
    headers = [parse_header(h) for h in header or []]
    if any(name.lower() == "authorization" for name, _ in headers):
        raise InputError("-H Authorization is not allowed: the token comes from the profile, --token or QSTASH_TOKEN")
    params = _query(query or [])
    content = read_body(body)
    if content and not any(name.lower() == "content-type" for name, _ in headers):
        try:
            json.loads(content)
            headers.append(("Content-Type", "application/json"))
        except ValueError:
            pass
    data = s.client().transport.json(verb, target, params=params or None, content=content, headers=headers or None)
    _print(s, data)


def _id_key(rows: list[Any]) -> str | None:
    keys = {k for row in rows if isinstance(row, dict) for k in row}
    return next((k for k in ID_KEYS if k in keys), None)


def _print(s: Any, data: Any) -> None:
    if s.out.mode == "json":
        s.out.json(data)
    elif isinstance(data, list) and all(isinstance(row, dict) for row in data):
        keys = list(dict.fromkeys(k for row in data for k in row))
        s.out.rows(
            data,
            [Column(k, k, "time" if k.endswith("At") or k == "time" else "text") for k in keys],
            id_key=_id_key(data),
        )
    elif isinstance(data, dict):
        s.out.record(data, id_key=_id_key([data]))
    elif data is not None and s.out.mode != "quiet":
        s.out.line(escape_controls(json.dumps(data, ensure_ascii=False)))
    elif data is None:
        s.out.info("(no body)")


def register(root: typer.Typer) -> None:
    root.command("api")(api)
