"""`qstash messages` and `qstash tasks` against a real `qstash dev` and a real sink: the story of a delivered
message in both dialects, cancelling a delayed message, and `messages cancel --all`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `check()` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def states(live, message_id: str, *args: str) -> list[str]:
    """The message's log states, oldest first (v2 events)."""
    entries = live("logs", "--message-id", message_id, "--order", "earliestFirst", "--all", "--json", *args).json
    return [e["state"] for e in entries]


def test_delivered_message_story_in_both_dialects(live, sink, dev_server_factory, monkeypatch) -> None:
    # a server that forgets delivered messages at once (no grace window), so `messages get` falls back to events
    monkeypatch.setenv("QSTASH_URL", dev_server_factory(message_grace="0").url)
    mid = live("publish", f"{sink.url}/ok", "-d", "hello", "-q").stdout.strip()
    assert sink.wait_for(1)[0].body == b"hello"
    assert eventually(lambda: "DELIVERED" in states(live, mid), what="DELIVERED event")
    assert states(live, mid) == ["CREATED", "ACTIVE", "DELIVERED"]

    # v2: list derived from events, get falls back to the latest event, tasks = events, task summary
    listed = live("messages", "list", "--json").json
    assert [(m["messageId"], m["state"]) for m in listed] == [(mid, "DELIVERED")]
    got = live("messages", "get", mid)
    assert "state\tDELIVERED" in got.stdout.splitlines() and "no longer in flight" in got.stderr
    assert [e["state"] for e in live("messages", "tasks", mid, "--json").json] == ["DELIVERED", "ACTIVE", "CREATED"]
    task = live("tasks", "get", mid, "--json").json
    assert (task["state"], task["attempts"], task["url"]) == ("DELIVERED", 1, f"{sink.url}/ok")
    assert live("tasks", "logs", mid, "--endpoint", f"{sink.url}/ok", "-q").stdout.split() == [mid] * 3

    # v1: the seed's list / get / tasks / task get / task logs
    assert live("--api", "v1", "messages", "list", "-q").stdout.split() == [mid]
    assert live("--api", "v1", "messages", "get", mid, "--json").json["url"] == f"{sink.url}/ok"
    tasks = live("--api", "v1", "messages", "tasks", mid, "--json").json
    assert [t["state"] for t in tasks] == ["DELIVERED"]
    task_id = tasks[0]["taskId"]
    assert live("--api", "v1", "tasks", "get", task_id, "--json").json["state"] == "DELIVERED"
    logged = live("--api", "v1", "tasks", "logs", task_id, "--json").json
    assert [e["state"].upper() for e in logged] == ["DELIVERED", "ACTIVE", "CREATED"]


def test_failing_message_story(live, sink) -> None:
    sink.respond(status=500)
    mid = live("publish", f"{sink.url}/fail", "-d", "x", "--retries", "1", "-q").stdout.strip()
    assert eventually(lambda: "FAILED" in states(live, mid), what="FAILED event")
    assert states(live, mid) == ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "FAILED"]
    assert len(sink.requests) == 2  # 1 + 1 retry
    task = live("tasks", "get", mid, "--json").json
    assert (task["state"], task["attempts"], task["responseStatus"]) == ("FAILED", 2, 500)
    v1_task = live("--api", "v1", "messages", "tasks", mid, "--json").json[0]
    assert (v1_task["state"], v1_task["retried"], v1_task["maxRetry"]) == ("FAILED", 1, 1)
    assert live("messages", "list").stdout.splitlines()[1].startswith(f"{mid}\tFAILED\t{sink.url}/fail\t")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_cancelled_delayed_message_is_never_delivered(live, sink, api) -> None:
    mid = live("publish", f"{sink.url}/cancelled", "-d", "no", "--delay", "1s", "-q").stdout.strip()
    in_flight = live("--api", api, "messages", "get", mid, "--json").json
    assert in_flight["messageId"] == mid
    live("--api", api, "messages", "cancel", mid, code=2)  # no terminal, no --yes: refused, nothing sent
    r = live("--api", api, "messages", "cancel", mid, "--yes", "-q")
    assert r.stdout == "1\n"
    # a marker due after the cancelled message would have been: once it arrives, the cancelled one is late
    live("publish", f"{sink.url}/marker", "-d", "yes", "--delay", "2s", "-q")
    assert [r.path for r in sink.wait_for(1, timeout=15)] == ["/marker"]
    assert states(live, mid)[-1] in ("CANCELED", "CANCELLED")
    live("messages", "get", mid)  # v2: not in flight any more, shows the CANCELED event
    assert live("messages", "get", mid, "--json").json["state"] in ("CANCELED", "CANCELLED")


def test_cancel_all_cancels_every_delayed_message(live, sink) -> None:
    ids = [live("publish", f"{sink.url}/later", "-d", str(i), "--delay", "1h", "-q").stdout.strip() for i in range(3)]
    refused = live("messages", "cancel", code=2)
    assert "--all" in refused.stderr
    live("messages", "cancel", "--all", code=2)  # no --yes without a terminal
    live("--api", "v1", "messages", "cancel", "--all", "--yes", code=2)  # v1: no bulk cancel
    assert all(live("messages", "get", i, "--json").json["messageId"] == i for i in ids)  # all still in flight

    assert live("messages", "cancel", "--all", "--yes", "--json").json == {"cancelled": 3}
    cancelled = live("logs", "--state", "CANCELED", "-q").stdout.split()
    assert sorted(cancelled) == sorted(ids)
    assert live("messages", "cancel", "--all", "--yes", "-q").stdout == "0\n"
    assert sink.requests == []


def test_cancel_all_with_a_filter_keeps_the_others(live, sink) -> None:
    keep = live("publish", f"{sink.url}/keep", "-d", "k", "--delay", "1h", "-q").stdout.strip()
    drop = live("publish", f"{sink.url}/drop", "-d", "d", "--delay", "1h", "-q").stdout.strip()
    r = live("messages", "cancel", "--all", "--endpoint", f"{sink.url}/drop", "--yes", "--json")
    assert r.json == {"cancelled": 1}
    live("messages", "get", keep, "--json")
    assert live("messages", "get", drop, "--json").json["state"] in ("CANCELED", "CANCELLED")
    two = live("messages", "cancel", keep, drop, "--yes", "--json").json  # JSON-body form, one still pending
    assert two["messageIds"] == [keep, drop]
