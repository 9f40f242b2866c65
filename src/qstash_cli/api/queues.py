"""Queues (v2 only): `GET|POST /v2/queues`, `GET|DELETE /v2/queues/{name}`, `POST /v2/queues/{name}/pause|resume`."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        return self.t.json("GET", "/v2/queues") or []

    def get(self, name: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v2/queues/{name}")

    def upsert(self, name: str, parallelism: int | None = None, paused: bool | None = None) -> Any:
        """Create the queue or change its settings (`POST /v2/queues`; fields left out keep the server's default)."""
        body: dict[str, Any] = {"queueName": name}
        if parallelism is not None:
            body["parallelism"] = parallelism
        if paused is not None:
            body["paused"] = paused
        return self.t.json("POST", "/v2/queues", json_body=body, idempotent=True)

    def delete(self, name: str) -> Any:
        return self.t.json("DELETE", f"/v2/queues/{name}", idempotent=True)

    def pause(self, name: str) -> Any:
        return self.t.json("POST", f"/v2/queues/{name}/pause", idempotent=True)

    def resume(self, name: str) -> Any:
        return self.t.json("POST", f"/v2/queues/{name}/resume", idempotent=True)


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def __getattr__(self, name: str) -> Any:
        raise Unsupported("v1 has no queues; use --api v2")
