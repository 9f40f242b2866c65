"""Delivery semantics, each watched at a real sink: retries with scaled backoff, Retry-After, 489, DLQ, callbacks,
failure callbacks, timeout, delay, not-before, both kinds of dedup, cancel."""

from __future__ import annotations

import base64
import json
import time

from qstash import Receiver

from tests.server.helpers import dlq_entries, states, wait_until


def _publish(c, url, body=b"x", **headers):
    r = c.post(f"/v2/publish/{url}", content=body, headers=headers)
    assert r.status_code in (200, 202), r.text
    return r


def test_retries_with_scaled_backoff_then_delivered(dev_server, sink):
    sink.respond(status=500, times=2)
    with dev_server.client() as c:
        mid = _publish(c, f"{sink.url}/r", **{"Upstash-Retries": "3"}).json()["messageId"]
        reqs = sink.wait_for(3)
        assert [r.header("upstash-retried") for r in reqs] == ["0", "1", "2"]
        assert [r.status for r in reqs] == [500, 500, 200]
        gap1, gap2 = reqs[1].time - reqs[0].time, reqs[2].time - reqs[1].time
        # e^2.5 s and e^5 s scaled by 0.001: ~12 ms, ~148 ms
        assert 0.005 < gap1 < 1.0 and 0.12 < gap2 < 1.5 and gap2 > gap1
        wait_until(lambda: "DELIVERED" in states(c, mid))
        assert states(c, mid) == [
            "CREATED",
            "ACTIVE",
            "ERROR",
            "RETRY",
            "ACTIVE",
            "ERROR",
            "RETRY",
            "ACTIVE",
            "DELIVERED",
        ]
        assert dlq_entries(c) == []
    time.sleep(0.3)
    assert len(sink.requests) == 3


def test_exhausted_retries_go_to_dlq_with_callbacks(dev_server, sink):
    sink.respond(status=503, path="/fail", body="down")
    with dev_server.client() as c:
        r = _publish(
            c,
            f"{sink.url}/fail",
            b"payload",
            **{
                "Upstash-Retries": "1",
                "Upstash-Callback": f"{sink.url}/cb",
                "Upstash-Failure-Callback": f"{sink.url}/fcb",
                "Upstash-Forward-X-A": "1",
                "Content-Type": "text/plain",
            },
        )
        mid = r.json()["messageId"]
        assert len(sink.wait_for(2, path="/fail")) == 2
        [fcb] = sink.wait_for(1, path="/fcb")
        cbs = sink.wait_for(2, path="/cb")
        [entry] = wait_until(lambda: dlq_entries(c))
    assert entry["messageId"] == mid and entry["responseStatus"] == 503 and entry["responseBody"] == "down"
    payload = json.loads(fcb.body)
    assert payload["dlqId"] == entry["dlqId"]
    assert payload["status"] == 503 and base64.b64decode(payload["body"]) == b"down"
    assert payload["sourceMessageId"] == mid and base64.b64decode(payload["sourceBody"]) == b"payload"
    assert payload["retried"] == 1 and payload["maxRetries"] == 1
    assert payload["url"] == f"{sink.url}/fail" and payload["method"] == "POST"
    assert payload["sourceHeader"]["X-A"] == ["1"]
    for key in ("createdAt", "notBefore", "callerIP", "topicName", "endpointName", "scheduleId", "header"):
        assert key in payload
    assert sorted(json.loads(cb.body)["retried"] for cb in cbs) == [0, 1]
    assert all("dlqId" not in json.loads(cb.body) for cb in cbs)
    receiver = Receiver(dev_server.current_key, dev_server.next_key)
    for req, path in [(fcb, "/fcb"), *[(cb, "/cb") for cb in cbs]]:
        receiver.verify(signature=req.header("upstash-signature"), body=req.text, url=sink.url + path)
        assert req.header("content-type") == "application/json"


def test_success_callback_carries_response(dev_server, sink):
    sink.respond(status=201, path="/ok", body="created!")
    with dev_server.client() as c:
        mid = _publish(c, f"{sink.url}/ok", b"in", **{"Upstash-Callback": f"{sink.url}/cb"}).json()["messageId"]
    [cb] = sink.wait_for(1, path="/cb")
    payload = json.loads(cb.body)
    assert payload["status"] == 201 and base64.b64decode(payload["body"]) == b"created!"
    assert payload["sourceMessageId"] == mid and payload["retried"] == 0
    assert cb.header("upstash-message-id") != mid


def test_489_non_retryable_fails_at_once(dev_server, sink):
    sink.respond(status=489, headers={"Upstash-NonRetryable-Error": "true"})
    with dev_server.client() as c:
        mid = _publish(c, f"{sink.url}/nr", **{"Upstash-Retries": "3"}).json()["messageId"]
        sink.wait_for(1)
        wait_until(lambda: "FAILED" in states(c, mid))
        assert states(c, mid)[-2:] == ["ERROR", "FAILED"]
        assert [e["messageId"] for e in dlq_entries(c)] == [mid]
    time.sleep(0.3)
    assert len(sink.requests) == 1


def test_retry_after_is_honoured(dev_server, sink):
    sink.respond(status=429, times=1, headers={"Retry-After": "1"})
    with dev_server.client() as c:
        _publish(c, f"{sink.url}/ra")
    first, second = sink.wait_for(2, timeout=10)
    assert second.time - first.time >= 0.95  # the scaled backoff alone would be ~12 ms
    assert second.status == 200


def test_timeout_counts_as_failure(dev_server, sink):
    sink.respond(path="/slow", delay=2, times=1)
    with dev_server.client() as c:
        mid = _publish(c, f"{sink.url}/slow", **{"Upstash-Timeout": "1s", "Upstash-Retries": "1"}).json()["messageId"]
        sink.wait_for(2, timeout=10)
        wait_until(lambda: "DELIVERED" in states(c, mid))
        events = c.get("/v2/events", params={"messageId": mid, "state": "ERROR"}).json()["events"]
        assert "timeout" in events[0]["error"]


def test_delay_and_query_param_form(dev_server, sink):
    with dev_server.client() as c:
        start = time.time()
        _publish(c, f"{sink.url}/d1", **{"Upstash-Delay": "2s"})
        c.post(f"/v2/publish/{sink.url}/d2?upstash-delay=1s", content=b"q")
        reqs = sink.wait_for(2, timeout=10)
    by = {r.path: r for r in reqs}
    assert 1.9 <= by["/d1"].time - start < 4.5
    assert 0.9 <= by["/d2"].time - start < 3.5
    assert "upstash-delay" not in by["/d2"].path


def test_not_before_wins_over_delay(dev_server, sink):
    with dev_server.client() as c:
        start = time.time()
        nb = int(start) + 3
        mid = _publish(c, f"{sink.url}/nb", **{"Upstash-Not-Before": str(nb), "Upstash-Delay": "1h"}).json()
        msg = c.get(f"/v2/messages/{mid['messageId']}").json()
        assert msg["notBefore"] == nb * 1000
        [req] = sink.wait_for(1, timeout=10)
    assert nb - 0.05 <= req.time < nb + 1.5


def test_deduplication_id(dev_server, sink):
    with dev_server.client() as c:
        first = _publish(c, f"{sink.url}/dd", **{"Upstash-Deduplication-Id": "abc"})
        second = _publish(c, f"{sink.url}/dd", **{"Upstash-Deduplication-Id": "abc"})
    assert first.status_code == 200 and second.status_code == 202
    assert second.json() == {**first.json(), "deduplicated": True}
    assert second.headers["upstash-deduplication-id"] == "abc"
    sink.wait_for(1)
    time.sleep(0.3)
    assert len(sink.requests) == 1


def test_content_based_deduplication(dev_server, sink):
    h = {"Upstash-Content-Based-Deduplication": "true", "Content-Type": "text/plain"}
    with dev_server.client() as c:
        a = _publish(c, f"{sink.url}/cb", b"same", **h)
        b = _publish(c, f"{sink.url}/cb", b"same", **h)
        other_body = _publish(c, f"{sink.url}/cb", b"different", **h)
        other_dest = _publish(c, f"{sink.url}/cb2", b"same", **h)
    assert b.status_code == 202 and b.json()["messageId"] == a.json()["messageId"] and b.json()["deduplicated"]
    assert other_body.status_code == 200 and other_dest.status_code == 200
    sink.wait_for(3)
    time.sleep(0.3)
    assert len(sink.requests) == 3


def test_dedup_window_is_configurable(dev_server_factory, sink):
    server = dev_server_factory(dedup_window=1)
    with server.client() as c:
        a = _publish(c, f"{sink.url}/w", **{"Upstash-Deduplication-Id": "w1"})
        time.sleep(1.3)
        b = _publish(c, f"{sink.url}/w", **{"Upstash-Deduplication-Id": "w1"})
    assert b.status_code == 200 and b.json()["messageId"] != a.json()["messageId"]
    sink.wait_for(2)


def test_cancel_stops_delivery(dev_server, sink):
    with dev_server.client() as c:
        mid = _publish(c, f"{sink.url}/c", **{"Upstash-Delay": "1s"}).json()["messageId"]
        keep = _publish(c, f"{sink.url}/k", **{"Upstash-Delay": "1s"}).json()["messageId"]
        r = c.delete(f"/v2/messages/{mid}")
        assert r.status_code == 200 and r.json() == {"cancelled": 1}
        [req] = sink.wait_for(1, timeout=5)
        assert req.header("upstash-message-id") == keep
        time.sleep(0.5)
        assert len(sink.requests) == 1
        assert states(c, mid) == ["CREATED", "CANCELED"]
        tasks = c.get(f"/v1/messages/{mid}/tasks").json()["tasks"]
        assert [t["state"] for t in tasks] == ["CANCELLED"]
        assert c.get(f"/v2/messages/{mid}").status_code == 404


def test_bulk_cancel_query_and_body_forms(dev_server, sink):
    with dev_server.client() as c:
        ids = [_publish(c, f"{sink.url}/b", **{"Upstash-Delay": "1h"}).json()["messageId"] for _ in range(4)]
        r = c.request("DELETE", "/v2/messages", params=[("messageIds", ids[0]), ("messageIds", ids[1])])
        assert r.json() == {"cancelled": 2}
        r = c.request("DELETE", "/v2/messages", json={"messageIds": [ids[2]]})
        assert r.json() == {"cancelled": 1}
        r = c.request("DELETE", "/v2/messages", params={"url": f"{sink.url}/b"})
        assert r.json() == {"cancelled": 1}
        assert c.request("DELETE", "/v2/messages").json() == {"cancelled": 0}


def test_dlq_retry_and_bulk_delete(dev_server, sink):
    sink.respond(status=500, times=2)
    with dev_server.client() as c:
        for i in range(2):
            _publish(c, f"{sink.url}/z{i}", **{"Upstash-Retries": "0"})
        entries = wait_until(lambda: len(dlq_entries(c)) == 2 and dlq_entries(c))
        r = c.post(f"/v2/dlq/retry/{entries[0]['dlqId']}")
        assert r.status_code == 201 and r.json()["messageId"]
        sink.wait_for(3)
        r = c.request("DELETE", "/v2/dlq", json={"dlqIds": [entries[1]["dlqId"]]})
        assert r.json()["deleted"] == 1
        assert dlq_entries(c) == []


def test_queue_parallelism_one_delivers_in_order_one_at_a_time(dev_server, sink):
    sink.respond(path="/q", delay=0.3)
    with dev_server.client() as c:
        assert c.post("/v2/queues", json={"queueName": "serial", "parallelism": 1}).status_code == 200
        ids = [
            c.post(f"/v2/enqueue/serial/{sink.url}/q", content=str(i).encode()).json()["messageId"] for i in range(3)
        ]
        reqs = sink.wait_for(3, timeout=10)
    assert [r.header("upstash-message-id") for r in reqs] == ids
    assert all(b.time - a.time >= 0.28 for a, b in zip(reqs, reqs[1:], strict=False))


def test_bulk_dlq_retry_and_events_paging(dev_server, sink):
    sink.respond(status=500, times=2)
    with dev_server.client() as c:
        ids = [_publish(c, f"{sink.url}/p{i}", **{"Upstash-Retries": "0"}).json()["messageId"] for i in range(2)]
        wait_until(lambda: len(dlq_entries(c)) == 2)
        r = c.post("/v2/dlq/retry", params={"dlqIds": [e["dlqId"] for e in dlq_entries(c)]})
        assert r.status_code == 200 and len(r.json()["responses"]) == 2 and r.json()["cursor"] == ""
        sink.wait_for(4)
        assert dlq_entries(c) == []
        first = c.get("/v2/logs", params={"count": 2, "order": "earliestFirst"}).json()
        assert first["events"] == first["logs"] and len(first["logs"]) == 2 and isinstance(first["cursor"], str)
        assert first["logs"][0]["state"] == "CREATED"
        second = c.get("/v2/logs", params={"count": 2, "order": "earliestFirst", "cursor": first["cursor"]}).json()
        everything = c.get("/v2/logs", params={"order": "earliestFirst"}).json()["logs"]
        assert first["logs"] + second["logs"] == everything[:4]
        assert "cursor" not in c.get("/v2/logs").json()
        failed = c.get("/v2/events", params={"state": "FAILED"}).json()["events"]
        assert sorted(e["messageId"] for e in failed) == sorted(ids)
        assert all(e["responseStatus"] == 500 for e in failed)


def test_connection_refused_retries_then_dlq(dev_server):
    from tests.live import free_port

    url = f"http://127.0.0.1:{free_port()}/nobody"
    with dev_server.client() as c:
        mid = _publish(c, url, **{"Upstash-Retries": "1"}).json()["messageId"]
        [entry] = wait_until(lambda: dlq_entries(c))
        assert entry["messageId"] == mid and entry["responseStatus"] == 0 and "connection" in entry["error"]
        assert states(c, mid) == ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "FAILED"]


def test_flow_control_parallelism(dev_server, sink):
    sink.respond(path="/fc", delay=0.3)
    h = {"Upstash-Flow-Control-Key": "k1", "Upstash-Flow-Control-Value": "parallelism=1"}
    with dev_server.client() as c:
        for i in range(3):
            _publish(c, f"{sink.url}/fc", str(i).encode(), **h)
        [entry] = c.get("/v2/flowControl").json()
        assert entry["flowControlKey"] == "k1" and entry["parallelismMax"] == 1
        assert c.get("/v2/flowControl/k1").json()["flowControlKey"] == "k1"
        reqs = sink.wait_for(3, timeout=10)
    assert all(b.time - a.time >= 0.28 for a, b in zip(reqs, reqs[1:], strict=False))


def test_an_attempt_logs_active_once_whether_quick_or_slow(dev_server, sink):
    """A quick attempt's ACTIVE entry goes in with its outcome; a slow one's while it runs (after 0.2 s): one each,
    before the outcome, and a retry of a slow attempt gets its own."""
    sink.respond(path="/slow", delay=0.6, status=500, times=1)
    sink.respond(path="/slow", delay=0.6, times=1)
    with dev_server.client() as c:
        quick = _publish(c, f"{sink.url}/quick").json()["messageId"]
        slow = _publish(c, f"{sink.url}/slow", **{"Upstash-Retries": "1"}).json()["messageId"]
        sink.wait_for(3, timeout=10)
        wait_until(lambda: "DELIVERED" in states(c, slow) and "DELIVERED" in states(c, quick))
        assert states(c, quick) == ["CREATED", "ACTIVE", "DELIVERED"]
        assert states(c, slow) == ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "DELIVERED"]
