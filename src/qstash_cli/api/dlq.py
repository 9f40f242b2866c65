"""Dead-letter queue (v2 only): `GET /v2/dlq` (string cursor, filters), `GET|DELETE /v2/dlq/{id}`,
`POST /v2/dlq/retry/{id}`, bulk `POST /v2/dlq/retry` and `DELETE /v2/dlq` (ids or filters; cursor until done)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qstash_cli.api.logs import Filters, cursor_of, entries_of, query_listing, query_page
from qstash_cli.api.pages import Page
from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported

MAX_BULK_ROUNDS = 100_000  # a server that keeps answering with a cursor cannot loop us forever


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def page(self, cursor: Any, filters: Filters | None = None, *, count: int | None = None) -> Page:
        return query_page(self.t, "/v2/dlq", cursor, filters, count, "messages")

    def listing(
        self,
        filters: Filters | None = None,
        *,
        limit: int | None = None,
        follow: bool = False,
        count: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return query_listing(self.page, filters, limit=limit, follow=follow, count=count, page_max=100)

    def get(self, dlq_id: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v2/dlq/{dlq_id}")

    def retry(self, dlq_ids: list[str], headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """`POST /v2/dlq/retry/{id}` per id (publish headers override the message's settings); yields
        `{dlqId, messageId, ...}` as each is re-published."""
        for dlq_id in dlq_ids:
            data = self.t.json("POST", f"/v2/dlq/retry/{dlq_id}", headers=headers or None, idempotent=False)
            yield {"dlqId": dlq_id, **(data if isinstance(data, dict) else {})}

    def retry_matching(
        self, filters: Filters, headers: dict[str, str] | None = None, *, count: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """`POST /v2/dlq/retry?filters` until the answer has no cursor; yields each `{messageId}` response."""
        filters = _counted(filters, count)
        return self._bulk("POST", "/v2/dlq/retry", filters, lambda data: entries_of(data, "responses"), headers)

    def delete(self, dlq_ids: list[str]) -> dict[str, Any]:
        """One id: `DELETE /v2/dlq/{id}`; several: `DELETE /v2/dlq` with `{"dlqIds": [...]}`."""
        if len(dlq_ids) == 1:
            data = self.t.json("DELETE", f"/v2/dlq/{dlq_ids[0]}", idempotent=True)
        else:
            data = self.t.json("DELETE", "/v2/dlq", json_body={"dlqIds": dlq_ids}, idempotent=True)
        deleted = data.get("deleted") if isinstance(data, dict) else None
        return {"deleted": deleted if isinstance(deleted, int) else len(dlq_ids), "dlqIds": dlq_ids}

    def delete_matching(self, filters: Filters, *, count: int | None = None) -> dict[str, Any]:
        """`DELETE /v2/dlq?filters` until the answer has no cursor; `{"deleted": total}`."""
        total = 0
        for data in self._rounds("DELETE", "/v2/dlq", _counted(filters, count)):
            deleted = data.get("deleted") if isinstance(data, dict) else None
            total += deleted if isinstance(deleted, int) else 0
        return {"deleted": total}

    def _bulk(
        self, method: str, path: str, filters: Filters, items: Any, headers: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        for data in self._rounds(method, path, filters, headers):
            yield from (i for i in items(data) if isinstance(i, dict))

    def _rounds(self, method: str, path: str, filters: Filters, headers: dict[str, str] | None = None) -> Iterator[Any]:
        cursor = None
        for _ in range(MAX_BULK_ROUNDS):
            params = list(filters) + ([("cursor", cursor)] if cursor else [])
            data = self.t.json(
                method, path, params=params or None, headers=headers or None, idempotent=method == "DELETE"
            )
            yield data
            previous, cursor = cursor, cursor_of(data)
            if not cursor or cursor == previous:
                return


def _counted(filters: Filters, count: int | None) -> Filters:
    """The filters plus `count` (entries per request) when given."""
    return [*filters, ("count", count)] if count else list(filters)


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def __getattr__(self, name: str) -> Any:
        raise Unsupported(
            "v1 has no dead-letter queue (failed messages end as FAILED in `qstash --api v1 logs`); use --api v2"
        )
