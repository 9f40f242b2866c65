"""Small helpers shared by the server tests."""

from __future__ import annotations

import time
from typing import Any

import httpx


def wait_until(fn: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Call `fn` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def states(client: httpx.Client, message_id: str) -> list[str]:
    """The message's log states, oldest first (v2 events)."""
    events = client.get("/v2/events", params={"messageId": message_id, "order": "earliestFirst"}).json()["events"]
    return [e["state"] for e in events]


def dlq_entries(client: httpx.Client) -> list[dict]:
    return client.get("/v2/dlq").json()["messages"]
