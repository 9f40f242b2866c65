"""Crash safety of `qstash dev`: SIGKILL under a concurrent publishing load (thousands of messages, delays 0–3 s, URL
groups with two endpoints), restart on the same data file, then count: every message that got a 2xx is delivered at
least once (lost must be 0); duplicates (at-least-once) are counted and reported. Schedules survive the kill too."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from tests.reliability.figures import record

PUBLISHERS = 8
KILL_AFTER = 3000  # accepted messages before the SIGKILL (publishing goes on while it lands)
DELAYS = ["0s", "0s", "1s", "2s", "3s"]


def test_sigkill_under_load_loses_nothing(dev_server_factory, sink) -> None:
    server = dev_server_factory(quiet=True)
    with server.client() as c:
        r = c.post(
            "/v2/topics/grp/endpoints", json={"endpoints": [{"url": f"{sink.url}/g1"}, {"url": f"{sink.url}/g2"}]}
        )
        assert r.status_code < 300, r.text
        schedules = []
        for i in range(3):
            r = c.post(f"/v2/schedules/{sink.url}/cron{i}", headers={"Upstash-Cron": "* * * * *"}, content=b"tick")
            assert r.status_code < 300, r.text
            schedules.append(r.json()["scheduleId"])

    accepted: list[str] = []  # message ids of publishes answered 2xx
    group_ids: list[str] = []  # those fanned out to the URL group's two endpoints
    answered_errors = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()

    def publisher(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.auth, timeout=10) as c:
            i = 0
            while not stop.is_set():
                delay = DELAYS[(n + i) % len(DELAYS)]
                to_group = i % 5 == 0
                path = "/v2/publish/grp" if to_group else f"/v2/publish/{sink.url}/m"
                try:
                    r = c.post(path, content=f"{n}-{i}".encode(), headers={"Upstash-Delay": delay})
                except httpx.HTTPError:
                    if killed.is_set():
                        return  # died mid-request: not acknowledged, so not counted as accepted
                    with lock:
                        answered_errors["transport error before the kill"] += 1
                    continue
                if r.status_code < 300:
                    body = r.json()
                    ids = [m["messageId"] for m in body] if isinstance(body, list) else [body["messageId"]]
                    with lock:
                        accepted.extend(ids)
                        if to_group:
                            group_ids.extend(ids)
                else:
                    with lock:
                        answered_errors[r.status_code] += 1
                i += 1

    threads = [threading.Thread(target=publisher, args=(n,), daemon=True) for n in range(PUBLISHERS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    while len(accepted) < KILL_AFTER and time.monotonic() - started < 60:
        time.sleep(0.01)
    killed.set()
    server.kill()  # SIGKILL while the publishers are still sending
    stop.set()
    for t in threads:
        t.join(15)
    accepted_ids = set(accepted)
    delivered_before = len(sink.requests)

    server.start()  # same port, same data file
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivered = {r.header("upstash-message-id") for r in sink.requests if r.status == 200}
        if accepted_ids <= delivered:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # let in-flight duplicates land before counting

    counts = Counter(r.header("upstash-message-id") for r in sink.requests if r.status == 200 and "/cron" not in r.path)
    lost = accepted_ids - set(counts)
    duplicated = {m: n for m, n in counts.items() if n > 1 and m in accepted_ids}
    unacknowledged = set(counts) - accepted_ids  # committed but the 2xx never reached the client (killed)

    with server.client() as c:
        listed = c.get("/v2/schedules").json()
    by_id = {s["scheduleId"]: s for s in listed}
    now_ms = time.time() * 1000

    figures = {
        "publishers": PUBLISHERS,
        "accepted": len(accepted_ids),
        "accepted_via_url_group": len(set(group_ids)),
        "delivered_before_kill": delivered_before,
        "delivered_unique": len(set(counts) & accepted_ids),
        "lost": len(lost),
        "duplicated_messages": len(duplicated),
        "duplicate_deliveries": sum(n - 1 for n in duplicated.values()),
        "delivered_without_ack": len(unacknowledged),
        "errors_answered": {str(k): v for k, v in answered_errors.items()},
        "schedules_created": len(schedules),
        "schedules_after_restart": sum(1 for s in schedules if s in by_id),
    }
    record("sigkill_under_load", figures)

    assert len(accepted_ids) >= KILL_AFTER
    assert not answered_errors, answered_errors
    assert not lost, f"{len(lost)} acknowledged message(s) never delivered, e.g. {sorted(lost)[:5]}"
    # schedules: all there, none doubled, each with its next fire time within the next minute
    assert sorted(by_id) == sorted(schedules) and len(listed) == len(schedules)
    for sid in schedules:
        nxt = by_id[sid].get("nextScheduleTime")
        assert nxt and now_ms - 1000 <= nxt <= now_ms + 61_000, by_id[sid]
