"""Plain data passed between the HTTP layer, the store and the delivery engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PENDING = ("CREATED", "RETRY", "ACTIVE")
FINAL = ("DELIVERED", "FAILED", "CANCELLED")


def label_column(meta: dict[str, Any]) -> str | None:
    """The labels as the store's `label` column keeps them (comma-joined; filters match one exactly)."""
    labels = meta.get("labels") or ([meta["label"]] if meta.get("label") else [])
    return ",".join(labels) or None


@dataclass
class Target:
    """Where one task delivers: a URL, and the topic endpoint it came from (if any)."""

    url: str
    endpoint_id: str | None = None
    endpoint_name: str | None = None


@dataclass
class MessageSpec:
    """A message about to be stored: one task per target."""

    id: str
    created_at: int
    not_before: int
    max_retries: int
    meta: dict[str, Any]
    body: bytes
    targets: list[Target]
    topic_name: str | None = None
    queue_name: str | None = None
    schedule_id: str | None = None
    label: str | None = None
    task_ids: list[str] = field(default_factory=list)
    new_run: dict[str, Any] | None = None  # a workflow trigger: the run it creates (see workflow.bind)

    @property
    def url(self) -> str | None:
        return self.targets[0].url if self.targets else None


@dataclass
class Delivery:
    """Everything a worker needs for one attempt of one task."""

    task_id: str
    message_id: str
    url: str
    next_at: int
    retried: int
    max_retries: int
    meta: dict[str, Any]
    body: bytes
    queue_name: str | None = None
    topic_name: str | None = None
    endpoint_name: str | None = None
    schedule_id: str | None = None

    @classmethod
    def from_rows(cls, task: Any, message: Any) -> Delivery:
        return cls(
            task_id=task["id"],
            message_id=task["message_id"],
            url=task["url"],
            next_at=task["next_at"],
            retried=task["retried"],
            max_retries=task["max_retries"],
            meta=json.loads(message["meta"]),
            body=bytes(message["body"]),
            queue_name=task["queue_name"],
            topic_name=message["topic_name"],
            endpoint_name=task["endpoint_name"],
            schedule_id=message["schedule_id"],
        )


@dataclass
class Outcome:
    """The result of one delivery attempt, and what to do next."""

    started: int
    finished: int
    status: int | None
    headers: dict[str, list[str]]
    body: bytes
    error: str | None
    retry_at: int | None  # None: no further retry (delivered, final failure)
    request_headers: list[tuple[str, str]] | None = None  # as sent, signature included (the console shows them)
    refused: bool = False  # a 2xx that still counts as a failure (a trigger answered by a non-workflow endpoint)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.refused
