"""The official `qstash` Python SDK, pointed at `qstash dev` with base_url, runs its calls without error."""

from __future__ import annotations

import time

import pytest
from qstash import QStash, Receiver
from qstash.errors import QStashError


@pytest.fixture
def qs(dev_server):
    return QStash(dev_server.token, base_url=dev_server.url)


def _verify(dev_server, req, url):
    Receiver(dev_server.current_key, dev_server.next_key).verify(
        signature=req.header("upstash-signature"), body=req.text, url=url
    )


def test_publish_and_publish_json(qs, dev_server, sink):
    res = qs.message.publish(url=f"{sink.url}/a", body="hello", headers={"X-Test": "1"}, retries=1)
    assert res.message_id.startswith("msg_")
    res2 = qs.message.publish_json(url=f"{sink.url}/b", body={"k": [1, 2]}, method="PUT")
    reqs = sink.wait_for(2)
    by_path = {r.path: r for r in reqs}
    assert by_path["/a"].body == b"hello" and by_path["/a"].header("x-test") == "1"
    assert by_path["/b"].method == "PUT" and by_path["/b"].header("content-type") == "application/json"
    assert by_path["/b"].header("upstash-message-id") == res2.message_id
    for path, req in by_path.items():
        _verify(dev_server, req, sink.url + path)


def test_batch_and_batch_json(qs, sink):
    out = qs.message.batch([{"url": f"{sink.url}/b{i}", "body": f"m{i}"} for i in range(3)])
    assert len(out) == 3 and all(r.message_id for r in out)
    out2 = qs.message.batch_json([{"url": f"{sink.url}/j", "body": {"x": 1}}])
    assert out2[0].message_id
    reqs = sink.wait_for(4)
    assert sorted(r.body for r in reqs if r.path.startswith("/b")) == [b"m0", b"m1", b"m2"]
    assert [r.body for r in reqs if r.path == "/j"] == [b'{"x": 1}']


def test_url_groups(qs, sink):
    qs.url_group.upsert_endpoints(
        url_group="grp", endpoints=[{"url": f"{sink.url}/e1"}, {"url": f"{sink.url}/e2", "name": "two"}]
    )
    group = qs.url_group.get("grp")
    assert group.name == "grp" and {e.url for e in group.endpoints} == {f"{sink.url}/e1", f"{sink.url}/e2"}
    assert [g.name for g in qs.url_group.list()] == ["grp"]
    res = qs.message.publish(url_group="grp", body="fan")
    assert len(res) == 2 and {r.url for r in res} == {f"{sink.url}/e1", f"{sink.url}/e2"}
    reqs = sink.wait_for(2)
    assert {r.path for r in reqs} == {"/e1", "/e2"}
    assert all(r.header("upstash-topic-name") == "grp" for r in reqs)
    qs.url_group.remove_endpoints(url_group="grp", endpoints=[{"url": f"{sink.url}/e1"}])
    assert [e.url for e in qs.url_group.get("grp").endpoints] == [f"{sink.url}/e2"]
    qs.url_group.delete("grp")
    assert qs.url_group.list() == []
    with pytest.raises(QStashError, match="404"):
        qs.url_group.get("grp")


def test_schedules(qs, sink):
    sid = qs.schedule.create(destination=f"{sink.url}/cron", cron="*/5 * * * *", body="tick", retries=2)
    assert sid.startswith("scd_")
    same = qs.schedule.create(destination=f"{sink.url}/cron2", cron="0 * * * *", schedule_id="my-sched")
    assert same == "my-sched"
    qs.schedule.create(destination=f"{sink.url}/cron3", cron="CRON_TZ=Europe/Berlin 0 9 * * *", schedule_id="my-sched")
    s = qs.schedule.get("my-sched")
    assert s.cron == "CRON_TZ=Europe/Berlin 0 9 * * *" and s.destination == f"{sink.url}/cron3"
    assert s.next_schedule_time > time.time() * 1000
    got = qs.schedule.get(sid)
    assert got.body == "tick" and got.retries == 2 and got.paused is False
    assert {x.schedule_id for x in qs.schedule.list()} == {sid, "my-sched"}
    qs.schedule.pause(sid)
    assert qs.schedule.get(sid).paused is True
    qs.schedule.resume(sid)
    assert qs.schedule.get(sid).paused is False
    qs.schedule.delete(sid)
    assert [x.schedule_id for x in qs.schedule.list()] == ["my-sched"]


def test_signing_keys_and_rotation(qs, dev_server, sink):
    keys = qs.signing_key.get()
    assert (keys.current, keys.next) == (dev_server.current_key, dev_server.next_key)
    rotated = qs.signing_key.rotate()
    assert rotated.current == keys.next and rotated.next.startswith("sig_") and rotated.next != keys.next
    qs.message.publish(url=f"{sink.url}/after", body="x")
    [req] = sink.wait_for(1)
    Receiver(rotated.current, rotated.next).verify(signature=req.header("upstash-signature"), body="x")
    from qstash_cli import signing

    verdict = signing.verify(req.header("upstash-signature"), b"x", [("old", keys.current), ("new", rotated.current)])
    assert [c.ok for c in verdict.checks] == [False, True]


def test_messages_get_cancel(qs, sink):
    res = qs.message.publish(url=f"{sink.url}/later", body="later", delay="1h")
    msg = qs.message.get(res.message_id)
    assert msg.message_id == res.message_id and msg.url == f"{sink.url}/later" and msg.body == "later"
    assert msg.not_before > time.time() * 1000 + 3_500_000
    qs.message.cancel(res.message_id)
    with pytest.raises(QStashError):
        qs.message.get(res.message_id)
    ids = [qs.message.publish(url=f"{sink.url}/x", body="x", delay="1h").message_id for _ in range(3)]
    assert qs.message.cancel_many(ids[:2]) == 2
    assert qs.message.cancel_all() == 1
    assert sink.requests == []


def test_events_logs(qs, sink):
    res = qs.message.publish(url=f"{sink.url}/ev", body="ev")
    sink.wait_for(1)
    deadline = time.time() + 5
    while time.time() < deadline:
        logs = qs.log.list(filter={"message_id": res.message_id}).logs
        if any(entry.state.value == "DELIVERED" for entry in logs):
            break
        time.sleep(0.05)
    states = [entry.state.value for entry in logs]
    assert states == ["DELIVERED", "ACTIVE", "CREATED"]
    page = qs.log.list(count=1)
    assert len(page.logs) == 1 and page.cursor


def test_dlq(qs, sink):
    sink.respond(status=500)
    res = qs.message.publish(url=f"{sink.url}/fail", body="bad", retries=0)
    sink.wait_for(1)
    deadline = time.time() + 5
    while time.time() < deadline and not qs.dlq.list().messages:
        time.sleep(0.05)
    [entry] = qs.dlq.list().messages
    assert entry.message_id == res.message_id and entry.response_status == 500 and entry.dlq_id
    got = qs.dlq.get(entry.dlq_id)
    assert got.body == "bad"
    qs.dlq.delete(entry.dlq_id)
    assert qs.dlq.list().messages == []


def test_queues_and_enqueue(qs, sink):
    qs.queue.upsert("q1", parallelism=2)
    q = qs.queue.get("q1")
    assert q.name == "q1" and q.parallelism == 2
    res = qs.message.enqueue(queue="q1", url=f"{sink.url}/q", body="queued")
    [req] = sink.wait_for(1)
    assert req.header("upstash-message-id") == res.message_id
    qs.queue.pause("q1")
    assert qs.queue.get("q1").paused is True
    qs.queue.resume("q1")
    assert [x.name for x in qs.queue.list()] == ["q1"]
    qs.queue.delete("q1")
    assert qs.queue.list() == []
