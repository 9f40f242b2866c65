"""`qstash dev` with hundreds of `* * * * *` schedules: every one fires at the next minute, once, and the server keeps
answering while they do."""

from __future__ import annotations

import time

from tests.reliability.figures import record

SCHEDULES = 300


def test_hundreds_of_every_minute_schedules_all_fire_while_the_server_answers(dev_server_factory, sink) -> None:
    server = dev_server_factory(quiet=True)
    with server.client() as c:
        ids = set()
        for i in range(SCHEDULES):
            r = c.post(f"/v2/schedules/{sink.url}/tick{i}", content=b"t", headers={"Upstash-Cron": "* * * * *"})
            assert r.status_code in (200, 201), r.text
            ids.add(r.json()["scheduleId"])
        assert len(c.get("/v2/schedules").json()) == SCHEDULES
        answered = 0
        fired: set[str] = set()
        deadline = time.monotonic() + 150  # bounded: the next minute boundary plus the deliveries
        while time.monotonic() < deadline and fired != ids:
            assert c.get("/v2/keys", timeout=10).status_code == 200  # still answering while they fire
            answered += 1
            fired = {r.header("upstash-schedule-id") for r in list(sink.requests)} & ids
            time.sleep(0.25)
        per_schedule: dict[str, int] = {}
        for req in list(sink.requests):
            sid = req.header("upstash-schedule-id") or ""
            per_schedule[sid] = per_schedule.get(sid, 0) + 1
    record(
        "every_minute_schedules",
        {
            "schedules": SCHEDULES,
            "fired": len(fired),
            "liveness_answers": answered,
            "most_fires": max(per_schedule.values()),
        },
    )
    assert fired == ids, f"{len(ids - fired)} schedules did not fire"
    assert max(per_schedule.values()) <= 2  # once per minute: at most two boundaries passed while waiting
