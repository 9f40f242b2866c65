"""Topics: v1 `/v1/topics` (ids `tpc_…`, rename with PUT); v2 URL groups `/v2/topics/{name}` (keyed by name, they exist
only while they have endpoints, no rename)."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import InputError, Unsupported


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        return self.t.json("GET", "/v1/topics") or []

    def get(self, topic: str) -> dict[str, Any]:
        """By id (`tpc_…`) or name."""
        return self.t.json("GET", f"/v1/topics/{topic}")

    def create(self, name: str, endpoints: list[str] | None = None) -> dict[str, Any]:
        """`POST /v1/topics`, then `POST /v1/endpoints` per URL; with endpoints, the topic is read back once."""
        topic = self.t.json("POST", "/v1/topics", json_body={"name": name})
        if not endpoints:
            return topic
        topic_id = topic_id_of(topic) if isinstance(topic, dict) else None
        ref = {"topicId": topic_id} if topic_id else {"topicName": name}
        for url in endpoints:
            self.t.json("POST", "/v1/endpoints", json_body={"url": url, **ref})
        return self.get(topic_id or name)

    def rename(self, topic_id: str, name: str) -> dict[str, Any]:
        return self.t.json("PUT", f"/v1/topics/{topic_id}", json_body={"name": name}, idempotent=True)

    def delete(self, topic: str) -> Any:
        return self.t.json("DELETE", f"/v1/topics/{topic}", idempotent=True)


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self) -> list[dict[str, Any]]:
        return self.t.json("GET", "/v2/topics") or []

    def get(self, name: str) -> dict[str, Any]:
        return self.t.json("GET", f"/v2/topics/{name}")

    def create(self, name: str, endpoints: list[str] | None = None) -> dict[str, Any]:
        """Add the endpoints (creating the group if missing; an upsert), then read the group back."""
        if not endpoints:
            raise InputError("a v2 URL group exists only with endpoints: add --endpoint URL (one or more)")
        body = {"endpoints": [{"url": url} for url in endpoints]}
        self.t.json("POST", f"/v2/topics/{name}/endpoints", json_body=body, idempotent=True)
        return self.get(name)

    def rename(self, topic_id: str, name: str) -> dict[str, Any]:
        raise Unsupported(
            "v2 cannot rename a URL group: create the new one (`qstash topics create NEW --endpoint URL`) "
            "and delete the old one (`qstash topics delete OLD`)"
        )

    def delete(self, name: str) -> Any:
        return self.t.json("DELETE", f"/v2/topics/{name}", idempotent=True)


def topic_id_of(topic: dict[str, Any]) -> str | None:
    """The id of a v1 topic (`topicId`; the v0 SDK spelled it `id`)."""
    value = topic.get("topicId") or topic.get("id")
    return str(value) if value else None
