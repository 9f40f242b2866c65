"""`qstash workflow`: Upstash Workflow runs (v2 only) — list runs, one run's steps, cancel, notify, waiters; the
workflow DLQ is `qstash workflow dlq` (commands/workflow_dlq.py)."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import workflow_steps as W
from qstash_cli.commands import logs as L
from qstash_cli.commands import workflow_dlq
from qstash_cli.commands import workflow_filters as F
from qstash_cli.commands.dlq import YES
from qstash_cli.errors import InputError
from qstash_cli.inputs import read_body, validate_id
from qstash_cli.option_sets import with_options
from qstash_cli.output import JSON, QUIET, Column, format_time
from qstash_cli.settings import settings_from

app = typer.Typer(
    help="Upstash Workflow (v2): runs and their steps, cancel, notify, waiters, and failed runs (workflow dlq).",
    no_args_is_help=True,
)
app.add_typer(workflow_dlq.app, name="dlq")

RUN_COLUMNS = [
    Column("id", "workflowRunId"),
    Column("url", "workflowUrl"),
    Column("state", "workflowState"),
    Column("created", "workflowRunCreatedAt", "time"),
    Column("completed", "workflowRunCompletedAt", "time"),
    Column("labels", W.labels),
]
STEP_COLUMNS = [
    Column("step", "stepId"),
    Column("name", "stepName"),
    Column("type", "stepType"),
    Column("state", "state"),
    Column("out", lambda r: W.shorten(r.get("out"))),
    Column("time", "createdAt", "time"),
    Column("detail", "detail"),
]
NOTIFY_COLUMNS = [
    Column("message", "messageId"),
    Column("run", lambda r: r.get("workflowRunId") or W.header(r.get("waiter") or {}, W.RUN_ID_HEADER)),
    Column("waiter url", lambda r: (r.get("waiter") or {}).get("url")),
    Column("error", "error"),
]
WAITER_COLUMNS = [
    Column("run", lambda r: W.header(r, W.RUN_ID_HEADER)),
    Column("url", "url"),
    Column("deadline", lambda r: r["deadline"] * 1000 if isinstance(r.get("deadline"), int) else None, "time"),
    Column("timeout url", "timeoutUrl"),
]


# -- runs -----------------------------------------------------------------------------------------------------------


@app.command("runs")
@with_options(F.RUN_FILTERS, F.FILTERS)
def runs(
    ctx: typer.Context,
    filters: dict[str, Any] = F.FILTERS,
    limit: int = L.LIMIT,
    all_: bool = L.ALL,
    count: int | None = L.count_option(10, "Runs per request (`count`)"),
) -> None:
    """List workflow runs, newest first (GET /v2/workflows/logs, string cursor; 10 runs a page).

    \b
    Examples:
      qstash workflow runs --state FAILED --from 1d
      qstash workflow runs --workflow-url https://example.com/api/workflow --all --json
    """
    s = settings_from(ctx)
    pairs = F.run_filters(**filters)
    items = F.workflows_api(s).runs(pairs, limit=limit, follow=all_, count=count)
    s.out.rows(items, RUN_COLUMNS, id_key="workflowRunId")


def _summary(run: dict[str, Any]) -> str:
    parts = [str(run.get("workflowRunId")), str(run.get("workflowState") or "-"), str(run.get("workflowUrl") or "-")]
    for label, key in (("created", "workflowRunCreatedAt"), ("completed", "workflowRunCompletedAt")):
        if isinstance(run.get(key), int) and run[key] > 0:
            parts.append(f"{label} {format_time(run[key])}")
    if run.get("workflowRunResponse") not in (None, ""):
        parts.append(f"response {W.shorten(run['workflowRunResponse'])}")
    failure = run.get("failureFunction")
    if isinstance(failure, dict) and failure.get("state"):
        parts.append(f"failure function {failure['state']}")
    if run.get("dlqId"):
        parts.append(f"dlq {run['dlqId']}")
    return "  ".join(parts)


@app.command("logs")
def logs(ctx: typer.Context, run_id: str = typer.Argument(..., help="Workflow run id (wfr_...).")) -> None:
    """Show one run's steps in order: step id, name, type, state, output (shortened), time, and what sleep, call,
    wait and invoke steps did; the pending step (the `next` group) last. The run's state is shown first (stderr);
    --json prints the whole run, -q the steps' message ids.

    \b
    Examples:
      qstash workflow logs wfr_7a1b
      qstash workflow logs wfr_7a1b --json | jq '.steps'
    """
    s = settings_from(ctx)
    run_id = validate_id(run_id, what="workflow run id")
    run = F.workflows_api(s).run(run_id)
    if s.out.mode == JSON:
        s.out.json(run)
        return
    s.out.info(_summary(run))
    s.out.rows(W.step_rows(run), STEP_COLUMNS, id_key="messageId")


@app.command("cancel")
@with_options(F.CANCEL_FILTERS, F.FILTERS)
def cancel(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, help="Workflow run ids to cancel.", show_default=False),
    all_: bool = typer.Option(False, "--all", help="Cancel every running workflow run (narrowed by the filters)."),
    filters: dict[str, Any] = F.FILTERS,
    count: int | None = L.count_option(1000, "With --all: runs cancelled per request (`count`, default 100)"),
    yes: bool = YES,
) -> None:
    """Cancel workflow runs; prints the number cancelled (-q: just the number).

    By id: DELETE /v2/workflows/runs?workflowRunIds=ID&... In bulk: --all (narrowed by the filters; --workflow-url
    is an exact match, --url-prefix a prefix) via DELETE /v2/workflows/runs?...&count=100, repeated until a round
    cancels nothing. Always asks first (--yes without a terminal).

    \b
    Examples:
      qstash workflow cancel wfr_7a1b --yes
      qstash workflow cancel --all --url-prefix https://example.com/api/ --label nightly
    """
    s = settings_from(ctx)
    ids = [validate_id(i, what="workflow run id") for i in run_ids or []]
    pairs = F.run_filters(exact=True, **filters)
    api = F.workflows_api(s)
    F.check_targets(ids, all_, pairs, "workflow run", "cancel", count)
    if ids:
        what = (
            f"cancel workflow run {ids[0]}" if len(ids) == 1 else f"cancel {len(ids)} workflow runs ({', '.join(ids)})"
        )
        s.out.confirm(what, yes=yes)
        result = api.cancel(ids)
        if result["cancelled"] < len(ids):
            s.out.warn(f"{len(ids) - result['cancelled']} of the runs were not cancelled (unknown, or already ended)")
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "of the account (EVERY one)"
        s.out.confirm(f"cancel every running workflow run {scope}", yes=yes)
        result = api.cancel_matching(pairs, count=count)
    s.out.record(result, id_key="cancelled", fields=[Column("cancelled", "cancelled")])


# -- events ---------------------------------------------------------------------------------------------------------


def _event_id(value: str) -> str:
    if not value or "/" in value or any(c.isspace() for c in value) or not value.isprintable():
        raise InputError(f"invalid event id {value!r}: one word, without '/', spaces or control characters")
    return value


@app.command("notify")
def notify(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event id the workflows wait for."),
    data: str = typer.Option(
        None, "--data", "-d", metavar="TEXT|@FILE|@-", help="Event data: TEXT, @FILE, or @- for stdin (default: none)."
    ),
    run_id: str = typer.Option(
        None, "--run-id", help="Notify this run only; kept until it waits, if it is not waiting yet."
    ),
) -> None:
    """Notify the workflow runs waiting for an event (context.waitForEvent); one row per notified waiter.

    POST /v2/notify/EVENT_ID (or POST /v2/notify/RUN_ID/EVENT_ID with --run-id) with the data as the body. Without
    --run-id, a notification no run waits for is lost.

    \b
    Examples:
      qstash workflow notify order-42-paid -d '{"amount": 10}'
      qstash workflow notify order-42-paid -d @event.json --run-id wfr_7a1b
    """
    s = settings_from(ctx)
    event_id = _event_id(event_id)
    run = validate_id(run_id, what="workflow run id") if run_id else None
    api = F.workflows_api(s)  # v1 fails before stdin (-d @-) is read
    body = read_body(data)
    count = s.out.rows(api.notify(event_id, body, run), NOTIFY_COLUMNS, id_key="messageId")
    if not count and not run:
        s.out.info("no run was waiting for this event; the notification is lost (--run-id keeps it for one run)")


@app.command("waiters")
def waiters(ctx: typer.Context, event_id: str = typer.Argument(..., help="Event id.")) -> None:
    """List the runs waiting for an event (GET /v2/waiters/EVENT_ID): run id, workflow URL, deadline; -q: run ids.

    \b
    Example:
      qstash workflow waiters order-42-paid
    """
    s = settings_from(ctx)
    items = F.workflows_api(s).waiters(_event_id(event_id))
    if s.out.mode == QUIET:
        items = [{"run": W.header(w, W.RUN_ID_HEADER)} for w in items if isinstance(w, dict)]
    s.out.rows(items, WAITER_COLUMNS, id_key="run")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="workflow")
