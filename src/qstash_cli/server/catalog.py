"""Database jobs for topics (v2 URL groups), endpoints and queues. One model behind both dialects: a v2 URL group
is a v1 topic with a stable `tpc_` id, and its endpoints carry `ept_` ids."""

from __future__ import annotations

import sqlite3
from typing import Any

from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.parse import BadValue
from qstash_cli.server.publishing import LimitError, check_name, check_url
from qstash_cli.server.quota import Quota

Conn = sqlite3.Connection


class NotFound(LookupError):
    """Answered with 404."""


def _topic(conn: Conn, row: Any) -> dict[str, Any]:
    endpoints = conn.execute(
        "SELECT id, url, name, topic_id FROM endpoints WHERE topic_id = ? ORDER BY created_at, id", (row["id"],)
    ).fetchall()
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "endpoints": [dict(e) for e in endpoints],
    }


def topic_get(conn: Conn, key: str) -> dict[str, Any] | None:
    """A topic by id or name."""
    row = conn.execute("SELECT * FROM topics WHERE id = ? OR name = ?", (key, key)).fetchone()
    return _topic(conn, row) if row is not None else None


def topic_require(conn: Conn, key: str) -> dict[str, Any]:
    topic = topic_get(conn, key)
    if topic is None:
        raise NotFound(f"topic {key!r} not found")
    return topic


def topic_list(conn: Conn) -> list[dict[str, Any]]:
    return [_topic(conn, r) for r in conn.execute("SELECT * FROM topics ORDER BY created_at, name").fetchall()]


def topic_create(conn: Conn, name: str, now: int, quota: Quota) -> dict[str, Any]:
    """Create a topic (or return the existing one of that name)."""
    check_name(name, "topic name")
    existing = conn.execute("SELECT * FROM topics WHERE name = ?", (name,)).fetchone()
    if existing is not None:
        return _topic(conn, existing)
    if conn.execute("SELECT COUNT(*) FROM topics").fetchone()[0] >= quota.max_topics:
        raise LimitError(f"the {quota.name} plan allows at most {quota.max_topics} topics")
    conn.execute(
        "INSERT INTO topics (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", (new_id("tpc"), name, now, now)
    )
    return topic_require(conn, name)


def topic_rename(conn: Conn, key: str, name: str, now: int) -> dict[str, Any]:
    topic = topic_require(conn, key)
    check_name(name, "topic name")
    clash = conn.execute("SELECT id FROM topics WHERE name = ?", (name,)).fetchone()
    if clash is not None and clash[0] != topic["id"]:
        raise BadValue(f"a topic named {name!r} already exists")
    conn.execute("UPDATE topics SET name = ?, updated_at = ? WHERE id = ?", (name, now, topic["id"]))
    return topic_require(conn, topic["id"])


def topic_delete(conn: Conn, key: str, missing_ok: bool = False) -> None:
    """Delete a topic and its endpoints; an unknown one is NotFound unless `missing_ok` (v2 is idempotent)."""
    topic = topic_get(conn, key) if missing_ok else topic_require(conn, key)
    if topic is None:
        return
    conn.execute("DELETE FROM endpoints WHERE topic_id = ?", (topic["id"],))
    conn.execute("DELETE FROM topics WHERE id = ?", (topic["id"],))


def endpoint_get(conn: Conn, endpoint_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT id, url, name, topic_id FROM endpoints WHERE id = ?", (endpoint_id,)).fetchone()
    if row is None:
        raise NotFound(f"endpoint {endpoint_id!r} not found")
    return dict(row)


def endpoint_list(conn: Conn) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, url, name, topic_id FROM endpoints ORDER BY created_at, id").fetchall()
    return [dict(r) for r in rows]


def endpoint_create(conn: Conn, topic_key: str, url: str, now: int, quota: Quota) -> dict[str, Any]:
    """v1: subscribe a URL to a topic (the topic must exist)."""
    topic = topic_require(conn, topic_key)
    check_url(url, "endpoint url")
    for e in topic["endpoints"]:
        if e["url"] == url:
            return e
    if len(topic["endpoints"]) >= quota.max_endpoints_per_topic:
        raise LimitError(f"the {quota.name} plan allows at most {quota.max_endpoints_per_topic} endpoints per topic")
    endpoint_id = new_id("ept")
    conn.execute(
        "INSERT INTO endpoints (id, topic_id, url, name, created_at) VALUES (?, ?, ?, NULL, ?)",
        (endpoint_id, topic["id"], url, now),
    )
    conn.execute("UPDATE topics SET updated_at = ? WHERE id = ?", (now, topic["id"]))
    return endpoint_get(conn, endpoint_id)


def endpoint_update(conn: Conn, endpoint_id: str, url: str, now: int) -> dict[str, Any]:
    endpoint = endpoint_get(conn, endpoint_id)
    check_url(url, "endpoint url")
    conn.execute("UPDATE endpoints SET url = ? WHERE id = ?", (url, endpoint_id))
    conn.execute("UPDATE topics SET updated_at = ? WHERE id = ?", (now, endpoint["topic_id"]))
    return endpoint_get(conn, endpoint_id)


def endpoint_delete(conn: Conn, endpoint_id: str) -> None:
    endpoint_get(conn, endpoint_id)
    conn.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,))


def group_upsert(conn: Conn, name: str, endpoints: list[dict[str, Any]], now: int, quota: Quota) -> None:
    """v2: add endpoints to a URL group, creating the group when missing; same URL or name updates in place."""
    topic = topic_get(conn, name) if name else None
    if topic is None:
        topic = topic_create(conn, name, now, quota)
    current = topic["endpoints"]
    for item in endpoints:
        url, ep_name = item["url"], item.get("name")
        match = next((e for e in current if e["url"] == url or (ep_name and e["name"] == ep_name)), None)
        if match is not None:
            conn.execute(
                "UPDATE endpoints SET url = ?, name = ? WHERE id = ?", (url, ep_name or match["name"], match["id"])
            )
            continue
        if len(current) >= quota.max_endpoints_per_topic:
            raise LimitError(
                f"the {quota.name} plan allows at most {quota.max_endpoints_per_topic} endpoints per url group"
            )
        endpoint_id = new_id("ept")
        conn.execute(
            "INSERT INTO endpoints (id, topic_id, url, name, created_at) VALUES (?, ?, ?, ?, ?)",
            (endpoint_id, topic["id"], url, ep_name, now),
        )
        current.append({"id": endpoint_id, "url": url, "name": ep_name})
    conn.execute("UPDATE topics SET updated_at = ? WHERE id = ?", (now, topic["id"]))


def group_remove(conn: Conn, name: str, endpoints: list[dict[str, Any]], now: int) -> None:
    """v2: remove endpoints (matched by url or name); removing the last one deletes the group."""
    topic = topic_require(conn, name)
    for item in endpoints:
        for e in topic["endpoints"]:
            if (item.get("url") and e["url"] == item["url"]) or (item.get("name") and e["name"] == item["name"]):
                conn.execute("DELETE FROM endpoints WHERE id = ?", (e["id"],))
    left = conn.execute("SELECT COUNT(*) FROM endpoints WHERE topic_id = ?", (topic["id"],)).fetchone()[0]
    if left == 0:
        conn.execute("DELETE FROM topics WHERE id = ?", (topic["id"],))
    else:
        conn.execute("UPDATE topics SET updated_at = ? WHERE id = ?", (now, topic["id"]))


# -- queues -----------------------------------------------------------------------------------------------------


def queue_upsert(conn: Conn, name: str, parallelism: int, paused: bool | None, now: int, quota: Quota) -> dict:
    check_name(name, "queue name")
    if parallelism < 1:
        raise BadValue("parallelism must be at least 1")
    if parallelism > quota.max_parallelism:
        raise LimitError(f"the {quota.name} plan allows a parallelism of at most {quota.max_parallelism}")
    row = conn.execute("SELECT * FROM queues WHERE name = ?", (name,)).fetchone()
    if row is None:
        if conn.execute("SELECT COUNT(*) FROM queues").fetchone()[0] >= quota.max_queues:
            raise LimitError(f"the {quota.name} plan allows at most {quota.max_queues} queues")
        conn.execute("INSERT INTO queues VALUES (?, ?, ?, ?, ?)", (name, parallelism, int(bool(paused)), now, now))
    else:
        conn.execute(
            "UPDATE queues SET parallelism = ?, paused = COALESCE(?, paused), updated_at = ? WHERE name = ?",
            (parallelism, None if paused is None else int(paused), now, name),
        )
    return queue_get(conn, name)


def queue_ensure(conn: Conn, name: str, now: int) -> dict:
    """The queue, created with parallelism 1 if missing (enqueue)."""
    row = conn.execute("SELECT * FROM queues WHERE name = ?", (name,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO queues VALUES (?, 1, 0, ?, ?)", (name, now, now))
    return queue_get(conn, name)


def queue_get(conn: Conn, name: str) -> dict:
    row = conn.execute("SELECT * FROM queues WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"queue {name!r} not found")
    lag = conn.execute(
        "SELECT COUNT(*) FROM tasks WHERE queue_name = ? AND state IN ('CREATED', 'RETRY', 'ACTIVE')", (name,)
    ).fetchone()[0]
    return {
        "name": row["name"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "parallelism": row["parallelism"],
        "lag": lag,
        "paused": bool(row["paused"]),
    }


def queue_list(conn: Conn) -> list[dict]:
    return [queue_get(conn, r[0]) for r in conn.execute("SELECT name FROM queues ORDER BY created_at").fetchall()]


def queue_set_paused(conn: Conn, name: str, paused: bool, now: int | None = None) -> dict:
    queue_get(conn, name)
    conn.execute("UPDATE queues SET paused = ?, updated_at = ? WHERE name = ?", (int(paused), now or now_ms(), name))
    return queue_get(conn, name)


def queue_delete(conn: Conn, name: str) -> None:
    queue_get(conn, name)
    conn.execute("DELETE FROM queues WHERE name = ?", (name,))
