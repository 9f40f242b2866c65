"""Publish: `POST /v{1,2}/publish/{destination}`, v2 enqueue and `/v2/batch`. Destinations are appended raw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qstash_cli.api.transport import Reply, Transport
from qstash_cli.errors import Unsupported


def mark_deduplicated(reply: Reply) -> Any:
    """The answer's JSON; a 202 answer (duplicate publish) is marked `deduplicated: true` if the body did not say."""
    data = reply.data
    if reply.status == 202:
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict):
                item.setdefault("deduplicated", True)
    return data


class _Publish:
    """What both dialects share: `POST /{version}/publish/{destination}` with the answer marked by a 202."""

    version = ""

    def __init__(self, t: Transport) -> None:
        self.t = t

    def _post(self, path: str, body: bytes | None, headers: Mapping[str, str], idempotent: bool) -> Any:
        reply = self.t.send("POST", path, content=body or b"", headers=headers, idempotent=idempotent, expect_body=True)
        return mark_deduplicated(reply)

    def publish(
        self, destination: str, body: bytes | None, headers: Mapping[str, str], *, idempotent: bool = False
    ) -> Any:
        """v2: `{messageId, deduplicated?}` for a URL, a list of `{messageId, url}` for a URL group. v1: `{messageId}`
        (or `{scheduleId}` when the headers carry Upstash-Cron)."""
        return self._post(f"/{self.version}/publish/{destination}", body, headers, idempotent)


class V2(_Publish):
    version = "v2"

    def enqueue(
        self, queue: str, destination: str, body: bytes | None, headers: Mapping[str, str], *, idempotent: bool = False
    ) -> Any:
        return self._post(f"/v2/enqueue/{queue}/{destination}", body, headers, idempotent)

    def batch(self, payload: bytes, *, idempotent: bool = False) -> Any:
        """`POST /v2/batch` with a ready JSON array of `{destination, headers, body, queue?}` items."""
        reply = self.t.send(
            "POST",
            "/v2/batch",
            content=payload,
            headers={"Content-Type": "application/json"},
            idempotent=idempotent,
            expect_body=True,
        )
        return reply.data


class V1(_Publish):
    version = "v1"

    def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("the v1 API has no queues; use --api v2, or drop --queue")

    def batch(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("the v1 API has no /batch endpoint; `qstash publish --batch` sends v1 lines one by one")
