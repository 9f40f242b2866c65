"""`qstash logs` against a real `qstash dev` and a sink: filters, --all, both dialects, and --follow picking up a
message published while it polls (Ctrl-C simulated through the poll wait)."""

from __future__ import annotations

import json

import pytest

from qstash_cli.commands import logs as logs_cmd
from tests.e2e.test_messages_e2e import eventually, states


def publish(live, sink, path: str, body: str, *args: str) -> str:
    return live("publish", f"{sink.url}{path}", "-d", body, *args, "-q").stdout.strip()


def test_filters_and_all_in_v2(live, sink) -> None:
    sink.respond(status=500, path="/bad")
    good = publish(live, sink, "/good", "g")
    bad = publish(live, sink, "/bad", "b", "--retries", "0")
    eventually(lambda: "DELIVERED" in states(live, good) and "FAILED" in states(live, bad), what="both outcomes")

    assert set(live("logs", "--endpoint", f"{sink.url}/bad", "-q").stdout.split()) == {bad}
    assert live("logs", "--state", "FAILED", "-q").stdout.split() == [bad]
    assert live("logs", "--state", "DELIVERED", "--source", "logs", "-q").stdout.split() == [good]
    assert live("logs", "--from", "2999-01-01T00:00:00Z", "-q").stdout == ""
    everything = live("logs", "--all", "--json").json
    assert {e["messageId"] for e in everything} == {good, bad} and len(everything) == 3 + 4
    assert len(live("logs", "--limit", "2", "--json").json) == 2
    plain = live("logs", "--message-id", bad).stdout.splitlines()
    assert plain[0] == "time\tstate\tmessage\turl\tstatus\terror\tnext delivery"
    assert plain[1].split("\t")[1:5] == ["FAILED", bad, f"{sink.url}/bad", "500"]


def test_v1_logs_tell_the_same_story(live, sink) -> None:
    mid = publish(live, sink, "/v1", "x")
    eventually(lambda: "DELIVERED" in states(live, mid), what="DELIVERED")
    v1 = live("--api", "v1", "logs", "--message-id", mid, "--json").json
    assert [e["state"].upper() for e in v1] == ["DELIVERED", "ACTIVE", "CREATED"]
    assert all(e["taskId"] for e in v1)
    assert live("--api", "v1", "logs", "--all", "-q").stdout.split() == [mid] * 3
    live("--api", "v1", "logs", "--state", "FAILED", code=2)


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_follow_prints_new_entries_then_exits_0_on_ctrl_c(live, sink, dev_server, monkeypatch, api) -> None:
    first = publish(live, sink, "/first", "1")
    eventually(lambda: "DELIVERED" in states(live, first), what="first DELIVERED")
    published: list[str] = []

    def poll_wait(seconds: float) -> None:
        if published:
            raise KeyboardInterrupt  # the second wait: Ctrl-C
        # plain HTTP here: a nested in-process CLI run would swap sys.stdout under the running one
        with dev_server.client() as http:
            published.append(http.post(f"/v2/publish/{sink.url}/second", content=b"2").json()["messageId"])
            query = {"messageId": published[0], "state": "DELIVERED"}
            eventually(lambda: http.get("/v2/events", params=query).json()["events"], what="second DELIVERED")

    monkeypatch.setattr(logs_cmd, "_sleep", poll_wait)
    r = live("--api", api, "logs", "--follow", "--json")
    entries = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(e["messageId"], e["state"].upper()) for e in entries] == [
        (first, "CREATED"),
        (first, "ACTIVE"),
        (first, "DELIVERED"),
        (published[0], "CREATED"),
        (published[0], "ACTIVE"),
        (published[0], "DELIVERED"),
    ]
