"""`qstash messages`: list, get, cancel (by id, or in bulk with --all and filters), tasks."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli.api.pages import note_more, page_limit
from qstash_cli.commands import logs as L
from qstash_cli.errors import InputError, NotFound
from qstash_cli.inputs import validate_id
from qstash_cli.output import Column
from qstash_cli.settings import settings_from

app = typer.Typer(
    help="Messages: list, inspect, cancel, and see their delivery tasks (v2: derived from events).",
    no_args_is_help=True,
)

V1_COLUMNS = [
    Column("id", "messageId"),
    Column("destination", L.destination),
    Column("method", "method"),
    Column("created", "createdAt", "time"),
    Column("schedule", "scheduleId"),
]
V2_COLUMNS = [
    Column("id", "messageId"),
    Column("state", "state"),
    Column("destination", L.destination),
    Column("last event", "time", "time"),
    Column("status", "responseStatus"),
    Column("error", "error"),
]
TASK_COLUMNS = [
    Column("id", "taskId"),
    Column("state", "state"),
    Column("url", "url"),
    Column("retried", lambda r: f"{r.get('retried', 0)}/{r['maxRetry']}" if r.get("maxRetry") is not None else None),
    Column("completed", "completedAt", "time"),
    Column("next attempt", "nextProcessAt", "time"),
    Column("error", "error"),
]
EVENT_FIELDS = [
    Column("messageId", "messageId"),
    Column("state", "state"),
    Column("time", "time", "time"),
    Column("url", "url"),
    Column("topicName", "topicName"),
    Column("responseStatus", "responseStatus"),
    Column("error", "error"),
    Column("nextDeliveryTime", "nextDeliveryTime", "time"),
]


@app.command("list")
def list_(ctx: typer.Context, limit: int = L.LIMIT, all_: bool = L.ALL) -> None:
    """List messages, newest first.

    v1: GET /v1/messages (int ms cursor). v2 has no message list: the rows are derived from GET /v2/events —
    one row per message with its latest state, destination and time (delivered and failed messages included).

    \b
    Examples:
      qstash messages list --limit 20
      qstash --api v1 messages list --all --json
    """
    s = settings_from(ctx)
    items = s.client().messages.listing(limit=page_limit(limit, all_, s.out.mode == "table"), follow=all_)
    shown = s.out.rows(items, V1_COLUMNS if s.api == "v1" else V2_COLUMNS, id_key="messageId")
    note_more(s.out, shown, limit, all_)


@app.command("get")
def get(ctx: typer.Context, message_id: str = typer.Argument(..., help="Message id.")) -> None:
    """Show one message.

    v1: GET /v1/messages/ID. v2: GET /v2/messages/ID, which knows only messages still in flight; for a message
    already delivered, failed or cancelled it shows the message's latest event from /v2/events instead (with a
    note on stderr; exit 3 when there is neither).

    \b
    Example:
      qstash messages get msg_26hZCxZCuWyyTWPmSVBrNC1RADwpgWxPcak2rQD51EMjFMuzcW7qYXpPiZyDS8
    """
    s = settings_from(ctx)
    message_id = validate_id(message_id, what="message id")
    messages = s.client().messages
    try:
        data = messages.get(message_id)
    except NotFound:
        if s.api == "v1":
            raise
        event = messages.latest_event(message_id)
        if event is None:
            raise NotFound(
                f"message {message_id} not found (not in flight, and no events)",
                hint="v2 keeps only in-flight messages; see `qstash logs` and `qstash dlq list`",
            ) from None
        s.out.info(f"message {message_id} is no longer in flight; its latest event (from /v2/events):")
        s.out.record(event, id_key="messageId", fields=EVENT_FIELDS)
        return
    s.out.record(data, id_key="messageId")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    message_ids: list[str] = typer.Argument(None, help="Message ids to cancel.", show_default=False),
    all_: bool = typer.Option(False, "--all", help="Cancel every in-flight message (narrowed by the filters)."),
    topic: list[str] = L.TOPIC,
    queue: list[str] = L.QUEUE,
    endpoint: list[str] = L.URL,
    schedule_id: list[str] = L.SCHEDULE_ID,
    label: list[str] = L.LABEL,
    caller_ip: list[str] = L.CALLER_IP,
    flow_control_key: list[str] = L.FLOW_CONTROL_KEY,
    host: list[str] = L.HOST,
    path: list[str] = L.PATH,
    count: int | None = L.count_option(500, "With --all: cancel at most N messages (`count`)"),
    from_: str = typer.Option(None, "--from", help="Only messages created at or after: unix ms, ISO-8601, or 15m."),
    to: str = typer.Option(None, "--to", help="Only messages created at or before: unix ms, ISO-8601, or 15m."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal)."),
) -> None:
    """Cancel messages that are not delivered yet.

    By id: v1 DELETE /v1/messages/ID for each; v2 DELETE /v2/messages/ID (one) or DELETE /v2/messages with
    {"messageIds": [...]} (several). In bulk (v2 only): --all cancels every in-flight message, or those matching
    the filters (DELETE /v2/messages?topicName=...). Without ids --all is required, and every form asks first
    (--yes without a terminal). Prints the number cancelled (-q: just the number).

    \b
    Examples:
      qstash messages cancel msg_123 msg_456 --yes
      qstash messages cancel --all --topic orders --from 1h
      qstash messages cancel --all --flow-control-key user-42 --host example.com --count 100 --yes
      qstash messages cancel --all --yes
    """
    s = settings_from(ctx)
    ids = [validate_id(i, what="message id") for i in message_ids or []]
    pairs = L.filters(
        topic=topic,
        queue=queue,
        url=endpoint,
        schedule_id=schedule_id,
        label=label,
        caller_ip=caller_ip,
        flow_control_key=flow_control_key,
        host=host,
        path=path,
        from_=from_,
        to=to,
    )
    if ids and (all_ or pairs or count):
        raise InputError("give message ids, or --all with optional filters (and --count), not both")
    if not ids and not all_:
        raise InputError(
            "no message ids given; to cancel in bulk add --all" + (" (the filters narrow it)" if pairs else ""),
            hint="`qstash messages cancel --all --topic NAME`, or `--all` alone for every in-flight message",
        )
    messages = s.client().messages
    if ids:
        what = f"cancel message {ids[0]}" if len(ids) == 1 else f"cancel {len(ids)} messages ({', '.join(ids)})"
        s.out.confirm(what, yes=yes)
        result: dict[str, Any] = messages.cancel(ids)
    else:
        if s.api == "v1":
            messages.cancel_matching(pairs)  # raises Unsupported before asking
        what = (
            f"cancel every in-flight message matching {L.describe(pairs)}"
            if pairs
            else "cancel EVERY in-flight message of the account"
        )
        s.out.confirm(what, yes=yes)
        result = messages.cancel_matching(pairs + ([("count", count)] if count else []))
    s.out.record(result, id_key="cancelled", fields=[Column("cancelled", "cancelled")])


@app.command("tasks")
def tasks(
    ctx: typer.Context,
    message_id: str = typer.Argument(..., help="Message id."),
    limit: int = L.LIMIT,
    all_: bool = L.ALL,
) -> None:
    """List the delivery tasks of a message, newest first.

    v1: GET /v1/messages/ID/tasks (one row per task: state, retries, next attempt). v2 has no tasks: the rows are
    derived from GET /v2/events?messageId=ID — one row per state change or delivery attempt, per URL.

    \b
    Example:
      qstash messages tasks msg_123
    """
    s = settings_from(ctx)
    message_id = validate_id(message_id, what="message id")
    items = s.client().messages.tasks(message_id, limit=page_limit(limit, all_, s.out.mode == "table"), follow=all_)
    if s.api == "v1":
        s.out.rows(items, TASK_COLUMNS, id_key="taskId")
    else:
        s.out.rows(items, L.EVENT_COLUMNS, id_key="messageId")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="messages")
