"""`qstash publish`: one message (or, with --cron, a schedule), or a JSON-lines file of messages with --batch."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import publishing as P
from qstash_cli.errors import InputError
from qstash_cli.inputs import read_body
from qstash_cli.output import Column
from qstash_cli.settings import Settings, settings_from

MESSAGE_COLUMNS = [Column("messageId", "messageId"), Column("url", "url"), Column("deduplicated", "deduplicated")]


@P.with_settings
def publish(
    ctx: typer.Context,
    destination: str = typer.Argument(
        None,
        metavar="[DESTINATION]",
        help="URL (http:// or https://) or topic (URL group) name/id. With --batch: the default destination.",
    ),
    body: str = P.BODY,
    content_type: str = P.CONTENT_TYPE,
    method: str = P.METHOD,
    header: list[str] = P.HEADER,
    delay: str = P.DELAY,
    not_before: str = typer.Option(
        None, "--not-before", metavar="TIME", help="Deliver at: unix seconds or ISO-8601 (wins over --delay)."
    ),
    retries: int = P.RETRIES,
    timeout: str = P.TIMEOUT,
    callback: str = P.CALLBACK,
    failure_callback: str = P.FAILURE_CALLBACK,
    dedup_id: str = typer.Option(None, "--dedup-id", metavar="ID", help="Deduplication id (no ':' or whitespace)."),
    content_dedup: bool = typer.Option(
        False, "--content-dedup", help="Deduplicate by content (Upstash-Content-Based-Deduplication)."
    ),
    cron: str = typer.Option(
        None,
        "--cron",
        metavar="EXPR",
        help="Make it a schedule: 5-field cron, optional 'CRON_TZ=Zone ' prefix (UTC by default).",
    ),
    queue: str = P.QUEUE,
    label: str = P.LABEL,
    schedule_id: str = typer.Option(
        None, "--schedule-id", metavar="ID", help="With --cron: schedule id to create/overwrite (v2)."
    ),
    settings: dict[str, Any] = P.SETTINGS,
    batch: str = typer.Option(
        None,
        "--batch",
        metavar="FILE",
        help="Publish every line of a JSON-lines FILE (- for stdin); flags, DESTINATION and -d are defaults, "
        "a line's own values win.",
    ),
    chunk_size: int = typer.Option(
        500, "--chunk-size", min=1, max=1000, help="With --batch: messages per /v2/batch request."
    ),
) -> None:
    """Publish a message to a URL or a topic; with --cron create a schedule; with --batch publish a file.

    Prints the messageId (a URL-group publish prints one row per endpoint), noting duplicates. With --cron it
    prints the scheduleId and notes the next 3 fire times on stderr.

    Batch lines are JSON objects: {"destination", "body"?, "headers"?: {...}} plus the shortcuts method,
    contentType, delay, notBefore, retries, timeout, callback, failureCallback, dedupId, contentDedup, queue,
    label, retryDelay, flowControlKey, rate, parallelism, period, redact, callbackMethod/Timeout/Retries/
    RetryDelay/Delay/Headers and the same failureCallback… keys.
    Results: one `LINE<TAB>messageId` (or `LINE<TAB>error: ...`) per line, --json one object per line.
    Exit 1 if a line failed to send, 2 if the only failures were invalid lines; the failed lines go to stderr.

    \b
    Examples:
      qstash publish https://example.com/hook -d '{"hello":"world"}' -t application/json
      qstash publish orders -d @order.json -H "X-Team: data" --delay 10m --retries 5
      qstash publish https://example.com/report --cron "CRON_TZ=Europe/Berlin 0 9 * * 1-5"
      qstash publish https://example.com/hook -d hi --flow-control-key user-42 --rate 10 --period 1m
      qstash publish https://example.com/hook -d hi --retry-delay '1000 * pow(2, retried)' --redact body
      ID=$(qstash publish https://example.com/hook -d hi --dedup-id order-42 -q)
      qstash publish --batch messages.jsonl --json > results.jsonl
    """
    s = settings_from(ctx)
    api = s.api
    flags: dict[str, Any] = dict(
        content_type=content_type,
        method=method,
        header=header,
        delay=delay,
        not_before=not_before,
        retries=retries,
        timeout=timeout,
        callback=callback,
        failure_callback=failure_callback,
        dedup_id=dedup_id,
        content_dedup=content_dedup,
        label=label,
        queue=queue,
        cron=cron,
        schedule_id=schedule_id,
        settings=settings,
    )
    if batch is not None:
        _batch(s, batch, destination, body, flags, chunk_size)
        return
    if not destination:
        raise InputError("missing DESTINATION: a URL or a topic name", hint="see 'qstash publish --help'")
    if schedule_id and not cron:
        raise InputError("--schedule-id needs --cron", hint="or use `qstash schedules create --schedule-id`")
    msg = P.build_message(destination, read_body=False, **flags)
    msg.check(api)
    for note in msg.warnings:
        s.out.warn(note)
    if msg.delay is not None and msg.not_before is not None:
        s.out.warn("--not-before wins over --delay: only Upstash-Not-Before is sent")
    msg.body = read_body(body)
    headers = msg.headers(api)
    client = s.client(one_shot=True)  # one request: over a plain socket to a plain-http server (api/stdlib_wire.py)
    if msg.cron:
        data = client.schedules.create(msg.destination, msg.body, headers, idempotent=bool(msg.schedule_id))
        P.show_schedule(s.out, data, msg.cron)
        return
    idempotent = bool(msg.dedup_id)
    if msg.queue:
        data = client.publish.enqueue(msg.queue, msg.destination, msg.body, headers, idempotent=idempotent)
    else:
        data = client.publish.publish(msg.destination, msg.body, headers, idempotent=idempotent)
    show_published(s, data)


def show_published(s: Settings, data: Any) -> None:
    """messageId (or one row per URL-group endpoint), with a note on duplicates."""
    items = data if isinstance(data, list) else [data]
    if any(isinstance(i, dict) and i.get("deduplicated") for i in items):
        s.out.info("deduplicated: QStash already had this message; it was not enqueued again")
    if isinstance(data, list):
        s.out.rows(data, MESSAGE_COLUMNS, id_key="messageId")
        return
    data = data if isinstance(data, dict) else {"result": data}
    fields = [c for c in MESSAGE_COLUMNS if c.key == "messageId" or data.get(str(c.key)) is not None]
    s.out.record(data, id_key="messageId", fields=fields)


def _batch(s: Settings, source: str, destination: str | None, body: str | None, flags: dict, chunk_size: int) -> None:
    from qstash_cli import batch as B

    if flags["cron"] or flags["schedule_id"]:
        raise InputError("--cron cannot be used with --batch", hint="create schedules with `qstash schedules apply`")
    if source == "-" and body == "@-":
        raise InputError("--batch - and --body @- both read stdin; give one of them a file")
    defaults = P.build_message(destination or "", read_body=False, **flags)
    defaults.check(s.api)
    for note in defaults.warnings:
        s.out.warn(note)
    raw = read_body(body)
    try:
        default_body = raw.decode() if raw is not None else None
    except UnicodeDecodeError:
        raise InputError("with --batch, --body must be UTF-8 text") from None
    B.publish_file(
        source,
        client=s.client(),
        api=s.api,
        out=s.out,
        defaults=defaults,
        default_body=default_body,
        chunk_size=chunk_size,
    )


def register(root: typer.Typer) -> None:
    root.command("publish")(publish)
