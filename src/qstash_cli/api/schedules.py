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


class _Schedules:
    """What both dialects share: list, get and delete under `/{version}/schedules`, and create by POST."""

    version = ""
    create_path = ""  # where a schedule is created: v2 `/v2/schedules/`, v1 publishes with Upstash-Cron

    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        path = f"/{self.version}/schedules"
        return _listing(self.t.json("GET", path), path)

    def get(self, schedule_id: str) -> dict[str, Any]:
        return _object(self.t.json("GET", f"/{self.version}/schedules/{schedule_id}"), f"schedule {schedule_id}")

    def create(
        self, destination: str, body: bytes | None, headers: Mapping[str, str], *, idempotent: bool = False
    ) -> dict[str, Any]:
        """`{scheduleId}`. v2: `Upstash-Schedule-Id` in the headers creates or overwrites that id. v1 creates
        schedules by publishing with `Upstash-Cron`."""
        return self.t.json(
            "POST",
            f"{self.create_path}{destination}",
            content=body or b"",
            headers=headers,
            idempotent=idempotent,
            expect_body=True,
        )

    def delete(self, schedule_id: str) -> Any:
        return self.t.json("DELETE", f"/{self.version}/schedules/{schedule_id}", idempotent=True)


class V2(_Schedules):
    version = "v2"
    create_path = "/v2/schedules/"

    def pause(self, schedule_id: str) -> Any:
        return self.t.json("PATCH", f"/v2/schedules/{schedule_id}/pause", idempotent=True)

    def resume(self, schedule_id: str) -> Any:
        return self.t.json("PATCH", f"/v2/schedules/{schedule_id}/resume", idempotent=True)


class V1(_Schedules):
    version = "v1"
    create_path = "/v1/publish/"

    def pause(self, schedule_id: str) -> Any:
        raise Unsupported("the v1 API cannot pause schedules; use --api v2, or delete the schedule and create it again")

    def resume(self, schedule_id: str) -> Any:
        raise Unsupported("the v1 API cannot resume schedules; use --api v2, or create the schedule again")
