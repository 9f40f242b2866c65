"""JSON shapes shared by several resources: the v2 message (messages, DLQ), body fields, dropping nulls."""

from __future__ import annotations

import base64
import json
from typing import Any

from qstash_cli.server import redact

V2_STATE = {"CANCELLED": "CANCELED"}  # the official SDK enums spell it CANCELED


def clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def body_fields(body: bytes) -> dict[str, str]:
    """`body` for UTF-8 content, else `bodyBase64`."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bodyBase64": base64.b64encode(body).decode()}


def message_v2(m: Any, task: Any | None = None) -> dict[str, Any]:
    meta = json.loads(m["meta"])
    return clean(
        {
            "messageId": m["id"],
            "url": (task["url"] if task is not None else m["url"]) or "",
            "topicName": m["topic_name"],
            "endpointName": task["endpoint_name"] if task is not None else None,
            "queueName": m["queue_name"],
            "scheduleId": m["schedule_id"],
            "method": meta.get("method", "POST"),
            "header": redact.header(meta, meta.get("header", {})),
            **body_fields(redact.body(meta, bytes(m["body"]))),
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
