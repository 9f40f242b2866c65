"""Places where the official SDKs would tell `qstash dev` from QStash (issue 9, "fidelity fixes"), each driven
through the official `qstash` Python SDK where it has the call, else through raw HTTP as the JS SDK sends it."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
import sys
import time

import httpx
import pytest
from qstash import QStash
from qstash.errors import QStashError

from qstash_cli import devcreds
from tests.live import free_port
from tests.server.helpers import dlq_entries, states, wait_until


@pytest.fixture
def qs(dev_server):
    return QStash(dev_server.token, base_url=dev_server.url)


def _delivered(c: httpx.Client, mid: str) -> bool:
    return "DELIVERED" in states(c, mid)


def test_several_labels_read_back_as_first_and_all_everywhere(qs, dev_server, sink):
    sink.respond(status=500, path="/dead")
    later = qs.message.publish(url=f"{sink.url}/later", body="x", label="alpha,beta", delay="1h").message_id
    dead = qs.message.publish(url=f"{sink.url}/dead", body="x", label="alpha,beta", retries=0).message_id
    sid = qs.schedule.create(destination=f"{sink.url}/cron", cron="0 0 * * *", label="alpha,beta")
    assert qs.message.get(later).label == "alpha"
    with dev_server.client() as c:
        wait_until(lambda: dlq_entries(c))
        reads = [
            c.get(f"/v2/messages/{later}").json(),
            *c.get("/v2/logs", params={"messageId": later}).json()["logs"],
            *dlq_entries(c),
            c.get(f"/v2/schedules/{sid}").json(),
        ]
        assert len(reads) >= 4
        for read in reads:
            assert (read["label"], read["labels"]) == ("alpha", ["alpha", "beta"]), read
        assert [e["messageId"] for e in c.get("/v2/dlq", params={"label": ["nope", "beta"]}).json()["messages"]] == [
            dead
        ]
    assert qs.dlq.list().messages[0].label == "alpha"
    assert qs.schedule.get(sid).label == "alpha"


def test_a_delivered_message_stays_readable_for_the_grace_window(qs, dev_server, sink):
    res = qs.message.publish_json(url=f"{sink.url}/now", body={"a": 1}, label="l1", retries=2)
    with dev_server.client() as c:
        wait_until(lambda: _delivered(c, res.message_id))
    msg = qs.message.get(res.message_id)  # as the SDK test suites do right after publishing
    assert (msg.message_id, msg.body, msg.label, msg.max_retries) == (res.message_id, '{"a": 1}', "l1", 2)
    cancelled = qs.message.publish(url=f"{sink.url}/never", body="x", delay="1h").message_id
    qs.message.cancel(cancelled)
    with pytest.raises(QStashError, match="404"):
        qs.message.get(cancelled)  # a cancelled message is gone at once


def test_after_the_grace_window_a_delivered_message_is_404(dev_server_factory, sink):
    server = dev_server_factory(message_grace="0")
    qs = QStash(server.token, base_url=server.url)
    mid = qs.message.publish(url=f"{sink.url}/now", body="x").message_id
    with server.client() as c:
        wait_until(lambda: _delivered(c, mid))
        assert c.get(f"/v2/messages/{mid}").status_code == 404
    pending = qs.message.publish(url=f"{sink.url}/later", body="x", delay="1h").message_id
    assert qs.message.get(pending).message_id == pending


def test_deleting_an_unknown_url_group_succeeds(qs):
    qs.url_group.delete("never-made")  # qstash-py's url-group test starts with this
    qs.url_group.delete("never-made")
    assert qs.url_group.list() == []


def test_schedule_without_body_has_no_body_and_reports_flow_control_and_caller_ip(qs, dev_server, sink):
    sid = qs.schedule.create(
        destination=f"{sink.url}/cron",
        cron="0 0 * * *",
        flow_control={"key": "sched-key", "parallelism": 2, "rate": 5, "period": "1m"},
    )
    got = qs.schedule.get(sid)
    assert got.body is None and got.body_base64 is None
    assert (got.flow_control.key, got.flow_control.parallelism, got.flow_control.rate) == ("sched-key", 2, 5)
    assert got.flow_control.period == 60
    assert got.caller_ip == "127.0.0.1"
    with dev_server.client() as c:
        raw = c.get(f"/v2/schedules/{sid}").json()
        assert "body" not in raw and "bodyBase64" not in raw
        assert raw["callerIp"] == raw["callerIP"] == "127.0.0.1"  # the spec spells it callerIp, qstash-py callerIP
        assert c.get(f"/v2/messages/{qs.message.publish(url=sink.url, body='x').message_id}").json()["callerIP"]


def test_flow_control_period_defaults_to_one_second(qs):
    mid = qs.message.publish(url="http://127.0.0.1:9/", body="x", delay="1h", flow_control={"key": "k", "rate": 3})
    fc = qs.message.get(mid.message_id).flow_control
    assert (fc.key, fc.parallelism, fc.rate, fc.period) == ("k", None, 3, 1)


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "qstash_cli", "dev", "--memory", "-port={port}", "-quota=free"],
        [sys.executable, "-m", "qstash_cli", "dev", "--memory", "-port", "{port}", "-quota", "free"],
        [sys.executable, "-m", "qstash_cli.server", "--memory", "-port={port}", "-quota=free", "-log-port=1"],
    ],
    ids=["cli-equals", "cli-space", "server-module"],
)
def test_the_official_servers_flag_spellings_work(argv):
    port = free_port()
    proc = subprocess.Popen(
        [a.format(port=port) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/v2/keys", params={"qstash_token": devcreds.DEV_TOKEN})
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not answer on -port"
                time.sleep(0.05)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert f"127.0.0.1:{port}" in err and "quota free" in err


def _mark(value: str) -> str:
    return "REDACTED:" + hashlib.sha256(value.encode()).hexdigest()


def test_redact_fields_apply_to_every_read_never_to_the_delivery(qs, dev_server, sink):
    sink.respond(status=500, path="/dead")
    secret = {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "X-Plain": "shown"}
    kept = qs.message.publish(
        url=f"{sink.url}/later", body="secret body", headers=secret, delay="1h", redact={"body": True, "header": True}
    ).message_id
    dead = qs.message.publish(
        url=f"{sink.url}/dead", body="dead body", headers=secret, retries=0, redact={"header": ["Authorization"]}
    ).message_id
    sid = qs.schedule.create(
        destination=f"{sink.url}/cron", cron="0 0 * * *", body="cron body", headers=secret, redact={"body": True}
    )
    [delivered] = sink.wait_for(1, path="/dead")
    assert delivered.body == b"dead body" and delivered.header("authorization") == "Bearer s3cret"
    msg = qs.message.get(kept)
    assert msg.body == _mark("secret body")
    assert msg.headers["Authorization"] == [_mark("Bearer s3cret")] and msg.headers["X-Plain"] == [_mark("shown")]
    with dev_server.client() as c:
        wait_until(lambda: dlq_entries(c))
        [entry] = dlq_entries(c)
        assert entry["header"]["Authorization"] == [_mark("Bearer s3cret")]
        assert entry["header"]["X-Api-Key"] == ["k3y"] and entry["body"] == "dead body"
        logs = c.get("/v2/logs", params={"messageIds": [kept, dead]}).json()["logs"]
        assert logs and "s3cret" not in json.dumps(logs)
        for log in logs:
            body = base64.b64decode(log["body"]).decode()
            assert body == (_mark("secret body") if log["messageId"] == kept else "dead body")
        for spelling in ("headers", "HEADER[x-api-key],Body", "headers[X-Api-Key]"):
            r = c.post(
                f"/v2/publish/{sink.url}/never",
                content=b"b",
                headers={"Upstash-Redact-Fields": spelling, "Upstash-Forward-X-Api-Key": "k3y", "Upstash-Delay": "1h"},
            )
            assert r.status_code == 200, r.text
            got = c.get(f"/v2/messages/{r.json()['messageId']}").json()
            assert got["header"]["X-Api-Key"] == [_mark("k3y")], spelling
        bad = c.post(f"/v2/publish/{sink.url}/never", content=b"b", headers={"Upstash-Redact-Fields": "bodies"})
        assert bad.status_code == 400
    assert qs.schedule.get(sid).body == _mark("cron body")
    assert qs.schedule.get(sid).headers["Authorization"] == ["Bearer s3cret"]
    assert qs.dlq.get(entry["dlqId"]).headers["Authorization"] == [_mark("Bearer s3cret")]


def test_dlq_retry_republishes_with_the_messages_own_settings(qs, dev_server, sink):
    sink.respond(status=500, path="/flaky", times=2)
    res = qs.message.publish(
        url=f"{sink.url}/flaky",
        body="payload",
        headers={"X-Secret": "original", "Content-Type": "text/x-demo"},
        method="PUT",
        retries=1,
        retry_delay="10",
        timeout="7s",
        callback=f"{sink.url}/cb",
        callback_headers={"X-Cb": "cb"},
        failure_callback=f"{sink.url}/fcb",
        label="one,two",
        flow_control={"key": "dlq-key", "parallelism": 2, "rate": 9, "period": "3s"},
        redact={"header": ["X-Secret"]},
    )
    with dev_server.client() as c:
        [entry] = wait_until(lambda: dlq_entries(c))
        assert entry["maxRetries"] == 1 and entry["header"]["X-Secret"] == [_mark("original")]
        assert qs.dlq.get(entry["dlqId"]).max_retries == 1
        r = c.post("/v2/dlq/retry", params={"dlqIds": entry["dlqId"]})  # as the JS SDK's dlq.retry sends it
        assert r.status_code == 200, r.text
        [again] = r.json()["responses"]
        assert again["messageId"] != res.message_id
        copy = c.get(f"/v2/messages/{again['messageId']}").json()
    retried = sink.wait_for(3, path="/flaky")[2]
    assert retried.method == "PUT" and retried.body == b"payload"
    assert retried.header("x-secret") == "original" and retried.header("content-type") == "text/x-demo"
    assert copy["maxRetries"] == 1 and copy["retryDelayExpression"] == "10" and copy["method"] == "PUT"
    assert (copy["callback"], copy["failureCallback"]) == (f"{sink.url}/cb", f"{sink.url}/fcb")
    assert copy["callbackHeader"] == {"X-Cb": ["cb"]} and copy["labels"] == ["one", "two"]
    assert (copy["flowControlKey"], copy["parallelism"], copy["rate"], copy["period"]) == ("dlq-key", 2, 9, 3)
    assert copy["header"]["X-Secret"] == [_mark("original")]  # still redacted in reads
    with dev_server.client() as c:
        log = next(e for e in c.get("/v2/logs", params={"messageId": again["messageId"]}).json()["logs"])
        assert log["timeout"] == 7000
        assert dlq_entries(c) == []
    cbs = sink.wait_for(3, path="/cb")  # a callback after every attempt, the retried one too
    assert all(cb.header("x-cb") == "cb" for cb in cbs)


def test_sdk_filters_on_dlq_and_logs(qs, dev_server, sink):
    sink.respond(status=500, path="/f")
    a = qs.message.publish(url=f"{sink.url}/f", body="a", retries=0, label="red").message_id
    b = qs.message.publish(url=f"{sink.url}/f", body="b", retries=0, label="blue").message_id
    wait_until(lambda: len(qs.dlq.list().messages) == 2)
    assert {m.message_id for m in qs.dlq.list(filter={"caller_ip": "127.0.0.1"}).messages} == {a, b}
    assert qs.dlq.list(filter={"caller_ip": "10.1.2.3"}).messages == []
    assert [m.message_id for m in qs.dlq.list(filter={"label": "red", "caller_ip": "127.0.0.1"}).messages] == [a]
    assert qs.dlq.list(filter={"label": "re"}).messages == []  # exact, never a substring
    # messageIds take precedence over every other filter
    logged = qs.log.list(filter={"message_ids": [b], "label": "red"}).logs
    assert logged and {entry.message_id for entry in logged} == {b}
    assert {entry.message_id for entry in qs.log.list(filter={"label": "red"}).logs} == {a}
