"""`qstash workflow`: Upstash Workflow runs (v2 only) — list runs, one run's steps, cancel, notify, waiters, and the
workflow DLQ (list, get, delete, resume, restart, failure callback)."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import qstash_headers as QH
from qstash_cli import workflow_steps as W
from qstash_cli.commands import logs as L
from qstash_cli.commands.dlq import YES
from qstash_cli.errors import InputError
from qstash_cli.inputs import parse_duration, read_body, validate_id, validate_retries, validate_url
from qstash_cli.option_sets import Marker, OptionRow, with_options
from qstash_cli.output import JSON, QUIET, Column, format_time
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(
    help="Upstash Workflow (v2): runs and their steps, cancel, notify, waiters, and failed runs (workflow dlq).",
    no_args_is_help=True,
)
dlq_app = typer.Typer(
    help="Failed workflow runs (v2): list, inspect, resume, restart, delete, retry the failure callback.",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")

RUN_STATES = ("RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED")
FAILURE_STATES = ("CALLBACK_INPROGRESS", "CALLBACK_SUCCESS", "CALLBACK_FAIL")

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

# -- filters (parameter = keyword of `run_filters`, option, annotation) ----------------------------------------------
STATE = typer.Option(None, "--state", help="Only runs in this state (repeatable): STARTED, SUCCESS, FAILED, CANCELED.")
RUN_ID = typer.Option(None, "--run-id", help="Only this workflow run id (repeatable).")
WORKFLOW_URL = typer.Option(
    None, "--workflow-url", "--endpoint", help="Only runs of this workflow URL, exact match (repeatable)."
)
URL_PREFIX = typer.Option(None, "--url-prefix", help="Only runs whose workflow URL starts with this.")
LABEL = typer.Option(None, "--label", help="Only runs with this label (repeatable).")
CALLER_IP = typer.Option(None, "--caller-ip", metavar="IP", help="Only runs started from this IP (repeatable).")
FLOW_CONTROL_KEY = typer.Option(
    None, "--flow-control-key", metavar="KEY", help="Only runs with this flow-control key (repeatable)."
)
FAILURE_STATE = typer.Option(
    None, "--failure-state", help="Only entries whose failure callback is INPROGRESS, SUCCESS or FAIL (repeatable)."
)
MATCH_LABEL = typer.Option(None, "--match-label", help="With --all: only entries with this label (repeatable).")
MATCH_FLOW_CONTROL_KEY = typer.Option(
    None, "--match-flow-control-key", help="With --all: only entries with this flow-control key (repeatable)."
)

FILTERS = Marker("workflow filters")
_COMMON: list[OptionRow] = [
    ("label", LABEL, list[str] | None),
    ("caller_ip", CALLER_IP, list[str] | None),
    ("flow_control_key", FLOW_CONTROL_KEY, list[str] | None),
    ("from_", L.FROM, str | None),
    ("to", L.TO, str | None),
]
RUN_FILTERS: list[OptionRow] = [
    ("state", STATE, list[str] | None),
    ("run_id", RUN_ID, list[str] | None),
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    *_COMMON,
]
CANCEL_FILTERS: list[OptionRow] = [
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    ("url_prefix", URL_PREFIX, str | None),
    *_COMMON,
]
DLQ_FILTERS: list[OptionRow] = [
    ("run_id", RUN_ID, list[str] | None),
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    ("failure_state", FAILURE_STATE, list[str] | None),
    *_COMMON,
]
# resume/restart take --label and --flow-control-key as settings of the new runs: their filters are --match-*.
_MATCH = {
    "label": ("match_label", MATCH_LABEL, list[str] | None),
    "flow_control_key": ("match_flow_control_key", MATCH_FLOW_CONTROL_KEY, list[str] | None),
}
START_FILTERS: list[OptionRow] = [_MATCH.get(row[0], row) for row in DLQ_FILTERS]


def _enum(value: str, allowed: tuple[str, ...], prefix: str, flag: str) -> str:
    upper = value.upper().replace("CANCELLED", "CANCELED")
    full = upper if upper.startswith(prefix) else prefix + upper
    if full not in allowed:
        shown = ", ".join(a.removeprefix(prefix) for a in allowed)
        raise InputError(f"invalid {flag} {value!r}: use one of {shown}")
    return full


def run_filters(
    *,
    exact: bool = False,
    state: list[str] | None = None,
    run_id: list[str] | None = None,
    workflow_url: list[str] | None = None,
    url_prefix: str | None = None,
    failure_state: list[str] | None = None,
    label: list[str] | None = None,
    match_label: list[str] | None = None,
    caller_ip: list[str] | None = None,
    flow_control_key: list[str] | None = None,
    match_flow_control_key: list[str] | None = None,
    from_: str | None = None,
    to: str | None = None,
) -> list[tuple[str, Any]]:
    """Validated filter options → API query pairs (`state`, `workflowRunId`, `workflowUrl`, ..., then the filters
    every listing shares: `label`, `callerIp`, `flowControlKey`, `fromDate`, `toDate`).

    `exact`: the cancel route, where a plain `workflowUrl` is a prefix (`--url-prefix`) and `--workflow-url` adds
    `workflowUrlExactMatch=true`."""
    out: list[tuple[str, Any]] = [("state", _enum(v, RUN_STATES, "RUN_", "--state")) for v in state or []]
    out += [("workflowRunId", validate_id(v, what="workflow run id")) for v in run_id or []]
    out += [("workflowUrl", validate_url(v, what="--workflow-url")) for v in workflow_url or []]
    if workflow_url and url_prefix:
        raise InputError("--workflow-url (exact) and --url-prefix do not mix: give one")
    if workflow_url and exact:
        out.append(("workflowUrlExactMatch", "true"))
    if url_prefix:
        out.append(("workflowUrl", validate_url(url_prefix, what="--url-prefix")))
    for v in failure_state or []:
        out.append(("failureFunctionState", _enum(v, FAILURE_STATES, "CALLBACK_", "--failure-state")))
    return out + L.filters(
        label=label or match_label,
        caller_ip=caller_ip,
        flow_control_key=flow_control_key or match_flow_control_key,
        from_=from_,
        to=to,
    )


def _api(s: Settings) -> Any:
    """The workflows API; with --api v1 this fails (exit 2) before anything is asked or sent."""
    api = s.client().workflows
    api.runs  # noqa: B018 - V1 raises Unsupported here
    return api


def _targets(
    ids: list[str], all_: bool, pairs: list[tuple[str, Any]], noun: str, command: str, count: int | None
) -> None:
    """Ids, or --all with optional filters; never both, never neither (nothing happens in bulk by accident)."""
    if ids and (all_ or pairs):
        raise InputError(f"give {noun} ids, or --all with optional filters, not both")
    if ids and count:
        raise InputError(f"--count applies to --all (entries per request), not to {noun} ids")
    if not ids and not all_:
        raise InputError(
            f"no {noun} ids given; to act in bulk add --all" + (" (the filters narrow it)" if pairs else ""),
            hint=f"`qstash workflow {command} --all --workflow-url URL`",
        )


# -- runs -----------------------------------------------------------------------------------------------------------


@app.command("runs")
@with_options(RUN_FILTERS, FILTERS)
def runs(
    ctx: typer.Context,
    filters: dict[str, Any] = FILTERS,
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
    pairs = run_filters(**filters)
    items = _api(s).runs(pairs, limit=limit, follow=all_, count=count)
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
    run = _api(s).run(run_id)
    if s.out.mode == JSON:
        s.out.json(run)
        return
    s.out.info(_summary(run))
    s.out.rows(W.step_rows(run), STEP_COLUMNS, id_key="messageId")


@app.command("cancel")
@with_options(CANCEL_FILTERS, FILTERS)
def cancel(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(None, help="Workflow run ids to cancel.", show_default=False),
    all_: bool = typer.Option(False, "--all", help="Cancel every running workflow run (narrowed by the filters)."),
    filters: dict[str, Any] = FILTERS,
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
    pairs = run_filters(exact=True, **filters)
    api = _api(s)
    _targets(ids, all_, pairs, "workflow run", "cancel", count)
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
    api = _api(s)  # v1 fails before stdin (-d @-) is read
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
    items = _api(s).waiters(_event_id(event_id))
    if s.out.mode == QUIET:
        items = [{"run": W.header(w, W.RUN_ID_HEADER)} for w in items if isinstance(w, dict)]
    s.out.rows(items, WAITER_COLUMNS, id_key="run")


# -- workflow DLQ ---------------------------------------------------------------------------------------------------

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


@dlq_app.command("list")
@with_options(DLQ_FILTERS, FILTERS)
def dlq_list(
    ctx: typer.Context,
    filters: dict[str, Any] = FILTERS,
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
    pairs = run_filters(**filters)
    s.out.rows(_api(s).dlq(pairs, limit=limit, follow=all_, count=count), DLQ_COLUMNS, id_key="dlqId")


@dlq_app.command("get")
def dlq_get(ctx: typer.Context, dlq_id: str = typer.Argument(..., help="DLQ id.")) -> None:
    """Show one failed run: the failed step's request and last response, the failure callback (GET .../dlq/ID).

    \b
    Example:
      qstash workflow dlq get 1725323658779-0
    """
    s = settings_from(ctx)
    dlq_id = validate_id(dlq_id, what="DLQ id")
    s.out.record(_api(s).dlq_get(dlq_id), id_key="dlqId")


@dlq_app.command("delete")
@with_options(DLQ_FILTERS, FILTERS)
def dlq_delete(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = FILTERS,
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
    pairs = run_filters(**filters)
    api = _api(s)
    _targets(ids, all_, pairs, "DLQ", "dlq delete", count)
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
    pairs = run_filters(**filters)
    headers = start_headers(**overrides)
    api = _api(s)
    _targets(ids, all_, pairs, "DLQ", f"dlq {action}", count)
    if ids:
        items = api.dlq_start(action, ids, headers)
    else:
        scope = f"matching {L.describe(pairs)}" if pairs else "in the workflow DLQ (all of them)"
        s.out.confirm(f"{action} every failed run {scope}", yes=yes)
        items = api.dlq_start_matching(action, pairs, headers, count=count)
    s.out.rows(items, NEW_RUN_COLUMNS, id_key="workflowRunId")


@dlq_app.command("resume")
@with_options(OVERRIDE_OPTIONS, OVERRIDES)
@with_options(START_FILTERS, FILTERS)
def dlq_resume(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = FILTERS,
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


@dlq_app.command("restart")
@with_options(OVERRIDE_OPTIONS, OVERRIDES)
@with_options(START_FILTERS, FILTERS)
def dlq_restart(
    ctx: typer.Context,
    dlq_ids: list[str] = DLQ_IDS,
    all_: bool = BULK,
    filters: dict[str, Any] = FILTERS,
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


@dlq_app.command("callback")
def dlq_callback(ctx: typer.Context, dlq_id: str = typer.Argument(..., help="DLQ id.")) -> None:
    """Call the failure callback (failure function / failure URL) of a failed run again, when it failed
    (POST /v2/workflows/dlq/callback/ID).

    \b
    Example:
      qstash workflow dlq callback 1725323658779-0
    """
    s = settings_from(ctx)
    dlq_id = validate_id(dlq_id, what="DLQ id")
    s.out.record(_api(s).dlq_callback(dlq_id), id_key="workflowRunId")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="workflow")
