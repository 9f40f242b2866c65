"""Quota: v1 `GET /v1/quota`; v2 has no quota endpoint."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import Unsupported


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def get(self) -> dict[str, Any]:
        return self.t.json("GET", "/v1/quota")


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def get(self) -> dict[str, Any]:
        raise Unsupported(
            "v2 has no quota endpoint; limits are enforced with 412/429 responses — "
            "see `qstash --api v1 quota` or the Upstash console"
        )
