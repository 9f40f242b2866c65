"""Places where the official SDKs would tell `qstash dev` from QStash (issue 9, "fidelity fixes"), each driven
through the official `qstash` Python SDK where it has the call, else through raw HTTP as the JS SDK sends it."""

from __future__ import annotations

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
