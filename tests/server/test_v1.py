"""Every v1 (seed) operation over HTTP, and one store behind both dialects."""

from __future__ import annotations

from qstash import Receiver

from tests.server.helpers import wait_until


def test_topics_and_endpoints_crud(dev_server, sink):
    with dev_server.client() as c:
        t = c.post("/v1/topics", json={"name": "orders"}).json()
        assert t["topicId"].startswith("tpc_") and t["name"] == "orders" and t["endpoints"] == []
        assert c.get(f"/v1/topics/{t['topicId']}").json()["name"] == "orders"
        assert c.get("/v1/topics/orders").json()["topicId"] == t["topicId"]
        e1 = c.post("/v1/endpoints", json={"url": f"{sink.url}/e1", "topicId": t["topicId"]}).json()
        e2 = c.post("/v1/endpoints", json={"url": f"{sink.url}/e2", "topicName": "orders"}).json()
        assert e1["endpointId"].startswith("ept_") and e1["topicId"] == t["topicId"]
        assert {e["endpointId"] for e in c.get("/v1/endpoints").json()} == {e1["endpointId"], e2["endpointId"]}
        assert c.get(f"/v1/endpoints/{e1['endpointId']}").json()["url"] == f"{sink.url}/e1"
        upd = c.put(f"/v1/endpoints/{e2['endpointId']}", json={"url": f"{sink.url}/e2b"}).json()
        assert upd["url"] == f"{sink.url}/e2b"
        assert len(c.get("/v1/topics").json()[0]["endpoints"]) == 2
        renamed = c.put(f"/v1/topics/{t['topicId']}", json={"name": "orders2"}).json()
        assert renamed["name"] == "orders2" and renamed["topicId"] == t["topicId"]
        # the same topic is a v2 URL group
        group = c.get("/v2/topics/orders2").json()
        assert {e["url"] for e in group["endpoints"]} == {f"{sink.url}/e1", f"{sink.url}/e2b"}
        assert c.delete(f"/v1/endpoints/{e1['endpointId']}").json() == {"status": "ok"}
        assert c.get(f"/v1/endpoints/{e1['endpointId']}").status_code == 404
        assert c.delete("/v1/topics/orders2").json() == {"status": "ok"}
        assert c.get("/v1/topics").json() == []
        assert c.get("/v1/topics/orders2").status_code == 404


def test_publish_to_topic_one_message_many_tasks(dev_server, sink):
    with dev_server.client() as c:
        t = c.post("/v1/topics", json={"name": "fan"}).json()
        for p in ("a", "b"):
            c.post("/v1/endpoints", json={"url": f"{sink.url}/{p}", "topicId": t["topicId"]})
        r = c.post("/v1/publish/fan", content=b"hi", headers={"Upstash-Forward-X-K": "v"})
        mid = r.json()["messageId"]
        reqs = sink.wait_for(2)
        assert {r.path for r in reqs} == {"/a", "/b"}
        assert all(r.header("upstash-message-id") == mid and r.header("x-k") == "v" for r in reqs)
        assert all(r.header("upstash-topic-name") == "fan" for r in reqs)
        receiver = Receiver(dev_server.current_key, dev_server.next_key)
        for req in reqs:
            receiver.verify(signature=req.header("upstash-signature"), body="hi", url=sink.url + req.path)
        msg = c.get(f"/v1/messages/{mid}").json()
        assert msg["destinationType"] == "topic" and msg["topicId"] == t["topicId"] and msg["body"] == "hi"
        tasks = wait_until(
            lambda: (
                [x for x in c.get(f"/v1/messages/{mid}/tasks").json()["tasks"] if x["state"] == "DELIVERED"]
                if len(c.get(f"/v1/messages/{mid}/tasks").json()["tasks"]) == 2
                else None
            )
        )
        assert len(tasks) == 2
        task = c.get(f"/v1/tasks/{tasks[0]['taskId']}").json()
        assert task["state"] == "DELIVERED" and task["messageId"] == mid and task["maxRetry"] == 3
        logs = c.get(f"/v1/tasks/{task['taskId']}/logs").json()["logs"]
        assert [entry["state"] for entry in logs] == ["DELIVERED", "ACTIVE", "CREATED"]
        mlogs = c.get(f"/v1/messages/{mid}/logs").json()["logs"]
        assert len(mlogs) == 6


def test_messages_list_get_cancel_and_cursor(dev_server, sink):
    with dev_server.client() as c:
        ids = [
            c.post(f"/v1/publish/{sink.url}/m", content=str(i).encode(), headers={"Upstash-Delay": "1h"}).json()[
                "messageId"
            ]
            for i in range(105)
        ]
        page = c.get("/v1/messages").json()
        assert 100 <= len(page["messages"]) < 105 and page["cursor"] > 0
        seen = [m["messageId"] for m in page["messages"]]
        while page.get("cursor"):
            page = c.get("/v1/messages", params={"cursor": page["cursor"]}).json()
            seen += [m["messageId"] for m in page["messages"]]
        assert sorted(seen) == sorted(ids)
        msg = c.get(f"/v1/messages/{ids[0]}").json()
        assert msg["url"] == f"{sink.url}/m" and msg["destinationType"] == "url" and msg["body"] == "0"
        r = c.delete(f"/v1/messages/{ids[0]}")
        assert r.status_code == 202 and r.json() == {"status": "accepted"}
        assert c.get(f"/v1/messages/{ids[0]}/tasks").json()["tasks"][0]["state"] == "CANCELLED"
        assert c.delete("/v1/messages/msg_nope").status_code == 404
        # a v1 message is visible through v2, and the other way round
        assert c.get(f"/v2/messages/{ids[1]}").json()["messageId"] == ids[1]
        v2 = c.post(f"/v2/publish/{sink.url}/v2", content=b"v2", headers={"Upstash-Delay": "1h"}).json()
        assert c.get(f"/v1/messages/{v2['messageId']}").json()["body"] == "v2"


def test_cron_publish_schedules_keys_quota_logs_events(dev_server, sink):
    with dev_server.client() as c:
        r = c.post(f"/v1/publish/{sink.url}/cron", content=b"c", headers={"Upstash-Cron": "*/10 * * * *"})
        sid = r.json()["scheduleId"]
        assert sid.startswith("scd_")
        [s] = c.get("/v1/schedules").json()
        assert s["scheduleId"] == sid and s["cron"] == "*/10 * * * *"
        assert s["destination"] == {"type": "url", "url": f"{sink.url}/cron"} and s["content"]["body"] == "c"
        assert c.get(f"/v1/schedules/{sid}").json()["scheduleId"] == sid
        assert c.get(f"/v2/schedules/{sid}").json()["destination"] == f"{sink.url}/cron"
        r = c.delete(f"/v1/schedules/{sid}")
        assert r.status_code == 202 and c.get("/v1/schedules").json() == []
        keys = c.get("/v1/keys").json()
        assert keys == {"current": dev_server.current_key, "next": dev_server.next_key}
        rotated = c.post("/v1/keys/rotate").json()
        assert rotated["current"] == keys["next"] and c.get("/v2/keys").json() == rotated
        quota = c.get("/v1/quota").json()
        assert quota["maxMessageSize"] == 10 * 1024 * 1024 and all(isinstance(v, int) for v in quota.values())
        mid = c.post(f"/v1/publish/{sink.url}/l", content=b"l").json()["messageId"]
        sink.wait_for(1)
        logs = wait_until(lambda: [x for x in c.get("/v1/logs").json()["logs"] if x["state"] == "DELIVERED"])
        assert logs[0]["messageId"] == mid and isinstance(logs[0]["time"], int)
        events = c.get("/v1/events").json()["events"]
        assert events[0]["messageId"] == mid and events[0]["state"] == "DELIVERED" and events[0]["id"]


def test_cron_publish_is_deduplicated_before_the_schedule_is_created(dev_server, sink):
    """Seed: 'When scheduling a message, the deduplication happens before the schedule is created.'"""
    with dev_server.client() as c:
        headers = {"Upstash-Cron": "0 3 * * *", "Upstash-Deduplication-Id": "nightly-1"}
        first = c.post(f"/v1/publish/{sink.url}/nightly", content=b"n", headers=headers)
        again = c.post(f"/v1/publish/{sink.url}/nightly", content=b"n", headers=headers)
        other = c.post(f"/v1/publish/{sink.url}/nightly", content=b"n", headers={"Upstash-Cron": "0 3 * * *"})
        schedules = c.get("/v1/schedules").json()
    assert first.status_code == 200 and again.status_code == 202
    assert again.json()["scheduleId"] == first.json()["scheduleId"] and again.json()["deduplicated"] is True
    assert again.headers["Upstash-Deduplication-Id"] == "nightly-1"
    ids = sorted(s["scheduleId"] for s in schedules)
    assert ids == sorted([first.json()["scheduleId"], other.json()["scheduleId"]])
