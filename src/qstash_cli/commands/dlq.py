"""`qstash dlq`: the dead-letter queue (v2 only): list, get, retry, delete — by id or in bulk with --all/filters."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

from qstash_cli import publishing as P
from qstash_cli.api.pages import note_more, page_limit
from qstash_cli.commands import logs as L
from qstash_cli.errors import InputError
from qstash_cli.inputs import validate_id
from qstash_cli.output import Column
from qstash_cli.settings import settings_from

app = typer.Typer(
    help="Dead-letter queue (v2): messages whose retries ran out — list, inspect, retry, delete.",
    no_args_is_help=True,
)

DLQ_COLUMNS = [
    Column("id", "dlqId"),
    Column("message", "messageId"),
    Column("destination", L.destination),
    Column("status", "responseStatus"),
    Column("created", "createdAt", "time"),
    Column("error", lambda r: r.get("error") or r.get("responseBody")),
]
RETRY_COLUMNS = [Column("dlq id", "dlqId"), Column("new message", "messageId")]

STATUS = typer.Option(None, "--status", help="Only entries whose last response had this HTTP status (repeatable).")
DLQ_IDS = typer.Argument(None, help="DLQ ids (dlqId, not the message id).", show_default=False)
BULK = typer.Option(False, "--all", help="Every DLQ entry (narrowed by the filters).")
YES = typer.Option(False, "--yes", "-y", help="Do not ask (required without a terminal).")
COUNT = L.count_option(100, "Entries per request (`count`)")

# The filters list, retry and delete all take, in option order: (parameter, option, type, keyword of L.filters).
FILTERS = (
    ("endpoint", L.URL, list[str], "url"),
    ("topic", L.TOPIC, list[str], "topic"),
    ("schedule_id", L.SCHEDULE_ID, list[str], "schedule_id"),
    ("queue", L.QUEUE, list[str], "queue"),
    ("message_id", L.MESSAGE_ID, list[str], "message_id"),
    ("status", STATUS, list[int], "response_status"),
    ("label", L.LABEL, list[str], "label"),
    ("caller_ip", L.CALLER_IP, list[str], "caller_ip"),
    ("flow_control_key", L.FLOW_CONTROL_KEY, list[str], "flow_control_key"),
    ("from_", L.FROM, str, "from_"),
    ("to", L.TO, str, "to"),
)
FILTERED: Any = object()  # the default of the parameter that `with_filters` replaces by the FILTERS options


def with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Put the FILTERS options where `command` has its `filters=FILTERED` parameter, which receives their values as
    a dict of `L.filters` keywords (validate them with `L.filters(**filters)`)."""
    sig = inspect.signature(command, eval_str=True)
    target = next(p.name for p in sig.parameters.values() if p.default is FILTERED)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        if p.name == target:
            params += [inspect.Parameter(name, p.kind, default=opt, annotation=tp) for name, opt, tp, _ in FILTERS]
        else:
            params.append(p)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        values = {key: kwargs.pop(name) for name, _, _, key in FILTERS}
        command(**kwargs, **{target: values})

    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


def _bulk_target(
    s: Any, dlq_ids: list[str] | None, all_: bool, filters: dict[str, Any], verb: str, count: int | None = None
) -> tuple[list[str], list[tuple[str, Any]]]:
    """The validated (ids, filter pairs): ids, or --all with optional filters; never both, never neither (nothing
    happens in bulk by accident)."""
    ids = [validate_id(i, what="DLQ id") for i in dlq_ids or []]
    pairs = L.filters(**filters)
    if s.api == "v1":
        s.client().dlq.get  # noqa: B018 - raises Unsupported before anything is sent
    if ids and (all_ or pairs):
        raise InputError("give DLQ ids, or --all with optional filters, not both")
    if ids and count:
        raise InputError("--count applies to --all (entries per request), not to DLQ ids")
    if not ids and not all_:
        raise InputError(
            f"no DLQ ids given; to {verb} in bulk add --all" + (" (the filters narrow it)" if pairs else ""),
            hint=f"`qstash dlq {verb} --all --endpoint URL`, or see the ids with `qstash dlq list`",
        )
    return ids, pairs


@app.command("list")
@with_filters
def list_(
    ctx: typer.Context,
    filters: dict[str, Any] = FILTERED,
    limit: int = L.LIMIT,
    all_: bool = L.ALL,
    count: int | None = COUNT,
) -> None:
    """List dead-letter messages, newest first (GET /v2/dlq, string cursor).

    \b
    Examples:
      qstash dlq list --endpoint https://example.com/hook --status 500
      qstash dlq list --all --json
    """
    s = settings_from(ctx)
    pairs = L.filters(**filters)
    items = s.client().dlq.listing(
        pairs, limit=page_limit(limit, all_, s.out.mode == "table"), follow=all_, count=count
    )
    note_more(s.out, s.out.rows(items, DLQ_COLUMNS, id_key="dlqId"), limit, all_)


@app.command("get")
def get(ctx: typer.Context, dlq_id: str = typer.Argument(..., help="DLQ id.")) -> None:
    """Show one dead-letter message with the last response it got (GET /v2/dlq/ID).

    \b
    Example:
      qstash dlq get 1725323658779-0
    """
    s = settings_from(ctx)
    data = s.client().dlq.get(validate_id(dlq_id, what="DLQ id"))
    s.out.record(data, id_key="dlqId")


@app.command("retry")
@P.with_overrides
@with_filters
def retry(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = FILTERED,
    method: str = P.METHOD,
    header: list[str] = P.HEADER,
    delay: str = P.DELAY,
    retries: int = P.RETRIES,
    timeout: str = P.TIMEOUT,
    callback: str = P.CALLBACK,
    failure_callback: str = P.FAILURE_CALLBACK,
    settings: dict[str, Any] = P.SETTINGS,
    count: int | None = COUNT,
    yes: bool = YES,
) -> None:
    """Publish dead-letter messages again (they leave the DLQ); prints each new message id.

    By id: POST /v2/dlq/retry/ID for each. In bulk: --all (narrowed by the filters) via POST /v2/dlq/retry?...,
    following the cursor until done; asks first (--yes without a terminal). The publish options (--retries,
    --delay, -H, --retry-delay, --callback, ...) override the original message's settings for the new attempt.

    \b
    Examples:
      qstash dlq retry 1725323658779-0
      qstash dlq retry 1725323658779-0 --retries 5 --timeout 60s -H "X-Retry: manual"
      qstash dlq retry --all --endpoint https://example.com/hook --yes
    """
    s = settings_from(ctx)
    overrides = P.build_message(
        "",
        read_body=False,
        method=method,
        header=header,
        delay=delay,
        retries=retries,
        timeout=timeout,
        callback=callback,
        failure_callback=failure_callback,
        settings=settings,
    )
    for note in overrides.warnings:
        s.out.warn(note)
    headers = overrides.headers("v2")
    ids, pairs = _bulk_target(s, dlq_ids, all_, filters, "retry", count)
    dlq = s.client().dlq
    if ids:
        items = dlq.retry(ids, headers)
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "in the DLQ (all of them)"
        s.out.confirm(f"retry every message {scope}", yes=yes)
        items = dlq.retry_matching(pairs, headers, count=count)
    s.out.rows(items, RETRY_COLUMNS, id_key="messageId")


@app.command("delete")
@with_filters
def delete(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = FILTERED,
    count: int | None = COUNT,
    yes: bool = YES,
) -> None:
    """Delete dead-letter messages for good; prints the number deleted (-q: just the number).

    By id: DELETE /v2/dlq/ID (one) or DELETE /v2/dlq with {"dlqIds": [...]} (several). In bulk: --all (narrowed
    by the filters) via DELETE /v2/dlq?..., following the cursor until done. Always asks first (--yes without a
    terminal).

    \b
    Examples:
      qstash dlq delete 1725323658779-0 --yes
      qstash dlq delete --all --from 7d --to 1d
    """
    s = settings_from(ctx)
    ids, pairs = _bulk_target(s, dlq_ids, all_, filters, "delete", count)
    dlq = s.client().dlq
    if ids:
        s.out.confirm(f"delete DLQ entr{'y' if len(ids) == 1 else 'ies'} {', '.join(ids)}", yes=yes)
        result = dlq.delete(ids)
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "(the whole DLQ)"
        s.out.confirm(f"delete every DLQ entry {scope}", yes=yes)
        result = dlq.delete_matching(pairs, count=count)
    s.out.record(result, id_key="deleted", fields=[Column("deleted", "deleted")])


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dlq")
