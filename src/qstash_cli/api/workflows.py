"""Upstash Workflow (v2 only): runs with their steps `GET /v2/workflows/logs` (string cursor), cancel
`DELETE /v2/workflows/runs` (ids, or filters until nothing is left), notify `POST /v2/notify/[{runId}/]{eventId}`,
waiters `GET /v2/waiters/{eventId}`, and the workflow DLQ: `GET /v2/workflows/dlq[/{id}]`, `DELETE` (one, ids or
filters), `POST …/dlq/resume|restart` (ids or filters, override headers) and `POST …/dlq/callback/{id}`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from qstash_cli.api.logs import Filters, cursor_of, entries_of, query_listing, query_page
from qstash_cli.api.pages import Page
from qstash_cli.api.transport import Transport
from qstash_cli.errors import NotFound, Unsupported

RUNS_PAGE_MAX = 10  # the run view pages 10 runs at most
BULK_COUNT = 100  # what the SDK sends with filter and "all" bulk calls
MAX_BULK_ROUNDS = 100_000  # a server that keeps answering with a cursor cannot loop us forever


def _number(data: Any, key: str) -> int | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _segment(value: str) -> str:
    """One path segment (event ids are free text)."""
    return quote(value, safe="-_.~:@")


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    # -- runs -------------------------------------------------------------------------------------------------
    def runs_page(self, cursor: Any, filters: Filters | None = None, *, count: int | None = None) -> Page:
        return query_page(self.t, "/v2/workflows/logs", cursor, filters, count, "runs")

    def runs(
        self,
        filters: Filters | None = None,
        *,
        limit: int | None = None,
        follow: bool = False,
        count: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return query_listing(self.runs_page, filters, limit=limit, follow=follow, count=count, page_max=RUNS_PAGE_MAX)

    def run(self, run_id: str) -> dict[str, Any]:
        """The newest run with this id (a finished run's id may be used again), with its steps."""
        runs, _ = self.runs_page(None, [("workflowRunId", run_id)])
        for run in runs:
            if isinstance(run, dict) and run.get("workflowRunId") == run_id:
                return run
        raise NotFound(f"no workflow run {run_id!r}", status=404, hint="list the runs with `qstash workflow runs`")

    def cancel(self, run_ids: list[str]) -> dict[str, Any]:
        """`DELETE /v2/workflows/runs?workflowRunIds=…` → `{cancelled, workflowRunIds}`."""
        params = [("workflowRunIds", i) for i in run_ids]
        data = self.t.json("DELETE", "/v2/workflows/runs", params=params, idempotent=True)
        cancelled = _number(data, "cancelled")
        return {"cancelled": len(run_ids) if cancelled is None else cancelled, "workflowRunIds": run_ids}

    def cancel_matching(self, filters: Filters, *, count: int | None = None) -> dict[str, Any]:
        """`DELETE /v2/workflows/runs?filters&count=100` (no filters: every run) until a round cancels nothing."""
        total = 0
        params = [*filters, ("count", count or BULK_COUNT)]
        for _ in range(MAX_BULK_ROUNDS):
            data = self.t.json("DELETE", "/v2/workflows/runs", params=params, idempotent=True)
            cancelled = _number(data, "cancelled") or 0
            total += cancelled
            if cancelled <= 0:
                break
        return {"cancelled": total}

    # -- events -----------------------------------------------------------------------------------------------
    def notify(self, event_id: str, data: bytes | None, run_id: str | None = None) -> list[dict[str, Any]]:
        """`POST /v2/notify/{eventId}` (or `/v2/notify/{runId}/{eventId}`, kept for a run not waiting yet) with the
        event data as the body; one `{waiter, messageId, error}` per notified waiter."""
        path = f"/v2/notify/{_segment(run_id)}/{_segment(event_id)}" if run_id else f"/v2/notify/{_segment(event_id)}"
        answer = self.t.json("POST", path, content=data or b"", idempotent=False)
        return [answer] if isinstance(answer, dict) else entries_of(answer, "waiters", "responses")

    def waiters(self, event_id: str) -> list[dict[str, Any]]:
        return entries_of(self.t.json("GET", f"/v2/waiters/{_segment(event_id)}"), "waiters")

    # -- workflow DLQ -----------------------------------------------------------------------------------------
    def dlq_page(self, cursor: Any, filters: Filters | None = None, *, count: int | None = None) -> Page:
        return query_page(self.t, "/v2/workflows/dlq", cursor, filters, count, "messages")

    def dlq(
        self,
        filters: Filters | None = None,
        *,
        limit: int | None = None,
        follow: bool = False,
        count: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return query_listing(self.dlq_page, filters, limit=limit, follow=follow, count=count, page_max=BULK_COUNT)

    def dlq_get(self, dlq_id: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v2/workflows/dlq/{dlq_id}")

    def dlq_delete(self, dlq_ids: list[str]) -> dict[str, Any]:
        """One id: `DELETE /v2/workflows/dlq/{id}`; several: `DELETE /v2/workflows/dlq?dlqIds=a&dlqIds=b`."""
        if len(dlq_ids) == 1:
            data = self.t.json("DELETE", f"/v2/workflows/dlq/{dlq_ids[0]}", idempotent=True)
        else:
            data = self.t.json("DELETE", "/v2/workflows/dlq", params=[("dlqIds", i) for i in dlq_ids], idempotent=True)
        deleted = _number(data, "deleted")
        return {"deleted": len(dlq_ids) if deleted is None else deleted, "dlqIds": dlq_ids}

    def dlq_delete_matching(self, filters: Filters, *, count: int | None = None) -> dict[str, Any]:
        """`DELETE /v2/workflows/dlq?filters&count=100`, following the cursor; `{"deleted": total}`."""
        total = 0
        for data in self._rounds("DELETE", "/v2/workflows/dlq", filters, count=count):
            total += _number(data, "deleted") or 0
        return {"deleted": total}

    def dlq_start(self, action: str, dlq_ids: list[str], headers: dict[str, str]) -> Iterator[dict[str, Any]]:
        """`POST /v2/workflows/dlq/{resume|restart}?dlqIds=…` with the override headers; yields each new run."""
        params = [("dlqIds", i) for i in dlq_ids]
        data = self.t.json("POST", f"/v2/workflows/dlq/{action}", params=params, headers=headers, idempotent=False)
        yield from (r for r in entries_of(data, "workflowRuns") if isinstance(r, dict))

    def dlq_start_matching(
        self, action: str, filters: Filters, headers: dict[str, str], *, count: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """`POST /v2/workflows/dlq/{resume|restart}?filters&count=100`, following the cursor; yields each new run."""
        for data in self._rounds("POST", f"/v2/workflows/dlq/{action}", filters, headers, count=count):
            yield from (r for r in entries_of(data, "workflowRuns") if isinstance(r, dict))

    def dlq_callback(self, dlq_id: str) -> dict[str, Any]:
        """`POST /v2/workflows/dlq/callback/{id}`: run the failure callback again → `{workflowRunId, ...}`."""
        data = self.t.json("POST", f"/v2/workflows/dlq/callback/{dlq_id}", idempotent=False)
        return {"dlqId": dlq_id, **(data if isinstance(data, dict) else {})}

    def _rounds(
        self,
        method: str,
        path: str,
        filters: Filters,
        headers: dict[str, str] | None = None,
        *,
        count: int | None = None,
    ) -> Iterator[Any]:
        cursor = None
        for _ in range(MAX_BULK_ROUNDS):
            params = [*filters, ("count", count or BULK_COUNT)] + ([("cursor", cursor)] if cursor else [])
            data = self.t.json(method, path, params=params, headers=headers, idempotent=method == "DELETE")
            yield data
            previous, cursor = cursor, cursor_of(data)
            if not cursor or cursor == previous:
                return


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def __getattr__(self, name: str) -> Any:
        raise Unsupported("v1 has no Upstash Workflow API (runs, notify, workflow DLQ); use --api v2")
