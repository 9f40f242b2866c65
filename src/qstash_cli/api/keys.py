"""Signing keys: `GET /v{1,2}/keys` and `POST /v{1,2}/keys/rotate` (the same in both dialects)."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport


class V2:
    prefix = "/v2"

    def __init__(self, t: Transport) -> None:
        self.t = t

    def get(self) -> dict[str, Any]:
        return self.t.json("GET", f"{self.prefix}/keys")

    def rotate(self) -> dict[str, Any]:
        """The old next key becomes current and a new next key is generated. Never retried."""
        return self.t.json("POST", f"{self.prefix}/keys/rotate", idempotent=False, expect_body=True)


class V1(V2):
    prefix = "/v1"
