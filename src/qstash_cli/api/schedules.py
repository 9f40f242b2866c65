"""Schedules: v2 `/v2/schedules` (create, list, get, delete, pause, resume); v1 `/v1/schedules` plus create via
`POST /v1/publish/{destination}` with `Upstash-Cron`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import ApiError, Unsupported


def _listing(data: Any, path: str) -> list[dict[str, Any]]:
    """A schedule listing: a JSON array of objects (None = empty); anything else is an API error, not a crash."""
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ApiError(f"unexpected answer from GET {path}: expected a JSON array of schedules")
    return data


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(f"unexpected answer for {what}: expected a JSON object")
    return data


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        return _listing(self.t.json("GET", "/v2/schedules"), "/v2/schedules")

    def get(self, schedule_id: str) -> dict[str, Any]:
        return _object(self.t.json("GET", f"/v2/schedules/{schedule_id}"), f"schedule {schedule_id}")

    def create(
        self, destination: str, body: bytes | None, headers: Mapping[str, str], *, idempotent: bool = False
    ) -> dict[str, Any]:
        """`{scheduleId}`; `Upstash-Schedule-Id` in the headers creates or overwrites that id."""
        return self.t.json(
            "POST", f"/v2/schedules/{destination}", content=body or b"", headers=headers, idempotent=idempotent
        )

    def delete(self, schedule_id: str) -> Any:
        return self.t.json("DELETE", f"/v2/schedules/{schedule_id}", idempotent=True)

    def pause(self, schedule_id: str) -> Any:
        return self.t.json("PATCH", f"/v2/schedules/{schedule_id}/pause", idempotent=True)

    def resume(self, schedule_id: str) -> Any:
        return self.t.json("PATCH", f"/v2/schedules/{schedule_id}/resume", idempotent=True)


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        return _listing(self.t.json("GET", "/v1/schedules"), "/v1/schedules")

    def get(self, schedule_id: str) -> dict[str, Any]:
        return _object(self.t.json("GET", f"/v1/schedules/{schedule_id}"), f"schedule {schedule_id}")

    def create(
        self, destination: str, body: bytes | None, headers: Mapping[str, str], *, idempotent: bool = False
    ) -> dict[str, Any]:
        """v1 creates schedules by publishing with `Upstash-Cron`; the answer is `{scheduleId}`."""
        return self.t.json(
            "POST", f"/v1/publish/{destination}", content=body or b"", headers=headers, idempotent=idempotent
        )

    def delete(self, schedule_id: str) -> Any:
        return self.t.json("DELETE", f"/v1/schedules/{schedule_id}", idempotent=True)

    def pause(self, schedule_id: str) -> Any:
        raise Unsupported("the v1 API cannot pause schedules; use --api v2, or delete the schedule and create it again")

    def resume(self, schedule_id: str) -> Any:
        raise Unsupported("the v1 API cannot resume schedules; use --api v2, or create the schedule again")
