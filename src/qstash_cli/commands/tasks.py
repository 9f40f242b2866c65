"""`qstash tasks`: one delivery task and its log. v1 tasks have ids; in v2 a task is (message id, destination URL)."""

from __future__ import annotations

import typer

from qstash_cli.api.pages import page_limit
from qstash_cli.commands import logs as L
from qstash_cli.inputs import validate_id, validate_url
from qstash_cli.output import Column
from qstash_cli.settings import settings_from

app = typer.Typer(
    help="Delivery tasks: v1 by task id; v2 by message id (+ --url for a topic fan-out), derived from events.",
    no_args_is_help=True,
)

TASK_ID = typer.Argument(..., help="v1: task id. v2: message id (v2 has no task ids).")
TASK_URL = typer.Option(
    None, "--endpoint", help="v2: the destination URL, when the message went to a topic with several endpoints."
)
V1_FIELDS = [
    Column("taskId", "taskId"),
    Column("messageId", "messageId"),
    Column("url", "url"),
    Column("state", "state"),
    Column("retried", "retried"),
    Column("maxRetry", "maxRetry"),
    Column("createdAt", "createdAt", "time"),
    Column("completedAt", "completedAt", "time"),
    Column("nextProcessAt", "nextProcessAt", "time"),
    Column("lastErrorAt", "lastErrorAt", "time"),
    Column("deadline", "deadline", "time"),
    Column("error", "error"),
]
V2_FIELDS = [
    Column("messageId", "messageId"),
    Column("url", "url"),
    Column("topicName", "topicName"),
    Column("endpointName", "endpointName"),
    Column("state", "state"),
    Column("attempts", "attempts"),
    Column("maxRetries", "maxRetries"),
    Column("firstEvent", "createdAt", "time"),
    Column("lastEvent", "time", "time"),
    Column("nextDeliveryTime", "nextDeliveryTime", "time"),
    Column("responseStatus", "responseStatus"),
    Column("error", "error"),
    Column("events", "events"),
]


def _task(api: str, task_id: str, endpoint: str | None) -> tuple[str, str | None]:
    """The validated task id (v2: message id) and --endpoint URL (or None)."""
    task_id = validate_id(task_id, what="task id" if api == "v1" else "message id")
    return task_id, validate_url(endpoint, what="--endpoint URL") if endpoint else None


@app.command("get")
def get(ctx: typer.Context, task_id: str = TASK_ID, endpoint: str = TASK_URL) -> None:
    """Show one task: its state, retries and last error.

    v1: GET /v1/tasks/TASK_ID. v2 has no tasks or task ids: give the MESSAGE id; the task (the message's delivery
    to one URL) is summarised from all its GET /v2/events entries — latest state, attempts that got an answer
    (DELIVERED/ERROR events), last error and response status. A message sent to a topic has one task per
    endpoint: pick one with --endpoint URL.

    \b
    Examples:
      qstash --api v1 tasks get tsk_123
      qstash tasks get msg_123 --endpoint https://a.example.com/hook
    """
    s = settings_from(ctx)
    task_id, url = _task(s.api, task_id, endpoint)
    data = s.client().tasks.get(task_id, url=url)
    s.out.record(
        data, id_key="taskId" if s.api == "v1" else "messageId", fields=V1_FIELDS if s.api == "v1" else V2_FIELDS
    )


@app.command("logs")
def logs(
    ctx: typer.Context, task_id: str = TASK_ID, endpoint: str = TASK_URL, limit: int = L.LIMIT, all_: bool = L.ALL
) -> None:
    """Show a task's log, newest first.

    v1: GET /v1/tasks/TASK_ID/logs (cursor paged). v2: the events of the MESSAGE id (and --endpoint URL) from
    GET /v2/events?messageId=ID&url=URL.

    \b
    Examples:
      qstash --api v1 tasks logs tsk_123
      qstash tasks logs msg_123 --all --json
    """
    s = settings_from(ctx)
    task_id, url = _task(s.api, task_id, endpoint)
    items = s.client().tasks.logs(task_id, url=url, limit=page_limit(limit, all_, s.out.mode == "table"), follow=all_)
    s.out.rows(items, L.V1_LOG_COLUMNS if s.api == "v1" else L.EVENT_COLUMNS, id_key="messageId")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="tasks")
