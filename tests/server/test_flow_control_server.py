"""Flow control in `qstash dev` as the official SDKs use it: rate and period enforced (period 1 s by default), the
figures of `GET /v2/flowControl[/{key}]`, pause / resume / pin / unpin / resetRate, settings kept across a restart."""

from __future__ import annotations

import pytest
from qstash import QStash
from qstash.errors import QStashError

from tests.server.helpers import wait_until


@pytest.fixture
def qs(dev_server):
    return QStash(dev_server.token, base_url=dev_server.url)


def _publish(qs: QStash, url: str, **flow) -> str:
    return qs.message.publish(url=url, body="x", flow_control=flow).message_id


def test_rate_per_period_is_enforced_and_reported(qs, sink):
    for _ in range(3):
        _publish(qs, f"{sink.url}/rate", key="r1", rate=2, period=2)
    sink.wait_for(2, path="/rate")
    info = wait_until(lambda: (i := qs.flow_control.get("r1")).wait_list_size == 1 and i)
    assert (info.rate_max, info.rate_count, info.rate_period) == (2, 2, 2)
    assert info.parallelism_max == 0 and not info.is_paused
    first, second, third = sink.wait_for(3, path="/rate", timeout=15)
    # the third waited for the next 2-second period (arrival times: the first one's latency to the sink is part of
    # the gap, up to ~150 ms on a loaded machine; no limit would give ~0 s, a 1-second period ~1 s)
    assert third.time - first.time >= 1.5
    assert qs.flow_control.get("r1").wait_list_size == 0


def test_pause_holds_deliveries_in_the_wait_list_until_resumed(qs, sink):
    _publish(qs, f"{sink.url}/p", key="pz", parallelism=5)
    sink.wait_for(1, path="/p")
    qs.flow_control.pause("pz")
    assert qs.flow_control.get("pz").is_paused is True
    for _ in range(2):
        _publish(qs, f"{sink.url}/p", key="pz", parallelism=5)
    wait_until(lambda: qs.flow_control.get("pz").wait_list_size == 2)
    assert len(sink.requests) == 1
    qs.flow_control.resume("pz")
    assert qs.flow_control.get("pz").is_paused is False
    sink.wait_for(3, path="/p")
    assert qs.flow_control.get("pz").wait_list_size == 0


def test_pin_unpin_and_reset_rate(qs, sink):
    _publish(qs, f"{sink.url}/pin", key="pk", parallelism=5, rate=10, period="1m")
    sink.wait_for(1, path="/pin")
    info = qs.flow_control.get("pk")
    assert (info.parallelism_max, info.rate_max, info.rate_period, info.rate_count) == (5, 10, 60, 1)
    qs.flow_control.pin("pk", {"parallelism": 3, "rate": 20, "period": 120})
    info = qs.flow_control.get("pk")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (3, 20, 120)
    assert info.is_pinned_parallelism and info.is_pinned_rate and info.rate_count == 0
    _publish(qs, f"{sink.url}/pin", key="pk", parallelism=7, rate=8, period=9)  # ignored while pinned
    sink.wait_for(2, path="/pin")
    info = qs.flow_control.get("pk")
    assert (info.parallelism_max, info.rate_max, info.rate_period, info.rate_count) == (3, 20, 120, 1)
    qs.flow_control.unpin("pk", {"parallelism": True})
    info = qs.flow_control.get("pk")
    assert not info.is_pinned_parallelism and info.is_pinned_rate and info.parallelism_max == 3
    _publish(qs, f"{sink.url}/pin", key="pk", parallelism=7, rate=8, period=9)
    sink.wait_for(3, path="/pin")
    info = qs.flow_control.get("pk")
    assert (info.parallelism_max, info.rate_max, info.rate_period, info.rate_count) == (7, 20, 120, 2)
    qs.flow_control.reset_rate("pk")
    assert qs.flow_control.get("pk").rate_count == 0
    qs.flow_control.unpin("pk", {"rate": True})
    assert not qs.flow_control.get("pk").is_pinned_rate


def test_unknown_keys_bad_values_and_the_listing(qs, dev_server, sink):
    with pytest.raises(QStashError, match="404"):
        qs.flow_control.get("never-used")
    with pytest.raises(QStashError, match="404"):
        qs.flow_control.pause("never-used")
    _publish(qs, f"{sink.url}/l", key="listed-a", parallelism=1)
    _publish(qs, f"{sink.url}/l", key="listed-b", rate=1)
    with dev_server.client() as c:
        entries = c.get("/v2/flowControl").json()
        assert [e["flowControlKey"] for e in entries] == ["listed-a", "listed-b"]
        assert set(entries[0]) >= {
            "waitListSize",
            "parallelismMax",
            "parallelismCount",
            "rateMax",
            "rateCount",
            "ratePeriod",
            "ratePeriodStart",
            "isPaused",
            "isPinnedParallelism",
            "isPinnedRate",
        }
        assert [e["flowControlKey"] for e in c.get("/v2/flowControl", params={"search": "-b"}).json()] == ["listed-b"]
        assert c.post("/v2/flowControl/listed-a/pin", params={"rate": "lots"}).status_code == 400
        assert c.post("/v2/flowControl/listed-a/unpin", params={"rate": "maybe"}).status_code == 400
        assert c.post("/v2/flowControl/listed-a/pin", params={"rat": "1"}).status_code == 400
    glob = qs.flow_control.get_global_parallelism()
    assert glob.parallelism_max > 0


def test_settings_survive_a_restart(dev_server, sink):
    qs = QStash(dev_server.token, base_url=dev_server.url)
    _publish(qs, f"{sink.url}/k", key="kept", parallelism=2, rate=4, period=3)
    qs.flow_control.pin("kept", {"parallelism": 1})
    qs.flow_control.pause("kept")
    waiting = _publish(qs, f"{sink.url}/k", key="kept", parallelism=2, rate=4, period=3)
    wait_until(lambda: qs.flow_control.get("kept").wait_list_size >= 1)
    dev_server.restart()
    info = qs.flow_control.get("kept")
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (1, 4, 3)
    assert info.is_paused and info.is_pinned_parallelism and not info.is_pinned_rate
    # the pending message is gated by its key again, still paused (once the due-queue's first page is read: HTTP
    # answers before that)
    assert wait_until(lambda: qs.flow_control.get("kept").wait_list_size >= 1)
    qs.flow_control.resume("kept")
    delivered = wait_until(lambda: [r for r in sink.requests if r.header("upstash-message-id") == waiting])
    assert len(delivered) == 1
