"""`qstash workflow dlq`: failed workflow runs (v2 only) — list, get, delete, and resume / restart as new runs (with
override settings), or call the failure callback again."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import qstash_headers as QH
from qstash_cli import workflow_steps as W
from qstash_cli.commands import logs as L
from qstash_cli.commands import workflow_filters as F
from qstash_cli.commands.dlq import YES
from qstash_cli.inputs import parse_duration, validate_id, validate_retries, validate_url
from qstash_cli.option_sets import Marker, OptionRow, with_options
from qstash_cli.output import Column
from qstash_cli.settings import settings_from

app = typer.Typer(
    help="Failed workflow runs (v2): list, inspect, resume, restart, delete, retry the failure callback.",
    no_args_is_help=True,
)

DLQ_COLUMNS = [
    Column("id", "dlqId"),
    Column("run", "workflowRunId"),
    Column("url", lambda r: r.get("workflowUrl") or r.get("url")),
    Column("status", "responseStatus"),
    Column("created", "createdAt", "time"),
    Column("failure fn", lambda r: (r.get("failureCallbackInfo") or {}).get("state") or r.get("failureFunctionState")),
    Column("error", lambda r: W.shorten(r.get("responseBody"))),
]
NEW_RUN_COLUMNS = [Column("new run", "workflowRunId"), Column("created", "workflowCreatedAt", "time")]

# -- ---------------------------------------------------------------------------------------------------

DLQ_IDS = typer.Argument(None, help="DLQ ids (dlqId).", show_default=False)
BULK = typer.Option(False, "--all", help="Every failed run in the DLQ (narrowed by the filters).")
COUNT = L.count_option(100, "Entries per request (`count`)")

# The settings of the new run that resume/restart take (override headers), as `start_headers` keywords.
OVERRIDES = Marker("new run settings")
OVERRIDE_OPTIONS: list[OptionRow] = [
    ("retries", typer.Option(None, "--retries", metavar="N", help="Retries of each step of the new run."), int | None),
    (
        "retry_delay",
        typer.Option(None, "--retry-delay", metavar="EXPR", help="Delay between retries in ms: '1000 * retried'."),
        str | None,
    ),
    (
        "delay",
        typer.Option(None, "--delay", metavar="DURATION", help="Start the new run after: 50s, 3m, 1h."),
        str | None,
    ),
    (
        "flow_control_key",
        typer.Option(None, "--flow-control-key", metavar="KEY", help="Flow-control key of the new run."),
        str | None,
    ),
    (
        "rate",
        typer.Option(None, "--rate", metavar="N", help="With --flow-control-key: step calls per --period."),
        int | None,
    ),
    (
        "parallelism",
        typer.Option(None, "--parallelism", metavar="N", help="With --flow-control-key: step calls at once."),
        int | None,
    ),
    ("period", typer.Option(None, "--period", metavar="DURATION", help="The --rate period (default 1s)."), str | None),
    ("label", typer.Option(None, "--label", metavar="LABEL", help="Label of the new run."), str | None),
    (
        "failure_url",
        typer.Option(None, "--failure-url", "--failure-callback", metavar="URL", help="Failure URL of the new run."),
        str | None,
    ),
]


def start_headers(
    *,
    retries: int | None = None,
    retry_delay: str | None = None,
    delay: str | None = None,
    flow_control_key: str | None = None,
    rate: int | None = None,
    parallelism: int | None = None,
    period: str | None = None,
    label: str | None = None,
    failure_url: str | None = None,
) -> dict[str, str]:
    """The settings options of resume/restart → the headers QStash reads them from (`Upstash-Retries`, ...)."""
    h: dict[str, str] = {}
    if retries is not None:
        h["Upstash-Retries"] = str(validate_retries(retries))
    if retry_delay is not None:
        h["Upstash-Retry-Delay"] = QH.validate_retry_delay(retry_delay)
    if delay is not None:
        h["Upstash-Delay"] = f"{parse_duration(delay, what='--delay')}s"
    key = QH.validate_flow_control_key(flow_control_key) if flow_control_key is not None else None
    seconds = parse_duration(period, what="--period") if period is not None else None
    QH.check_flow_control(key, parallelism, rate, seconds)
    if key is not None:
        h["Upstash-Flow-Control-Key"] = key
        h["Upstash-Flow-Control-Value"] = QH.flow_control_value(parallelism, rate, seconds) or ""
    if label is not None:
        h["Upstash-Label"] = dict(L.filters(label=[label]))["label"]
    if failure_url is not None:
        h["Upstash-Failure-Callback"] = validate_url(failure_url, what="--failure-url")
    return h


@app.command("list")
@with_options(F.DLQ_FILTERS, F.FILTERS)
def dlq_list(
    ctx: typer.Context,
    filters: dict[str, Any] = F.FILTERS,
    limit: int = L.LIMIT,
    all_: bool = L.ALL,
    count: int | None = COUNT,
) -> None:
    """List failed workflow runs, newest first (GET /v2/workflows/dlq, string cursor).

    \b
    Examples:
      qstash workflow dlq list --workflow-url https://example.com/api/workflow
      qstash workflow dlq list --failure-state FAIL --all --json
    """
    s = settings_from(ctx)
    pairs = F.run_filters(**filters)
    s.out.rows(F.workflows_api(s).dlq(pairs, limit=limit, follow=all_, count=count), DLQ_COLUMNS, id_key="dlqId")


@app.command("get")
def dlq_get(ctx: typer.Context, dlq_id: str = typer.Argument(..., help="DLQ id.")) -> None:
    """Show one failed run: the failed step's request and last response, the failure callback (GET .../dlq/ID).

    \b
    Example:
      qstash workflow dlq get 1725323658779-0
    """
    s = settings_from(ctx)
    dlq_id = validate_id(dlq_id, what="DLQ id")
    s.out.record(F.workflows_api(s).dlq_get(dlq_id), id_key="dlqId")


@app.command("delete")
@with_options(F.DLQ_FILTERS, F.FILTERS)
def dlq_delete(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = F.FILTERS,
    count: int | None = COUNT,
    yes: bool = YES,
) -> None:
    """Delete failed runs from the DLQ for good; prints the number deleted (-q: just the number).

    By id: DELETE /v2/workflows/dlq/ID (one) or DELETE /v2/workflows/dlq?dlqIds=A&dlqIds=B (several). In bulk:
    --all (narrowed by the filters) via DELETE /v2/workflows/dlq?...&count=100, following the cursor. Always asks
    first (--yes without a terminal).

    \b
    Examples:
      qstash workflow dlq delete 1725323658779-0 --yes
      qstash workflow dlq delete --all --to 7d
    """
    s = settings_from(ctx)
    ids = [validate_id(i, what="DLQ id") for i in dlq_ids or []]
    pairs = F.run_filters(**filters)
    api = F.workflows_api(s)
    F.check_targets(ids, all_, pairs, "DLQ", "dlq delete", count)
    if ids:
        s.out.confirm(f"delete DLQ entr{'y' if len(ids) == 1 else 'ies'} {', '.join(ids)}", yes=yes)
        result = api.dlq_delete(ids)
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "(the whole workflow DLQ)"
        s.out.confirm(f"delete every workflow DLQ entry {scope}", yes=yes)
        result = api.dlq_delete_matching(pairs, count=count)
    s.out.record(result, id_key="deleted", fields=[Column("deleted", "deleted")])


def _start(
    action: str,
    ctx: typer.Context,
    dlq_ids: list[str] | None,
    all_: bool,
    filters: dict[str, Any],
    overrides: dict[str, Any],
    count: int | None,
    yes: bool,
) -> None:
    """resume / restart: by ids, or --all with filters (asks first); `overrides` become the new runs' headers."""
    s = settings_from(ctx)
    ids = [validate_id(i, what="DLQ id") for i in dlq_ids or []]
    pairs = F.run_filters(**filters)
    headers = start_headers(**overrides)
    api = F.workflows_api(s)
    F.check_targets(ids, all_, pairs, "DLQ", f"dlq {action}", count)
    if ids:
        items = api.dlq_start(action, ids, headers)
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "in the workflow DLQ (all of them)"
        s.out.confirm(f"{action} every failed run {scope}", yes=yes)
        items = api.dlq_start_matching(action, pairs, headers, count=count)
    s.out.rows(items, NEW_RUN_COLUMNS, id_key="workflowRunId")


@app.command("resume")
@with_options(OVERRIDE_OPTIONS, OVERRIDES)
@with_options(F.START_FILTERS, F.FILTERS)
def dlq_resume(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = F.FILTERS,
    overrides: dict[str, Any] = OVERRIDES,
    count: int | None = COUNT,
    yes: bool = YES,
) -> None:
    """Resume failed runs from the step that failed, as new runs (the steps before it are not run again); prints
    each new run id.

    POST /v2/workflows/dlq/resume?dlqIds=ID&... (in bulk: --all, narrowed by the filters, following the cursor;
    asks first). The settings options override the failed run's own (Upstash-Retries, Upstash-Flow-Control-*, ...).

    \b
    Examples:
      qstash workflow dlq resume 1725323658779-0 --retries 5
      qstash workflow dlq resume --all --match-label nightly --flow-control-key db --parallelism 2 --yes
    """
    _start("resume", ctx, dlq_ids, all_, filters, overrides, count, yes)


@app.command("restart")
@with_options(OVERRIDE_OPTIONS, OVERRIDES)
@with_options(F.START_FILTERS, F.FILTERS)
def dlq_restart(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = F.FILTERS,
    overrides: dict[str, Any] = OVERRIDES,
    count: int | None = COUNT,
    yes: bool = YES,
) -> None:
    """Restart failed runs from the beginning with their initial payload, as new runs; prints each new run id.

    POST /v2/workflows/dlq/restart?dlqIds=ID&... (in bulk: --all, narrowed by the filters, following the cursor;
    asks first). The settings options override the failed run's own, as for resume.

    \b
    Examples:
      qstash workflow dlq restart 1725323658779-0
      qstash workflow dlq restart --all --from 1d --delay 10m --yes
    """
    _start("restart", ctx, dlq_ids, all_, filters, overrides, count, yes)


@app.command("callback")
def dlq_callback(ctx: typer.Context, dlq_id: str = typer.Argument(..., help="DLQ id.")) -> None:
    """Call the failure callback (failure function / failure URL) of a failed run again, when it failed
    (POST /v2/workflows/dlq/callback/ID).

    \b
    Example:
      qstash workflow dlq callback 1725323658779-0
    """
    s = settings_from(ctx)
    dlq_id = validate_id(dlq_id, what="DLQ id")
    s.out.record(F.workflows_api(s).dlq_callback(dlq_id), id_key="workflowRunId")
