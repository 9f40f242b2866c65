"""`qstash logs`: the account's log (v2 `/v2/events` or `/v2/logs`; v1 `/v1/logs`), with filters, `--all` and
`--follow`. Also the filter options and event columns that `messages`, `tasks` and `dlq` share."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import typer

from qstash_cli import workflow_steps
from qstash_cli.api.pages import DEFAULT_LIMIT, note_more, page_limit
from qstash_cli.errors import InputError
from qstash_cli.inputs import parse_time_ms, validate_id, validate_topic_name, validate_url
from qstash_cli.output import JSON, QUIET, TABLE, Column, cell
from qstash_cli.qstash_headers import validate_flow_control_key
from qstash_cli.safe_text import escape_controls
from qstash_cli.settings import settings_from

STATES = ("CREATED", "ACTIVE", "RETRY", "ERROR", "DELIVERED", "FAILED", "CANCEL_REQUESTED", "CANCELLED", "CANCELED")
STATE_FILTERS = (*STATES, "IN_PROGRESS")
ORDERS = {
    "latestfirst": "latestFirst",
    "latest": "latestFirst",
    "earliestfirst": "earliestFirst",
    "earliest": "earliestFirst",
}
FOLLOW_BACKLOG = 10  # entries shown before following, unless --limit says otherwise

_sleep = time.sleep  # tests replace this to simulate polls and Ctrl-C


def destination(row: dict[str, Any]) -> Any:
    return row.get("url") or row.get("topicName")


def event_destination(row: dict[str, Any]) -> Any:
    """The destination, and for a workflow step delivery its run and step: `URL (workflow wfr_1, step 2 x, Run)`."""
    note = workflow_steps.log_note(row)
    return f"{destination(row) or '-'} ({note})" if note else destination(row)


def next_time(row: dict[str, Any]) -> Any:
    return row.get("nextDeliveryTime") or row.get("nextScheduledAt")


EVENT_COLUMNS = [
    Column("time", "time", "time"),
    Column("state", "state"),
    Column("message", "messageId"),
    Column("url", event_destination),
    Column("status", "responseStatus"),
    Column("error", "error"),
    Column("next delivery", next_time, "time"),
]
V1_LOG_COLUMNS = [
    Column("time", "time", "time"),
    Column("state", "state"),
    Column("message", "messageId"),
    Column("task", "taskId"),
    Column("url", "url"),
    Column("error", "error"),
    Column("next delivery", next_time, "time"),
]

# -- shared filter options (repeatable: values of one filter are OR'd, different filters AND'd) --------------------
MESSAGE_ID = typer.Option(None, "--message-id", help="Only this message id (repeatable).")
STATE = typer.Option(
    None,
    "--state",
    help=f"Only this state (repeatable): {', '.join(STATE_FILTERS)}.",
    autocompletion=lambda incomplete: [s for s in STATE_FILTERS if s.startswith(incomplete.upper())],
)
# (not `--url`: that global option is the API base URL)
URL = typer.Option(None, "--endpoint", help="Only deliveries to this destination URL (repeatable).")
TOPIC = typer.Option(None, "--topic", help="Only this topic (URL group) name (repeatable).")
SCHEDULE_ID = typer.Option(None, "--schedule-id", help="Only messages of this schedule (repeatable).")
QUEUE = typer.Option(None, "--queue", help="Only this queue (repeatable).")
LABEL = typer.Option(None, "--label", help="Only messages with this label (repeatable).")
CALLER_IP = typer.Option(None, "--caller-ip", metavar="IP", help="Only messages published from this IP (repeatable).")
FLOW_CONTROL_KEY = typer.Option(
    None, "--flow-control-key", metavar="KEY", help="Only messages with this flow-control key (repeatable)."
)
HOST = typer.Option(None, "--host", metavar="HOST", help="Only deliveries to this destination host (repeatable).")
PATH = typer.Option(None, "--path", metavar="PATH", help="Only deliveries to this destination path (repeatable).")
FROM = typer.Option(None, "--from", help="Not before: unix ms, ISO-8601, or an age such as 15m, 2h, 1d.")
TO = typer.Option(None, "--to", help="Not after: unix ms, ISO-8601, or an age such as 15m.")
LIMIT = typer.Option(
    None,
    "--limit",
    min=1,
    help=f"Show at most N entries (on a terminal {DEFAULT_LIMIT} by default; reads further pages as needed).",
)
ALL = typer.Option(False, "--all", help="Every entry: follow cursors to the end (streamed; JSON is one array).")


def filters(
    *,
    message_id: list[str] | None = None,
    state: list[str] | None = None,
    url: list[str] | None = None,
    topic: list[str] | None = None,
    schedule_id: list[str] | None = None,
    queue: list[str] | None = None,
    label: list[str] | None = None,
    response_status: list[int] | None = None,
    caller_ip: list[str] | None = None,
    flow_control_key: list[str] | None = None,
    host: list[str] | None = None,
    path: list[str] | None = None,
    from_: str | None = None,
    to: str | None = None,
) -> list[tuple[str, Any]]:
    """Validated filter options → API query pairs (`messageId`, `state`, `url`, `topicName`, ...)."""
    out: list[tuple[str, Any]] = []
    out += [("messageId", validate_id(v, what="message id")) for v in message_id or []]
    for v in state or []:
        if v.upper() not in STATE_FILTERS:
            raise InputError(f"invalid --state {v!r}: use one of {', '.join(STATE_FILTERS)}")
        out.append(("state", v.upper()))
    out += [("url", validate_url(v, what="URL filter")) for v in url or []]
    out += [("topicName", validate_topic_name(v)) for v in topic or []]
    out += [("scheduleId", validate_id(v, what="schedule id")) for v in schedule_id or []]
    out += [("queueName", validate_topic_name(v, what="queue name")) for v in queue or []]
    for v in label or []:
        if not v.strip() or any(c.isspace() or c == "," for c in v):
            raise InputError(f"invalid --label {v!r}: one label, without spaces or commas")
        out.append(("label", v))
    for status in response_status or []:
        if not 100 <= status <= 599:
            raise InputError(f"invalid --status {status}: an HTTP status code between 100 and 599")
        out.append(("responseStatus", status))
    out += [("callerIp", _ip(v)) for v in caller_ip or []]
    out += [("flowControlKey", validate_flow_control_key(v)) for v in flow_control_key or []]
    out += [("host", _host(v)) for v in host or []]
    out += [("path", _path(v)) for v in path or []]
    start = parse_time_ms(from_, what="--from") if from_ else None
    end = parse_time_ms(to, what="--to") if to else None
    if start is not None and end is not None and start > end:
        raise InputError(f"--from ({from_}) is after --to ({to})")
    if start is not None:
        out.append(("fromDate", start))
    if end is not None:
        out.append(("toDate", end))
    return out


def _ip(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InputError(f"invalid --caller-ip {value!r}: an IPv4 or IPv6 address") from None


def _host(value: str) -> str:
    if not value or any(c.isspace() or c in "/?#@" for c in value) or not value.isprintable():
        raise InputError(f"invalid --host {value!r}: a host name such as example.com (no scheme, no path)")
    return value


def _path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value) or not value.isprintable():
        raise InputError(f"invalid --path {value!r}: a URL path starting with /, such as /hook")
    return value


def count_option(maximum: int, what: str) -> Any:
    """`--count N`: the API's `count` (entries per request)."""
    return typer.Option(None, "--count", metavar="N", min=1, max=maximum, help=f"{what} (1-{maximum}).")


def describe(pairs: list[tuple[str, Any]]) -> str:
    """Filters as `name=value, ...` for confirmation questions."""
    return ", ".join(f"{k}={v}" for k, v in pairs)


def logs(
    ctx: typer.Context,
    message_id: list[str] = MESSAGE_ID,
    state: list[str] = STATE,
    endpoint: list[str] = URL,
    topic: list[str] = TOPIC,
    schedule_id: list[str] = SCHEDULE_ID,
    queue: list[str] = QUEUE,
    label: list[str] = LABEL,
    caller_ip: list[str] = CALLER_IP,
    flow_control_key: list[str] = FLOW_CONTROL_KEY,
    host: list[str] = HOST,
    path: list[str] = PATH,
    from_: str = FROM,
    to: str = TO,
    order: str = typer.Option(None, "--order", help="latestFirst (default) or earliestFirst (v2)."),
    source: str = typer.Option(
        None, "--source", help="v2: events (default, /v2/events) or logs (/v2/logs); v1: logs (default) or events."
    ),
    limit: int = LIMIT,
    all_: bool = ALL,
    count: int = count_option(1000, "Entries per request (v2 `count`; default: what --limit needs)"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep polling for new entries until Ctrl-C."),
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between polls with --follow."),
) -> None:
    """Show the log: every state change of every message (CREATED, ACTIVE, DELIVERED, ERROR, RETRY, FAILED,
    CANCELLED), newest first.

    v2 reads GET /v2/events (or /v2/logs with --source logs) with server-side filters; v1 reads GET /v1/logs
    (--message-id uses /v1/messages/ID/logs; --from/--to are applied to the newest-first pages; no other filters).
    --follow prints the latest entries, then polls every --interval seconds and prints only new ones, oldest
    first (with --json one object per line), until Ctrl-C (exit 0).

    \b
    Examples:
      qstash logs --state FAILED --from 1h
      qstash logs --message-id msg_123 --json
      qstash logs --topic orders --all --json > orders.json
      qstash logs -f --endpoint https://example.com/hook
      qstash logs --flow-control-key user-42 --host example.com --path /hook --caller-ip 203.0.113.7
    """
    s = settings_from(ctx)
    pairs = filters(
        message_id=message_id,
        state=state,
        url=endpoint,
        topic=topic,
        schedule_id=schedule_id,
        queue=queue,
        label=label,
        caller_ip=caller_ip,
        flow_control_key=flow_control_key,
        host=host,
        path=path,
        from_=from_,
        to=to,
    )
    if order:
        if order.lower() not in ORDERS:
            raise InputError(f"invalid --order {order!r}: use latestFirst or earliestFirst")
        pairs.append(("order", ORDERS[order.lower()]))
    if source and source.lower() not in ("events", "logs"):
        raise InputError(f"invalid --source {source!r}: use events or logs")
    src = (source or "").lower()
    if follow and all_:
        raise InputError("--follow and --all do not mix: --follow already shows every new entry")
    if follow and s.api == "v1" and src == "events":
        raise InputError("--follow with --api v1 reads /v1/logs; drop --source events")
    if follow and order and ORDERS[order.lower()] != "latestFirst":
        raise InputError("--follow prints entries as they come; drop --order")
    api = s.client().logs
    api.check(pairs, src)  # what the dialect cannot do fails here, before any output
    columns = V1_LOG_COLUMNS if s.api == "v1" and src != "events" else EVENT_COLUMNS
    if follow:
        _follow(s, api, pairs, src, limit or FOLLOW_BACKLOG, interval, columns)
        return
    from qstash_cli.api.pages import iterate

    if count and s.api == "v1":
        raise InputError("v1 logs take no --count; use --limit")
    given, limit = limit, page_limit(limit, all_, s.out.mode == "table")
    count = count or (min(limit, 100) if limit and s.api == "v2" else None)
    items = iterate(lambda cursor: api.page(cursor, pairs, count=count, source=src), limit=limit, follow=all_)
    note_more(s.out, s.out.rows(items, columns, id_key="messageId"), given, all_)


def entry_key(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


def entry_time(entry: Any) -> int:
    value = entry.get("time") if isinstance(entry, dict) else None
    return int(value) if isinstance(value, (int, float)) else 0


class _Printer:
    """Rows printed one at a time (the listing cannot be one table when it never ends)."""

    def __init__(self, out: Any, columns: list[Column]) -> None:
        self.out, self.columns, self.started = out, columns, False

    def print(self, entries: Iterable[dict[str, Any]]) -> None:
        out = self.out
        for entry in entries:
            if out.mode == JSON:
                out.json_line(entry)
            elif out.mode == QUIET:
                if entry.get("messageId"):
                    out.line(escape_controls(str(entry["messageId"])))
            else:
                human = out.mode == TABLE
                if not self.started:
                    out.line(("  " if human else "\t").join(c.header for c in self.columns))
                    self.started = True
                out.line(("  " if human else "\t").join(cell(c, entry, human) for c in self.columns))


def _follow(
    s: Any, api: Any, pairs: list[tuple[str, Any]], source: str, backlog: int, interval: float, columns: list[Column]
) -> None:
    """Print the newest `backlog` entries, then poll for entries newer than the newest seen (same-ms ones are told
    apart by content); only the keys of the newest millisecond are remembered."""
    from qstash_cli.api.pages import iterate

    printer = _Printer(s.out, columns)
    user_from = dict(pairs).get("fromDate")
    base = [p for p in pairs if p[0] != "fromDate"]
    newest, seen = -1, set()

    def remember(batch: list[dict[str, Any]]) -> None:
        nonlocal newest, seen
        for entry in batch:
            t = entry_time(entry)
            if t > newest:
                newest, seen = t, set()
            if t == newest:
                seen.add(entry_key(entry))

    try:
        count = min(backlog, 100) if s.api == "v2" else None
        first = list(iterate(lambda c: api.page(c, pairs, count=count, source=source), limit=backlog))
        first = [e for e in first if isinstance(e, dict)]
        first.reverse()
        printer.print(first)
        remember(first)
        s.out.info(f"(following; polling every {interval:g}s, Ctrl-C to stop)")
        while True:
            _sleep(interval)
            since = max(newest, int(user_from or 0))
            query = base + ([("fromDate", since)] if since > 0 else [])
            fresh = [
                e
                for e in iterate(lambda c, q=query: api.page(c, q, source=source), follow=True)
                if isinstance(e, dict)
                and (entry_time(e) > newest or (entry_time(e) == newest and entry_key(e) not in seen))
            ]
            fresh.reverse()  # newest first → oldest first (same-ms entries too), then by time for earliestFirst APIs
            fresh.sort(key=entry_time)
            printer.print(fresh)
            remember(fresh)
    except KeyboardInterrupt:
        s.out.info("(stopped)")


def register(root: typer.Typer) -> None:
    root.command("logs")(logs)
