"""What `publish`, `publish --batch`, `schedules create` and `schedules apply` share: the message flags, their
validation, the QStash request headers they become, and the fire-time listing of a cron expression.

Light on purpose (stdlib + typer + inputs): command modules import it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import typer
from typer._click.types import ParamType  # Typer 0.28 vendors Click (pinned in pyproject)

from qstash_cli import inputs, qstash_headers
from qstash_cli.errors import InputError, Unsupported
from qstash_cli.option_sets import Marker, OptionRow, with_options
from qstash_cli.output import Column, Output

# -- the flags (shared by `publish` and `schedules create`) ---------------------------------------------------------
BODY = typer.Option(
    None,
    "--body",
    "-d",
    metavar="TEXT|@FILE|@-",
    help="Body: TEXT, @FILE, or @- for stdin (stdin is never read otherwise).",
)
CONTENT_TYPE = typer.Option(None, "--content-type", "-t", metavar="MIME", help="Content-Type of the body (forwarded).")
METHOD = typer.Option(
    None, "--method", metavar="METHOD", help="HTTP method used to call the destination (default POST)."
)
HEADER = typer.Option(
    None,
    "--header",
    "-H",
    metavar="'NAME: VALUE'",
    help="'Name: value' sent to the destination (as Upstash-Forward-Name); repeatable.",
)
DELAY = typer.Option(None, "--delay", metavar="DURATION", help="Delay before delivery: 50s, 3m, 10h, 1d, 1h30m.")


class _AsciiCount(ParamType):
    """A whole number in ASCII digits: Click's INT takes int('٣') = 3 and '1_0' = 10."""

    name = "integer"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return inputs.parse_count(str(value), what=f"--{param.name if param else 'value'}")
        except InputError as exc:
            self.fail(exc.message.removeprefix("invalid ").split(": ", 1)[-1] + f" (got {value!r})", param, ctx)


RETRIES = typer.Option(
    None,
    "--retries",
    metavar="N",
    click_type=_AsciiCount(),
    help=f"Retries after a failed delivery (attempts = 1 + retries), 0-{inputs.MAX_RETRIES}.",
)
TIMEOUT = typer.Option(
    None, "--timeout", metavar="DURATION", help="Max time the destination may take to answer: 30s, 5m (v2)."
)
CALLBACK = typer.Option(
    None, "--callback", metavar="URL", help="URL called with the destination's answer after each attempt."
)
FAILURE_CALLBACK = typer.Option(
    None, "--failure-callback", metavar="URL", help="URL called once all retries failed (v2)."
)


def _queue_names(ctx: typer.Context, incomplete: str) -> list[str]:
    from qstash_cli.completers import names

    return names("queues")(ctx, incomplete)


QUEUE = typer.Option(
    None,
    "--queue",
    metavar="NAME",
    help="Enqueue into this queue instead of delivering at once (v2).",
    autocompletion=_queue_names,
)
LABEL = typer.Option(None, "--label", metavar="LABEL", help="Label to filter logs, DLQ and cancels by (v2).")
SCHEDULE_ID = typer.Option(
    None, "--schedule-id", metavar="ID", help="Schedule id to create, or overwrite if it exists (v2)."
)


# The v2 settings that become `Upstash-*` headers (qstash_headers.settings_headers): publish, `publish --cron`,
# `schedules create`, and (as defaults of every line) `publish --batch`; `dlq retry` takes them as overrides.
def _callback_rows(kind: str, what: str) -> list[OptionRow]:
    flag = "--" + kind.replace("_", "-")
    return [
        (
            f"{kind}_method",
            typer.Option(None, f"{flag}-method", metavar="METHOD", help=f"HTTP method of the {what}."),
            str | None,
        ),
        (
            f"{kind}_timeout",
            typer.Option(None, f"{flag}-timeout", metavar="DURATION", help=f"Timeout of the {what}: 30s."),
            str | None,
        ),
        (
            f"{kind}_retries",
            typer.Option(None, f"{flag}-retries", metavar="N", help=f"Retries of the {what}."),
            int | None,
        ),
        (
            f"{kind}_retry_delay",
            typer.Option(None, f"{flag}-retry-delay", metavar="EXPR", help=f"Retry delay of the {what} (ms formula)."),
            str | None,
        ),
        (
            f"{kind}_delay",
            typer.Option(None, f"{flag}-delay", metavar="DURATION", help=f"Delay before the {what}."),
            str | None,
        ),
        (
            f"{kind}_header",
            typer.Option(
                None, f"{flag}-header", metavar="'NAME: VALUE'", help=f"Header sent with the {what}; repeatable."
            ),
            list[str] | None,
        ),
    ]


SETTINGS = Marker("settings")
SETTING_OPTIONS: list[OptionRow] = [
    (
        "retry_delay",
        typer.Option(
            None,
            "--retry-delay",
            metavar="EXPR",
            help="Delay between retries in ms, a formula of `retried`: '1000 * pow(2, retried)' (v2).",
        ),
        str | None,
    ),
    (
        "flow_control_key",
        typer.Option(
            None, "--flow-control-key", metavar="KEY", help="Flow-control key that --rate/--parallelism limit."
        ),
        str | None,
    ),
    (
        "rate",
        typer.Option(None, "--rate", metavar="N", help="With --flow-control-key: deliveries per --period."),
        int | None,
    ),
    (
        "parallelism",
        typer.Option(None, "--parallelism", metavar="N", help="With --flow-control-key: deliveries in flight at once."),
        int | None,
    ),
    (
        "period",
        typer.Option(None, "--period", metavar="DURATION", help="The --rate period (default 1s): 1m, 1h."),
        str | None,
    ),
    (
        "redact",
        typer.Option(
            None, "--redact", metavar="FIELD", help="Hide in logs/console: body, header, header[Name]; repeatable."
        ),
        list[str] | None,
    ),
    *_callback_rows("callback", "callback"),
    *_callback_rows("failure_callback", "failure callback"),
    (
        "upstash_header",
        typer.Option(
            None,
            "--upstash-header",
            metavar="'UPSTASH-NAME: VALUE'",
            help="Any other QStash header, sent as given (name must start with Upstash-); repeatable.",
        ),
        list[str] | None,
    ),
]
with_settings = with_options(SETTING_OPTIONS, SETTINGS)
# `dlq retry` overrides: not the flow-control ones (--flow-control-key is a DLQ filter there).
FLOW_CONTROL_SETTINGS = ("flow_control_key", "rate", "parallelism", "period")
with_overrides = with_options([row for row in SETTING_OPTIONS if row[0] not in FLOW_CONTROL_SETTINGS], SETTINGS)

# v1 has no such settings: (Message attribute, flag) → Unsupported before anything is sent.
_V1_MISSING = (
    ("timeout", "--timeout"),
    ("failure_callback", "--failure-callback"),
    ("label", "--label"),
    ("queue", "--queue"),
    ("schedule_id", "--schedule-id"),
)


@dataclass
class Message:
    """One validated message or schedule, ready to become QStash request headers."""

    destination: str
    body: bytes | None = None
    content_type: str | None = None
    method: str | None = None
    forward: list[tuple[str, str]] = field(default_factory=list)
    raw_headers: dict[str, str] = field(default_factory=dict)  # Upstash-* headers passed through as given
    delay: int | None = None
    not_before: int | None = None
    retries: int | None = None
    timeout: int | None = None
    callback: str | None = None
    failure_callback: str | None = None
    dedup_id: str | None = None
    content_dedup: bool = False
    label: str | None = None
    queue: str | None = None
    cron: str | None = None
    schedule_id: str | None = None
    settings: dict[str, str] = field(default_factory=dict)  # the v2 `Upstash-*` settings (qstash_headers)
    setting_values: dict[str, Any] = field(default_factory=dict)  # the option values they were made from
    warnings: list[str] = field(default_factory=list)  # for the command to print (e.g. -H Upstash-…)

    def check(self, api: str) -> None:
        """Raise for settings the dialect (or a schedule) cannot carry."""
        if api == "v1":
            for attr, flag in _V1_MISSING:
                if getattr(self, attr):
                    raise Unsupported(f"the v1 API has no {flag}; use --api v2, or drop {flag}")
            if self.settings:
                raise Unsupported(f"the v1 API has no {next(iter(self.settings))} setting; use --api v2")
        elif self.cron:
            if self.not_before is not None:
                raise InputError(
                    "--not-before cannot be used for a schedule: v2 schedules have no not-before",
                    hint="use --delay to delay each delivery of the schedule",
                )
            if self.dedup_id or self.content_dedup:
                raise InputError(
                    "v2 schedules take no deduplication id",
                    hint="use --schedule-id ID: creating it again overwrites the same schedule",
                )

    def headers(self, api: str) -> dict[str, str]:
        """The request headers for this message in the given dialect (after `check`)."""
        h: dict[str, str] = {}
        if self.content_type:
            h["Content-Type"] = self.content_type
        if self.method:
            h["Upstash-Method"] = self.method
        for name, value in self.forward:
            h[f"Upstash-Forward-{name}"] = value
        if self.not_before is not None:
            h["Upstash-Not-Before"] = str(self.not_before)
        elif self.delay is not None:
            h["Upstash-Delay"] = inputs.format_duration(self.delay)
        if self.retries is not None:
            h["Upstash-Retries"] = str(self.retries)
        if self.timeout is not None:
            h["Upstash-Timeout"] = inputs.format_duration(self.timeout)
        if self.callback:
            h["Upstash-Callback"] = self.callback
        if self.failure_callback:
            h["Upstash-Failure-Callback"] = self.failure_callback
        if self.dedup_id:
            h["Upstash-Deduplication-Id"] = self.dedup_id
        if self.content_dedup:
            h["Upstash-Content-Based-Deduplication"] = "true"
        if self.label:
            h["Upstash-Label"] = self.label
        if self.cron:
            h["Upstash-Cron"] = self.cron
            if self.schedule_id:
                h["Upstash-Schedule-Id"] = self.schedule_id
            if self.queue:
                h["Upstash-Queue-Name"] = self.queue
        h.update(self.settings)
        h.update(self.raw_headers)
        return h


def build_message(
    destination: str,
    *,
    body: str | None = None,
    content_type: str | None = None,
    method: str | None = None,
    header: list[str] | None = None,
    delay: str | None = None,
    not_before: str | None = None,
    retries: int | None = None,
    timeout: str | None = None,
    callback: str | None = None,
    failure_callback: str | None = None,
    dedup_id: str | None = None,
    content_dedup: bool = False,
    label: str | None = None,
    queue: str | None = None,
    cron: str | None = None,
    schedule_id: str | None = None,
    settings: dict[str, Any] | None = None,
    read_body: bool = True,
) -> Message:
    """Validate the flags of one message into a Message; every problem is an InputError, raised before sending.

    The body is read last (after every cheap check), so a bad flag never consumes stdin.
    """
    msg = Message(
        destination=inputs.validate_destination(destination) if destination else "",
        content_type=_one_line(content_type, "--content-type") if content_type else None,
        method=inputs.validate_method(method) if method is not None else None,
        forward=[inputs.parse_header(h) for h in header or []],
        delay=inputs.validate_delay(inputs.parse_duration(delay, what="--delay")) if delay is not None else None,
        not_before=inputs.parse_not_before(not_before) if not_before is not None else None,
        retries=inputs.validate_retries(retries) if retries is not None else None,
        timeout=inputs.parse_duration(timeout, what="--timeout") if timeout is not None else None,
        callback=inputs.validate_url(callback, what="--callback URL") if callback else None,
        failure_callback=inputs.validate_url(failure_callback, what="--failure-callback URL")
        if failure_callback
        else None,
        dedup_id=inputs.validate_dedup_id(dedup_id) if dedup_id is not None else None,
        content_dedup=content_dedup,
        label=_one_line(label, "--label") if label is not None else None,
        queue=inputs.validate_id(queue, what="queue name") if queue is not None else None,
        cron=inputs.validate_cron(cron) if cron is not None else None,
        schedule_id=inputs.validate_id(schedule_id, what="schedule id") if schedule_id is not None else None,
    )
    msg.setting_values = {k: v for k, v in (settings or {}).items() if v not in (None, [], ())}
    msg.settings = qstash_headers.settings_headers(msg.setting_values)
    msg.raw_headers.update(qstash_headers.escape_hatch(settings or {}))
    msg.warnings = setting_warnings(msg)
    if read_body:
        msg.body = inputs.read_body(body)
    return msg


def setting_warnings(msg: Message) -> list[str]:
    """Settings that are probably a mistake: `-H Upstash-…` (forwarded, not a QStash setting), callback settings
    without a callback."""
    notes = [
        f"-H {name!r} is forwarded to the destination (as Upstash-Forward-{name}), it sets nothing in QStash; "
        "use its flag or --upstash-header to set it"
        for name in qstash_headers.forwarded_upstash_names(msg.forward)
    ]
    for prefix, url, flag in (
        ("Upstash-Callback-", msg.callback, "--callback"),
        ("Upstash-Failure-Callback-", msg.failure_callback, "--failure-callback"),
    ):
        if not url and any(n.startswith(prefix) for n in msg.settings):
            notes.append(f"{flag}-* settings have no effect without {flag} URL")
    return notes


def _one_line(value: str, what: str) -> str:
    return inputs.validate_header_value(value, what)


# -- cron fire times ---------------------------------------------------------------------------------------------


def fire_times(expr: str, count: int) -> list[dict[str, Any]]:
    """The next `count` fire times of a cron expression: UTC, local time, and the CRON_TZ zone when given."""
    zone, _ = inputs.split_cron(" ".join(expr.split()))
    rows = []
    for n, when in enumerate(inputs.next_fire_times(expr, count), start=1):
        row: dict[str, Any] = {
            "n": n,
            "utc": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "local": when.astimezone().isoformat(timespec="seconds"),
            "unix": int(when.timestamp()),
        }
        if zone:
            row["zone"] = when.isoformat(timespec="seconds")
        rows.append(row)
    return rows


def fire_time_note(expr: str, count: int = 3) -> str:
    """`next fire times: a, b, c (UTC)` for stderr notes."""
    return "next fire times (UTC): " + ", ".join(r["utc"] for r in fire_times(expr, count))


FIRE_COLUMNS = [Column("#", "n"), Column("utc", "utc"), Column("local", "local"), Column("zone", "zone")]


def fire_columns(expr: str) -> list[Column]:
    """The fire-time listing's columns: `zone` only for a CRON_TZ expression."""
    return FIRE_COLUMNS if expr.startswith("CRON_TZ=") else FIRE_COLUMNS[:3]


def show_schedule(out: Output, data: Any, cron: str) -> None:
    """A created schedule: its scheduleId on stdout, the next 3 fire times as a note on stderr."""
    data = data if isinstance(data, dict) else {"result": data}
    out.record(data, id_key="scheduleId", fields=[Column("scheduleId", "scheduleId")])
    out.info(fire_time_note(cron, 3))
