"""Flow control (v2 only): `GET /v2/flowControl[?search=]`, `GET /v2/flowControl/{key}`, `POST …/{key}/pause|resume|
pin|unpin|resetRate`, and `GET /v2/globalParallelism`."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self, search: str | None = None) -> list[dict[str, Any]]:
        return self.t.json("GET", "/v2/flowControl", params={"search": search} if search else None) or []

    def get(self, key: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v2/flowControl/{key}")

    def global_parallelism(self) -> dict[str, Any]:
        return self.t.json("GET", "/v2/globalParallelism")

    def pause(self, key: str) -> Any:
        return self.t.json("POST", f"/v2/flowControl/{key}/pause", idempotent=True)

    def resume(self, key: str) -> Any:
        return self.t.json("POST", f"/v2/flowControl/{key}/resume", idempotent=True)

    def pin(self, key: str, *, parallelism: int | None, rate: int | None, period: int | None) -> Any:
        """Fix the key's limits (`?parallelism=&rate=&period=` seconds): incoming messages' settings are ignored."""
        params = [(k, str(v)) for k, v in (("parallelism", parallelism), ("rate", rate), ("period", period)) if v]
        return self.t.json("POST", f"/v2/flowControl/{key}/pin", params=params or None, idempotent=True)

    def unpin(self, key: str, *, parallelism: bool, rate: bool) -> Any:
        params = [("parallelism", str(parallelism).lower()), ("rate", str(rate).lower())]
        return self.t.json("POST", f"/v2/flowControl/{key}/unpin", params=params, idempotent=True)

    def reset_rate(self, key: str) -> Any:
        return self.t.json("POST", f"/v2/flowControl/{key}/resetRate", idempotent=True)


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def __getattr__(self, name: str) -> Any:
        raise Unsupported("v1 has no flow control; use --api v2")
