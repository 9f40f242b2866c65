"""Crash safety: SIGKILL with accepted, undelivered messages, restart on the same data file, all delivered; and
cron schedules that survive a SIGKILL keep firing on the minute (pause skips)."""

from __future__ import annotations

import threading
import time

import httpx

from tests.server.helpers import wait_until


def _delivered_ids(sink) -> set[str]:
    return {r.header("upstash-message-id") for r in sink.requests if r.status == 200}


def test_sigkill_then_restart_delivers_everything(dev_server_factory, sink):
    server = dev_server_factory(backoff_scale=0.2)  # first retry ~2.4 s after a failure
    sink.respond(status=500, path="/retry", times=10)
    accepted: set[str] = set()
    with server.client() as c:
        for i in range(10):
            accepted.add(c.post(f"/v2/publish/{sink.url}/retry", content=f"r{i}".encode()).json()["messageId"])
        for i in range(30):
            r = c.post(f"/v2/publish/{sink.url}/delayed", content=f"d{i}".encode(), headers={"Upstash-Delay": "2s"})
            accepted.add(r.json()["messageId"])
        c.post("/v2/topics/g/endpoints", json={"endpoints": [{"url": f"{sink.url}/g1"}, {"url": f"{sink.url}/g2"}]})
        for i in range(5):
            r = c.post("/v2/publish/g", content=f"g{i}".encode(), headers={"Upstash-Delay": "1s"})
            accepted |= {m["messageId"] for m in r.json()}
        sink.wait_for(10, path="/retry")  # the first attempts failed; retries are pending
        time.sleep(0.2)
    server.kill()
    assert _delivered_ids(sink) == set()
    server.start()
    wait_until(lambda: _delivered_ids(sink) >= accepted, timeout=20)
    assert len(accepted) == 50


def test_sigkill_under_publishing_load_loses_nothing(dev_server_factory, sink):
    server = dev_server_factory(quiet=True)
    accepted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def publisher(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.auth, timeout=5) as c:
            i = 0
            while not stop.is_set():
                delay = "1s" if i % 3 == 0 else "0s"
                try:
                    r = c.post(
                        f"/v2/publish/{sink.url}/load", content=f"{n}-{i}".encode(), headers={"Upstash-Delay": delay}
                    )
                except httpx.HTTPError:
                    return  # the server died mid-request: not accepted
                if r.status_code == 200:
                    with lock:
                        accepted.append(r.json()["messageId"])
                i += 1

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(accepted) > 200
    server.start()
    wait_until(lambda: _delivered_ids(sink) >= set(accepted), timeout=60, interval=0.2)
    counts: dict[str, int] = {}
    for r in sink.requests:
        if r.status == 200:
            counts[r.header("upstash-message-id")] = counts.get(r.header("upstash-message-id"), 0) + 1
    lost = set(accepted) - set(counts)
    duplicated = sum(1 for mid in accepted if counts.get(mid, 0) > 1)
    print(f"\nSIGKILL under load: accepted={len(accepted)} lost={len(lost)} duplicated={duplicated}")
    assert not lost, f"lost {len(lost)} of {len(accepted)}"


def test_cron_fires_on_the_minute_after_sigkill_and_pause_skips(dev_server, sink):
    if 60 - time.time() % 60 < 6:  # keep the restart away from the minute boundary
        time.sleep(60 - time.time() % 60 + 0.5)
    with dev_server.client() as c:
        r = c.post(
            f"/v2/schedules/{sink.url}/cron",
            content=b"tick",
            headers={"Upstash-Cron": "* * * * *", "Upstash-Schedule-Id": "every-minute"},
        )
        assert r.json() == {"scheduleId": "every-minute"}
        c.post(
            f"/v2/schedules/{sink.url}/paused",
            content=b"no",
            headers={"Upstash-Cron": "CRON_TZ=America/New_York * * * * *", "Upstash-Schedule-Id": "paused"},
        )
        assert c.patch("/v2/schedules/paused/pause").status_code == 200
        next_time = c.get("/v2/schedules/every-minute").json()["nextScheduleTime"]
        assert next_time % 60000 == 0 and 0 < next_time - time.time() * 1000 <= 60000
    dev_server.kill()
    dev_server.start()
    [req] = sink.wait_for(1, timeout=65, path="/cron")
    assert abs(req.time - next_time / 1000) < 1.0
    assert req.body == b"tick" and req.header("upstash-schedule-id") == "every-minute"
    with dev_server.client() as c:
        paused = c.get("/v2/schedules/paused").json()
        assert paused["isPaused"] is True and paused["nextScheduleTime"] > next_time
        after = c.get("/v2/schedules/every-minute").json()
        assert after["lastScheduleTime"] >= next_time and after["nextScheduleTime"] == next_time + 60000
        assert c.post("/v2/schedules/paused/resume").status_code == 200
        assert c.get("/v2/schedules/paused").json()["isPaused"] is False
    time.sleep(0.5)
    assert [r.path for r in sink.requests] == ["/cron"]
