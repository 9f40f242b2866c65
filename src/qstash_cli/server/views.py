"""JSON shapes of stored objects in each dialect (reference A.4 for v1, B.4 for v2)."""

from __future__ import annotations

import base64
import json
from typing import Any

V2_STATE = {"CANCELLED": "CANCELED"}  # the official SDK enums spell it CANCELED


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def body_fields(body: bytes) -> dict[str, str]:
    """`body` for UTF-8 content, else `bodyBase64`."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bodyBase64": base64.b64encode(body).decode()}


def message_v2(m: Any, task: Any | None = None) -> dict[str, Any]:
    meta = json.loads(m["meta"])
    return _clean(
        {
            "messageId": m["id"],
            "url": (task["url"] if task is not None else m["url"]) or "",
            "topicName": m["topic_name"],
            "endpointName": task["endpoint_name"] if task is not None else None,
            "queueName": m["queue_name"],
            "scheduleId": m["schedule_id"],
            "method": meta.get("method", "POST"),
            "header": meta.get("header", {}),
            **body_fields(bytes(m["body"])),
            "maxRetries": task["max_retries"] if task is not None else meta.get("maxRetries", 3),
            "notBefore": meta.get("notBefore", m["created_at"]),
            "createdAt": m["created_at"],
            "callback": meta.get("callback"),
            "failureCallback": meta.get("failureCallback"),
            "callbackHeader": meta.get("callbackHeader"),
            "failureCallbackHeader": meta.get("failureCallbackHeader"),
            "callerIP": meta.get("callerIP"),
            "label": meta.get("label"),
            "labels": meta.get("labels"),
            "flowControlKey": meta.get("flowControlKey"),
            "parallelism": meta.get("parallelism"),
            "rate": meta.get("rate"),
            "period": meta.get("period"),
            "retryDelayExpression": meta.get("retryDelayExpression"),
            "timeout": meta.get("timeout"),
        }
    )


def message_v1(m: Any, task: Any | None = None) -> dict[str, Any]:
    meta = json.loads(m["meta"])
    settings = _clean(
        {
            "delay": meta.get("delay"),
            "notBefore": meta.get("notBefore"),
            "retries": task["max_retries"] if task is not None else None,
            "callback": meta.get("callback"),
        }
    )
    return _clean(
        {
            "messageId": m["id"],
            "topicId": meta.get("topicId"),
            "topicName": m["topic_name"],
            "endpointId": task["endpoint_id"] if task is not None and m["topic_name"] else None,
            "url": (task["url"] if task is not None else m["url"]) or "",
            "method": meta.get("method", "POST"),
            "header": meta.get("header", {}),
            **body_fields(bytes(m["body"])),
            "createdAt": m["created_at"],
            "scheduleId": m["schedule_id"],
            "destinationType": "topic" if m["topic_name"] else "url",
            "settings": settings,
        }
    )


def task_v1(t: Any) -> dict[str, Any]:
    pending = t["state"] in ("CREATED", "RETRY", "ACTIVE")
    return _clean(
        {
            "taskId": t["id"],
            "messageId": t["message_id"],
            "url": t["url"],
            "endpointId": t["endpoint_id"],
            "state": t["state"],
            "retried": t["retried"],
            "maxRetry": t["max_retries"],
            "createdAt": t["created_at"],
            "completedAt": t["completed_at"],
            "nextProcessAt": t["next_at"] if pending else None,
            "lastErrorAt": t["last_error_at"],
            "error": t["error"],
        }
    )


def log_v1(row: Any) -> dict[str, Any]:
    return _clean(
        {
            "time": row["time"],
            "state": row["state"],
            "messageId": row["message_id"],
            "taskId": row["task_id"],
            "url": row["url"],
            "nextScheduledAt": row["next_delivery_time"] if row["state"] in ("CREATED", "RETRY") else None,
            "error": row["error"],
        }
    )


def event_v1(row: Any) -> dict[str, Any]:
    return _clean(
        {
            "id": str(row["seq"]),
            "time": row["time"],
            "messageId": row["message_id"],
            "taskId": row["task_id"],
            "state": row["state"],
            "nextDeliveryTime": row["next_delivery_time"] if row["state"] in ("CREATED", "RETRY") else None,
            "error": row["error"],
            "url": row["url"],
            "topicName": row["topic_name"],
        }
    )


def log_v2(row: Any, message: Any | None, task: Any | None) -> dict[str, Any]:
    meta = json.loads(message["meta"]) if message is not None else {}
    out = {
        "time": row["time"],
        "messageId": row["message_id"],
        "taskId": row["task_id"],
        "state": V2_STATE.get(row["state"], row["state"]),
        "error": row["error"],
        "nextDeliveryTime": row["next_delivery_time"],
        "url": row["url"] or "",
        "topicName": row["topic_name"],
        "endpointName": row["endpoint_name"],
        "scheduleId": row["schedule_id"],
        "queueName": row["queue_name"],
        "header": meta.get("header"),
        "body": base64.b64encode(bytes(message["body"])).decode() if message is not None else None,
        "method": meta.get("method"),
        "timeout": int(meta["timeout"] * 1000) if meta.get("timeout") else None,
        "callback": meta.get("callback"),
        "failureCallback": meta.get("failureCallback"),
        "callbackHeaders": meta.get("callbackHeader"),
        "failureCallbackHeaders": meta.get("failureCallbackHeader"),
        "maxRetries": task["max_retries"] if task is not None else None,
        "retryDelayExpression": meta.get("retryDelayExpression"),
        "retryDelayExpr": meta.get("retryDelayExpression"),
        "label": meta.get("label"),
        "labels": meta.get("labels"),
        "callerIp": meta.get("callerIP"),
        "flowControlKey": meta.get("flowControlKey"),
    }
    if row["response_status"] is not None:
        headers = json.loads(row["response_header"] or "{}")
        out.update(
            responseStatus=row["response_status"],
            responseHeader=headers,
            responseHeaders=headers,
            responseBody=row["response_body"],
        )
    return _clean(out)


def topic_v1(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "topicId": t["id"],
        "id": t["id"],
        "name": t["name"],
        "endpoints": [endpoint_v1(e) for e in t["endpoints"]],
        "endpointIds": [e["id"] for e in t["endpoints"]],
        "createdAt": t["created_at"],
        "updatedAt": t["updated_at"],
    }


def endpoint_v1(e: dict[str, Any]) -> dict[str, Any]:
    return _clean(
        {"endpointId": e["id"], "id": e["id"], "url": e["url"], "topicId": e["topic_id"], "name": e.get("name")}
    )


def group_v2(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": t["name"],
        "createdAt": t["created_at"],
        "updatedAt": t["updated_at"],
        "endpoints": [_clean({"name": e.get("name"), "url": e["url"]}) for e in t["endpoints"]],
    }


def dlq_v2(row: Any, message: Any) -> dict[str, Any]:
    out = message_v2(message) if message is not None else {"messageId": row["message_id"], "url": row["url"]}
    out.update(
        dlqId=row["id"],
        url=row["url"] or out.get("url", ""),
        responseStatus=row["response_status"] if row["response_status"] is not None else 0,
        responseHeader=json.loads(row["response_header"] or "{}"),
    )
    if row["error"]:
        out["error"] = row["error"]
    body = bytes(row["response_body"] or b"")
    try:
        out["responseBody"] = body.decode("utf-8")
    except UnicodeDecodeError:
        out["responseBodyBase64"] = base64.b64encode(body).decode()
    out.setdefault("method", "POST")
    out.setdefault("maxRetries", 0)
    out.setdefault("notBefore", row["created_at"])
    out.setdefault("createdAt", row["created_at"])
    return out


def schedule_v2(s: Any) -> dict[str, Any]:
    meta = json.loads(s["meta"])
    return _clean(
        {
            "scheduleId": s["id"],
            "cron": s["cron"],
            "destination": s["destination"],
            "createdAt": s["created_at"],
            "method": meta.get("method", "POST"),
            "isPaused": bool(s["paused"]),
            "retries": meta.get("retries", 3),
            "header": meta.get("header", {}),
            **body_fields(bytes(s["body"])),
            "delay": int(meta["delay"]) if meta.get("delay") else None,
            "timeout": int(meta["timeout"]) if meta.get("timeout") else None,
            "callback": meta.get("callback"),
            "failureCallback": meta.get("failureCallback"),
            "callbackHeader": meta.get("callbackHeader"),
            "failureCallbackHeader": meta.get("failureCallbackHeader"),
            "queueName": meta.get("queueName"),
            "callerIP": meta.get("callerIP"),
            "retryDelayExpression": meta.get("retryDelayExpression"),
            "label": meta.get("label"),
            "labels": meta.get("labels"),
            "lastScheduleTime": s["last_at"],
            "nextScheduleTime": s["next_at"],
            "lastScheduleStates": json.loads(s["last_states"] or "{}"),
            "error": s["error"],
        }
    )


def schedule_v1(s: Any, topic: dict[str, Any] | None) -> dict[str, Any]:
    meta = json.loads(s["meta"])
    body = bytes(s["body"])
    destination: dict[str, Any] = {"type": "topic" if topic is not None else "url"}
    if topic is not None:
        destination["topic"] = topic_v1(topic)
    else:
        destination["url"] = s["destination"]
    return {
        "scheduleId": s["id"],
        "cron": s["cron"],
        "createdAt": s["created_at"],
        "content": {"header": meta.get("header", {}), "body": body.decode("utf-8", "replace")},
        "destination": destination,
        "settings": _clean(
            {"delay": meta.get("delay"), "retries": meta.get("retries", 3), "callback": meta.get("callback")}
        ),
        "isPaused": bool(s["paused"]),
    }
