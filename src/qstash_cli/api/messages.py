"""Messages: v1 `/v1/messages` (list with an int ms cursor, get, cancel, tasks); v2 `GET|DELETE /v2/messages/{id}`
(in-flight messages only), bulk `DELETE /v2/messages`, and list/tasks built from `GET /v2/events`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qstash_cli.api import logs
from qstash_cli.api.logs import Filters, cursor_of, entries_of
from qstash_cli.api.pages import Page, iterate
from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported


def _count(data: Any, default: int) -> int:
    value = data.get("cancelled") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def page(self, cursor: Any) -> Page:
        data = self.t.json("GET", "/v1/messages", params={"cursor": cursor} if cursor else None)
        return entries_of(data, "messages"), cursor_of(data)

    def listing(self, *, limit: int | None = None, follow: bool = False) -> Iterator[dict[str, Any]]:
        """Messages newest first: the first page, `limit` of them, or all (`follow`)."""
        return iterate(self.page, limit=limit, follow=follow)

    def get(self, message_id: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v1/messages/{message_id}")

    def cancel(self, message_ids: list[str]) -> dict[str, Any]:
        """`DELETE /v1/messages/{id}` for each id in turn (v1 has no bulk cancel)."""
        for message_id in message_ids:
            self.t.json("DELETE", f"/v1/messages/{message_id}", idempotent=True)
        return {"cancelled": len(message_ids), "messageIds": message_ids}

    def cancel_matching(self, filters: Filters) -> dict[str, Any]:
        raise Unsupported(
            "v1 has no bulk cancel; cancel by id (`qstash --api v1 messages cancel ID [ID ...]`) or use --api v2"
        )

    def tasks_page(self, message_id: str, cursor: Any) -> Page:
        data = self.t.json("GET", f"/v1/messages/{message_id}/tasks", params={"cursor": cursor} if cursor else None)
        return entries_of(data, "tasks"), cursor_of(data)

    def tasks(self, message_id: str, *, limit: int | None = None, follow: bool = False) -> Iterator[dict[str, Any]]:
        return iterate(lambda cursor: self.tasks_page(message_id, cursor), limit=limit, follow=follow)


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def listing(self, *, limit: int | None = None, follow: bool = False) -> Iterator[dict[str, Any]]:
        """Built from `/v2/events` (newest first): one row per message with its latest event. Without `limit` or
        `follow`, the messages of the first page of events; with `limit`, pages are read until that many."""
        entries = logs.events(self.t, [], follow=follow or limit is not None)
        return logs.message_summaries(entries, limit=limit)

    def get(self, message_id: str) -> dict[str, Any]:
        """The message while it is in flight (404 once delivered, failed or cancelled)."""
        return self.t.json("GET", f"/v2/messages/{message_id}")

    def latest_event(self, message_id: str) -> dict[str, Any] | None:
        """The newest `/v2/events` entry of a message, if any."""
        items, _ = logs.V2(self.t).page(None, [("messageId", message_id)], count=1)
        return next((i for i in items if isinstance(i, dict)), None)

    def cancel(self, message_ids: list[str]) -> dict[str, Any]:
        """One id: `DELETE /v2/messages/{id}`; several: `DELETE /v2/messages` with `{"messageIds": [...]}`."""
        if len(message_ids) == 1:
            data = self.t.json("DELETE", f"/v2/messages/{message_ids[0]}", idempotent=True)
        else:
            data = self.t.json("DELETE", "/v2/messages", json_body={"messageIds": message_ids}, idempotent=True)
        return {"cancelled": _count(data, len(message_ids)), "messageIds": message_ids}

    def cancel_matching(self, filters: Filters) -> dict[str, Any]:
        """`DELETE /v2/messages?filters` — with no filters, every in-flight message. `{"cancelled": n}`."""
        data = self.t.json("DELETE", "/v2/messages", params=filters or None, idempotent=True)
        return {"cancelled": _count(data, 0)}

    def tasks(self, message_id: str, *, limit: int | None = None, follow: bool = False) -> Iterator[dict[str, Any]]:
        """The message's events (state changes and delivery attempts), newest first."""
        return logs.events(self.t, [("messageId", message_id)], limit=limit, follow=follow)
