"""Endpoints: v1 `/v1/endpoints` CRUD with ids (`ept_…`); v2 the endpoints inside URL groups, addressed by group name
plus the endpoint's URL or name (`/v2/topics/{name}/endpoints`, add and remove lists; no ids, no update)."""

from __future__ import annotations

from typing import Any

from qstash_cli.api.transport import Transport
from qstash_cli.errors import InputError, NotFound, Unsupported
from qstash_cli.output import unexpected_shape


class V1:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Every endpoint, or those of one topic (id or name) as `GET /v1/topics/{topic}` lists them."""
        if topic:
            return _list((self.t.json("GET", f"/v1/topics/{topic}") or {}).get("endpoints"))
        return self.t.json("GET", "/v1/endpoints") or []

    def create(
        self, url: str, *, topic: str | None = None, topic_id: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        if name:
            raise Unsupported("v1 endpoints have no names (they get an id, ept_…); drop --name or use --api v2")
        if bool(topic) == bool(topic_id):
            raise InputError("give exactly one of --topic NAME or --topic-id ID")
        ref = {"topicId": topic_id} if topic_id else {"topicName": topic}
        return self.t.json("POST", "/v1/endpoints", json_body={"url": url, **ref})

    def get(self, endpoint_id: str, *, name: str | None = None, url: str | None = None) -> dict[str, Any]:
        no_selector(name, url)
        return self.t.json("GET", f"/v1/endpoints/{endpoint_id}")

    def update(
        self,
        endpoint_id: str,
        new_url: str,
        *,
        name: str | None = None,
        url: str | None = None,
        new_name: str | None = None,
    ) -> dict[str, Any]:
        no_selector(name, url)
        if new_name:
            raise Unsupported("v1 endpoints have no names; drop --new-name or use --api v2")
        return self.t.json("PUT", f"/v1/endpoints/{endpoint_id}", json_body={"url": new_url}, idempotent=True)

    def delete(self, endpoint_id: str, *, name: str | None = None, url: str | None = None) -> Any:
        no_selector(name, url)
        return self.t.json("DELETE", f"/v1/endpoints/{endpoint_id}", idempotent=True)


def no_selector(name: str | None, url: str | None) -> None:
    if name or url:
        raise InputError("v1 endpoints are addressed by their id (ept_…), not by --name/--endpoint", hint=_V1_HINT)


_V1_HINT = "list them with `qstash --api v1 endpoints list`"


class V2:
    def __init__(self, t: Transport) -> None:
        self.t = t

    def list(self, topic: str | None = None) -> list[dict[str, Any]]:
        """The endpoints of every URL group (or of one), flattened to `{topicName, name?, url}`."""
        groups = [self.t.json("GET", f"/v2/topics/{topic}")] if topic else self.t.json("GET", "/v2/topics") or []
        if not isinstance(groups, list):
            raise unexpected_shape("a list of URL groups", groups)
        return [row for group in groups if isinstance(group, dict) for row in flatten(group)]

    def create(
        self, url: str, *, topic: str | None = None, topic_id: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """Add one endpoint to a group (created if missing), then read it back from the group."""
        if topic_id:
            raise Unsupported("v2 URL groups have no ids; use --topic NAME")
        if not topic:
            raise InputError("missing --topic NAME: the URL group to add the endpoint to")
        self._add(topic, url, name)
        return self._read_back(topic, name=name, url=url)

    def get(self, topic: str, *, name: str | None = None, url: str | None = None) -> dict[str, Any]:
        one_selector(name, url)
        return self._find(topic, name=name, url=url)

    def update(
        self,
        topic: str,
        new_url: str,
        *,
        name: str | None = None,
        url: str | None = None,
        new_name: str | None = None,
    ) -> dict[str, Any]:
        """A replace (v2 has no update): find the old endpoint, remove it, add the new one, read it back."""
        one_selector(name, url)
        old = self._find(topic, name=name, url=url)
        keep_name = new_name or old.get("name")
        self.remove(topic, name=name, url=url)
        self._add(topic, new_url, keep_name)
        return self._read_back(topic, name=keep_name, url=new_url)

    def delete(self, topic: str, *, name: str | None = None, url: str | None = None) -> Any:
        one_selector(name, url)
        return self.remove(topic, name=name, url=url)

    def remove(self, topic: str, *, name: str | None = None, url: str | None = None) -> Any:
        """`DELETE /v2/topics/{topic}/endpoints` with a JSON body naming the endpoint by name or url."""
        item = {"name": name} if name else {"url": url}
        return self.t.json("DELETE", f"/v2/topics/{topic}/endpoints", json_body={"endpoints": [item]}, idempotent=True)

    def _add(self, topic: str, url: str, name: str | None) -> None:
        item = {"url": url, "name": name} if name else {"url": url}
        self.t.json("POST", f"/v2/topics/{topic}/endpoints", json_body={"endpoints": [item]}, idempotent=True)

    def _read_back(self, topic: str, *, name: str | None, url: str) -> dict[str, Any]:
        """The endpoint just written, as the group now lists it (as sent, if the server stored it differently)."""
        try:
            return self._find(topic, name=name, url=url)
        except NotFound:
            return {"topicName": topic, **({"name": name} if name else {}), "url": url}

    def _find(self, topic: str, *, name: str | None, url: str | None) -> dict[str, Any]:
        group = self.t.json("GET", f"/v2/topics/{topic}") or {}
        for row in flatten(group if isinstance(group, dict) else {}, topic):
            if (not name or row.get("name") == name) and (not url or row.get("url") == url):
                return row
        what = f"named {name!r}" if name else f"with URL {url!r}"
        raise NotFound(
            f"no endpoint {what} in URL group {topic!r}", hint=f"see `qstash endpoints list --topic {topic}`"
        )


def check_selector(api: str, name: str | None, url: str | None) -> None:
    """Raise InputError unless the selectors fit the dialect (v1: none; v2: exactly one of name/url)."""
    (no_selector if api == "v1" else one_selector)(name, url)


def flatten(group: dict[str, Any], topic: str | None = None) -> list[dict[str, Any]]:
    """A URL group's endpoints as rows that carry the group's name."""
    name = group.get("name") or topic
    return [{"topicName": name, **e} for e in _list(group.get("endpoints")) if isinstance(e, dict)]


def _list(value: Any) -> list[Any]:
    """A JSON list from the API, or no items when the answer holds something else there (`"endpoints": 5`)."""
    return value if isinstance(value, list) else []


def one_selector(name: str | None, url: str | None) -> None:
    if bool(name) == bool(url):
        raise InputError(
            "name the endpoint with exactly one of --name NAME or --endpoint URL (v2 endpoints have no ids)",
            hint="see `qstash endpoints list --topic TOPIC`",
        )
