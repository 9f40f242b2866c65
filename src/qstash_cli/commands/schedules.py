"""`qstash schedules`: list, get, create, delete, pause, resume, and apply a declarative TOML file."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli import completers as C
from qstash_cli import publishing as P
from qstash_cli.errors import InputError, Unsupported
from qstash_cli.inputs import read_body, validate_id
from qstash_cli.output import Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(help="Manage schedules (cron-triggered messages).", no_args_is_help=True)

SCHEDULE_ID = typer.Argument(..., metavar="SCHEDULE_ID", help="Schedule id.", autocompletion=C.names("schedules"))


def destination_of(row: dict[str, Any]) -> Any:
    """v2 `destination` is a string; v1 nests it as {type, url, topic: {name}}."""
    dest = row.get("destination")
    if isinstance(dest, dict):
        return dest.get("url") or (dest.get("topic") or {}).get("name") or dest.get("topicId")
    return dest


SCHEDULE_COLUMNS = [
    Column("id", "scheduleId"),
    Column("cron", "cron"),
    Column("destination", destination_of),
    Column("next run", "nextScheduleTime", "time"),
    Column("last run", "lastScheduleTime", "time"),
    Column("paused", "isPaused"),
]
V2_FIELDS = [
    Column("scheduleId", "scheduleId"),
    Column("cron", "cron"),
    Column("destination", "destination"),
    Column("method", "method"),
    Column("header", "header", "json"),
    Column("body", lambda r: r.get("body") if r.get("body") is not None else r.get("bodyBase64")),
    Column("retries", "retries"),
    Column("delay", "delay"),
    Column("timeout", "timeout"),
    Column("callback", "callback"),
    Column("failureCallback", "failureCallback"),
    Column("queueName", "queueName"),
    Column("isPaused", "isPaused"),
    Column("createdAt", "createdAt", "time"),
    Column("nextScheduleTime", "nextScheduleTime", "time"),
    Column("lastScheduleTime", "lastScheduleTime", "time"),
    Column("lastScheduleStates", "lastScheduleStates", "json"),
]
V1_FIELDS = [
    Column("scheduleId", "scheduleId"),
    Column("cron", "cron"),
    Column("destination", destination_of),
    Column("createdAt", "createdAt", "time"),
    Column("content", "content", "json"),
    Column("settings", "settings", "json"),
]
PLAN_COLUMNS = [
    Column("action", "action"),
    Column("id", "scheduleId"),
    Column("cron", "cron"),
    Column("destination", "destination"),
    Column("changes", lambda r: ", ".join(r["changes"])),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: int = typer.Option(
        None, "--limit", metavar="N", min=1, help="Show at most N schedules (on a terminal 20 by default)."
    ),
    all_: bool = typer.Option(False, "--all", help="Show every schedule."),
) -> None:
    """List schedules: id, cron, destination, next and last run, paused.

    \b
    Example:
      qstash schedules list
    """
    s = settings_from(ctx)
    from qstash_cli.api.pages import note_more, page_limit

    items = C.remember_rows(s, "schedules", s.client().schedules.list(), "scheduleId")
    total, shown = len(items), page_limit(limit, all_, s.out.mode == "table")
    if shown is not None:
        items = items[:shown]
    note_more(s.out, s.out.rows(items, SCHEDULE_COLUMNS, id_key="scheduleId"), limit, all_, total)


@app.command("get")
def get(ctx: typer.Context, schedule_id: str = SCHEDULE_ID) -> None:
    """Show one schedule.

    \b
    Example:
      qstash schedules get scd_1234
    """
    s = settings_from(ctx)
    data = s.client().schedules.get(validate_id(schedule_id, what="schedule id"))
    s.out.record(data, id_key="scheduleId", fields=V2_FIELDS if s.api == "v2" else V1_FIELDS)


@app.command("create")
@P.with_settings
def create(
    ctx: typer.Context,
    destination: str = typer.Argument(
        ..., metavar="DESTINATION", help="URL (http:// or https://) or topic (URL group) name."
    ),
    cron: str = typer.Option(
        ..., "--cron", metavar="EXPR", help="5-field cron, optional 'CRON_TZ=Zone ' prefix (UTC by default)."
    ),
    body: str = P.BODY,
    content_type: str = P.CONTENT_TYPE,
    method: str = P.METHOD,
    header: list[str] = P.HEADER,
    delay: str = typer.Option(None, "--delay", metavar="DURATION", help="Delay each delivery by: 50s, 3m, 10h, 1d."),
    retries: int = P.RETRIES,
    timeout: str = P.TIMEOUT,
    callback: str = P.CALLBACK,
    failure_callback: str = P.FAILURE_CALLBACK,
    schedule_id: str = P.SCHEDULE_ID,
    queue: str = typer.Option(None, "--queue", metavar="NAME", help="Enqueue each delivery into this queue (v2)."),
    label: str = P.LABEL,
    settings: dict[str, Any] = P.SETTINGS,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the next fire times; send nothing."),
    count: int = typer.Option(5, "--count", "-n", metavar="N", min=1, max=1000, help="Fire times shown by --dry-run."),
) -> None:
    """Create a schedule (v2 POST /v2/schedules/DEST; v1 publish with Upstash-Cron).

    Prints the scheduleId, and the next 3 fire times on stderr. With --dry-run prints the next fire times
    (UTC and local) and sends nothing.

    \b
    Examples:
      qstash schedules create https://example.com/report --cron "0 3 * * *" -d '{"kind":"nightly"}'
      qstash schedules create orders --cron "CRON_TZ=America/New_York */15 9-17 * * 1-5" --schedule-id orders-poll
      qstash schedules create https://example.com/x --cron "0 * * * *" --dry-run
    """
    s = settings_from(ctx)
    msg = P.build_message(
        destination,
        read_body=False,
        content_type=content_type,
        method=method,
        header=header,
        delay=delay,
        retries=retries,
        timeout=timeout,
        callback=callback,
        failure_callback=failure_callback,
        label=label,
        queue=queue,
        cron=cron,
        schedule_id=schedule_id,
        settings=settings,
    )
    api = s.api
    msg.check(api)
    for note in msg.warnings:
        s.out.warn(note)
    msg.body = read_body(body)
    headers = msg.headers(api)
    if dry_run:
        path = f"/v2/schedules/{msg.destination}" if api == "v2" else f"/v1/publish/{msg.destination}"
        s.out.info(f"dry run: would send POST {path} with " + ", ".join(f"{k}: {v}" for k, v in headers.items()))
        s.out.rows(P.fire_times(msg.cron or cron, count), P.fire_columns(msg.cron or ""), id_key="utc")
        return
    data = s.client().schedules.create(msg.destination, msg.body, headers, idempotent=bool(msg.schedule_id))
    P.show_schedule(s.out, data, msg.cron or cron)


@app.command("delete")
def delete(
    ctx: typer.Context,
    schedule_id: str = SCHEDULE_ID,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a schedule (asks first; --yes is required without a terminal).

    \b
    Example:
      qstash schedules delete scd_1234 --yes
    """
    s = settings_from(ctx)
    sid = validate_id(schedule_id, what="schedule id")
    client = s.client()
    s.out.confirm(f"delete schedule {sid}", yes=yes)
    client.schedules.delete(sid)
    _done(s, sid, "deleted")


@app.command("pause")
def pause(ctx: typer.Context, schedule_id: str = SCHEDULE_ID) -> None:
    """Pause a schedule: it keeps its fire times but delivers nothing until resumed (v2).

    \b
    Example:
      qstash schedules pause nightly-report
    """
    _toggle(ctx, schedule_id, "pause")


@app.command("resume")
def resume(ctx: typer.Context, schedule_id: str = SCHEDULE_ID) -> None:
    """Resume a paused schedule (v2).

    \b
    Example:
      qstash schedules resume nightly-report
    """
    _toggle(ctx, schedule_id, "resume")


def _toggle(ctx: typer.Context, schedule_id: str, action: str) -> None:
    s = settings_from(ctx)
    sid = validate_id(schedule_id, what="schedule id")
    client = s.client()
    getattr(client.schedules, action)(sid)
    _done(s, sid, "paused" if action == "pause" else "resumed")


def _done(s: Settings, sid: str, status: str) -> None:
    s.out.record({"scheduleId": sid, "status": status}, id_key="scheduleId")


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: str = typer.Argument(..., metavar="FILE.toml", help="TOML file of [[schedule]] tables."),
    prune: bool = typer.Option(False, "--prune", help="Delete server schedules the file does not list."),
    prune_match: str = typer.Option(
        None, "--prune-match", metavar="GLOB", help="With --prune: only delete schedules whose id matches GLOB."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --prune deletions."),
) -> None:
    """Make the server's schedules match FILE.toml (v2): create missing ones, update changed ones by id.

    Entries are matched to server schedules by `id` (sent as Upstash-Schedule-Id, so an update overwrites the
    schedule in place). A second run with the same file is a no-op. --prune deletes every schedule on the account
    that the file does not list (narrow it with --prune-match 'team-*'); deletions are listed and confirmed first,
    and need --yes without a terminal. Prints the plan: action (create/update/delete/unchanged), id, cron,
    destination, changed settings.

    \b
    File:
      [[schedule]]
      id = "nightly-report"
      destination = "https://example.com/report"
      cron = "0 3 * * *"
      body = '{"kind":"nightly"}'
      headers = { "Content-Type" = "application/json", "X-Team" = "data" }
      retries = 3
    Keys: id destination cron body method headers retries delay timeout callback failure_callback queue
    retry_delay flow_control_key rate parallelism period redact callback_method callback_timeout callback_retries
    callback_retry_delay callback_delay callback_headers (the same failure_callback_… keys) upstash_headers.

    \b
    Examples:
      qstash schedules apply schedules.toml --dry-run
      qstash schedules apply schedules.toml --prune --prune-match 'nightly-*' --yes
    """
    from qstash_cli import schedule_file as F

    s = settings_from(ctx)
    if s.api != "v2":
        raise Unsupported("schedules apply needs the v2 API (v1 cannot choose schedule ids); use --api v2")
    if prune_match and not prune:
        raise InputError("--prune-match needs --prune")
    desired = F.load(file)
    client = s.client()
    steps = F.plan(desired, client.schedules.list(), prune=prune, prune_match=prune_match)
    if dry_run:
        s.out.info("dry run: nothing was changed")
        _show_plan(s, steps)
        return
    deletions = [st.id for st in steps if st.action == F.DELETE]
    if deletions:
        s.out.confirm(f"delete {len(deletions)} schedule(s) not in {file}: {', '.join(deletions)}", yes=yes)
    for st in steps:
        if st.action in (F.CREATE, F.UPDATE) and st.desired is not None:
            m = st.desired.message
            client.schedules.create(m.destination, m.body, m.headers("v2"), idempotent=True)
        elif st.action == F.DELETE:
            client.schedules.delete(st.id)
    _show_plan(s, steps)
    n = {a: sum(st.action == a for st in steps) for a in (F.CREATE, F.UPDATE, F.DELETE, F.UNCHANGED)}
    s.out.info(f"{n[F.CREATE]} created, {n[F.UPDATE]} updated, {n[F.DELETE]} deleted, {n[F.UNCHANGED]} unchanged")


def _show_plan(s: Settings, steps: list[Any]) -> None:
    rows = [st.row() for st in steps]
    if s.out.mode == "quiet":
        rows = [r for r in rows if r["action"] != "unchanged"]
    s.out.rows(rows, PLAN_COLUMNS, id_key="scheduleId")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="schedules")
