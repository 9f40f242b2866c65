"""Tasks: v1 `GET /v1/tasks/{taskId}` and `/v1/tasks/{taskId}/logs`. v2 has no tasks: a task is one message's
delivery to one URL, built from `GET /v2/events` filtered by the message id (and `url`, for topic fan-out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qstash_cli.api import logs
from qstash_cli.api.logs import cursor_of, entries_of
from qstash_cli.api.pages import Page, iterate
from qstash_cli.api.transport import Transport
from qstash_cli.errors import InputError, NotFound, Unsupported


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def get(self, task_id: str, *, url: str | None = None) -> dict[str, Any]:
        if url:
            raise Unsupported("v1 tasks are addressed by their task id alone; drop --endpoint")
        return self.t.json("GET", f"/v1/tasks/{task_id}")

    def logs_page(self, task_id: str, cursor: Any) -> Page:
        """`{cursor?, logs}` (a bare list is accepted too)."""
        data = self.t.json("GET", f"/v1/tasks/{task_id}/logs", params={"cursor": cursor} if cursor else None)
        return entries_of(data, "logs", "events"), cursor_of(data)

    def logs(
        self, task_id: str, *, url: str | None = None, limit: int | None = None, follow: bool = False
    ) -> Iterator[dict[str, Any]]:
        if url:
            raise Unsupported("v1 tasks are addressed by their task id alone; drop --endpoint")
        return iterate(lambda cursor: self.logs_page(task_id, cursor), limit=limit, follow=follow)


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def get(self, message_id: str, *, url: str | None = None) -> dict[str, Any]:
        """The delivery of message `message_id` (to `url`): latest state, attempts, last error, from all its events."""
        filters = [("messageId", message_id)] + ([("url", url)] if url else [])
        tasks = logs.task_summaries(logs.events(self.t, filters, follow=True))
        if not tasks:
            raise NotFound(
                f"no events for message {message_id!r}" + (f" and URL {url}" if url else ""),
                hint="a v2 task is named by its message id (see `qstash logs`); events expire with the plan",
            )
        if len(tasks) > 1:
            urls = ", ".join(str(t["url"]) for t in tasks)
            raise InputError(
                f"message {message_id} went to {len(tasks)} URLs ({urls}); pick one with --endpoint URL",
                hint=f"or see them all with `qstash messages tasks {message_id}`",
            )
        return tasks[0]

    def logs(
        self, message_id: str, *, url: str | None = None, limit: int | None = None, follow: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The events of message `message_id` (to `url`), newest first."""
        filters = [("messageId", message_id)] + ([("url", url)] if url else [])
        return logs.events(self.t, filters, limit=limit, follow=follow)
