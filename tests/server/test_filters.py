"""Declared filters: an unknown query parameter never widens a list or bulk operation (400, nothing changed); the
filters the SDKs send work on logs, DLQ and bulk cancel; labels match exactly; ids take precedence."""

from __future__ import annotations

import pytest

from tests.server.helpers import dlq_entries, wait_until

BULK_AND_LIST = [
    ("DELETE", "/v2/dlq"),
    ("POST", "/v2/dlq/retry"),
    ("DELETE", "/v2/messages"),
    ("GET", "/v2/dlq"),
    ("GET", "/v2/events"),
    ("GET", "/v2/logs"),
]
TYPOS = ["labeel", "flowcontrolKey", "messageids", "dlqId", "upstash-retries"]


def _publish(c, url, **headers) -> str:
    r = c.post(f"/v2/publish/{url}", content=b"x", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["messageId"]


def _failed(c, sink, path: str, **headers) -> str:
    """A message that lands in the DLQ at once (the sink answers 500 on `path`, no retries)."""
    sink.respond(status=500, path=path)
    return _publish(c, f"{sink.url}{path}", **{"Upstash-Retries": "0", **headers})


@pytest.mark.parametrize("typo", TYPOS)
def test_unknown_filter_is_refused_and_changes_nothing(dev_server, sink, typo):
    with dev_server.client() as c:
        failed = [_failed(c, sink, f"/dead{i}") for i in range(2)]
        wait_until(lambda: len(dlq_entries(c)) == 2)
        pending = [_publish(c, f"{sink.url}/later", **{"Upstash-Delay": "1h"}) for _ in range(2)]
        delivered_before = len(sink.requests)
        for method, path in BULK_AND_LIST:
            if typo.startswith("upstash-") and (method, path) == ("POST", "/v2/dlq/retry"):
                continue  # the retry route takes publish settings in the query
            r = c.request(method, path, params={typo: "x"})
            assert r.status_code == 400, (method, path, r.text)
            assert r.json() == {"error": f"unknown filter: {typo}"}
        # the JSON-body forms with a typo in the query are refused too
        r = c.request("DELETE", "/v2/dlq", params={typo: "x"}, json={"dlqIds": [e["dlqId"] for e in dlq_entries(c)]})
        assert r.status_code == 400
        r = c.request("DELETE", "/v2/messages", params={typo: "x"}, json={"messageIds": pending})
        assert r.status_code == 400
        assert sorted(e["messageId"] for e in dlq_entries(c)) == sorted(failed)
        assert all(c.get(f"/v2/messages/{mid}").status_code == 200 for mid in pending)
        assert len(sink.requests) == delivered_before  # nothing was retried


def test_paging_and_token_parameters_stay_allowed(dev_server, sink):
    with dev_server.client() as c:
        _failed(c, sink, "/dead")
        wait_until(lambda: dlq_entries(c))
        token = dev_server.token
        for path in ("/v2/dlq", "/v2/events", "/v2/logs"):
            r = c.get(path, params={"count": 1, "cursor": "", "order": "earliestFirst", "qstash_token": token})
            assert r.status_code == 200, (path, r.text)
        r = c.post("/v2/dlq/retry", params={"dlqIds": dlq_entries(c)[0]["dlqId"], "upstash-retries": "0"})
        assert r.status_code == 200 and len(r.json()["responses"]) == 1


def test_labels_match_exactly_on_logs_dlq_and_cancel(dev_server, sink):
    with dev_server.client() as c:
        both = _failed(c, sink, "/l1", **{"Upstash-Label": "alpha,beta"})
        other = _failed(c, sink, "/l2", **{"Upstash-Label": "alphabet"})
        wait_until(lambda: len(dlq_entries(c)) == 2)

        def dlq(**params):
            return sorted(e["messageId"] for e in c.get("/v2/dlq", params=params).json()["messages"])

        def logged(**params):
            return {e["messageId"] for e in c.get("/v2/logs", params=params).json()["logs"]}

        assert dlq(label="alpha") == [both] and dlq(label="beta") == [both] and dlq(label="alphabet") == [other]
        assert dlq(label="alph") == [] and dlq(label="alpha,alphabet") == sorted([both, other])
        assert logged(label="beta") == {both} and logged(label="alph") == set()
        waiting = _publish(c, f"{sink.url}/w", **{"Upstash-Label": "gamma", "Upstash-Delay": "1h"})
        assert c.request("DELETE", "/v2/messages", params={"label": "gam"}).json() == {"cancelled": 0}
        assert c.request("DELETE", "/v2/messages", params={"label": "gamma"}).json() == {"cancelled": 1}
        assert c.get(f"/v2/messages/{waiting}").status_code == 404


def test_sdk_filters_work_on_logs_and_dlq(dev_server, sink):
    with dev_server.client() as c:
        flow = {"Upstash-Flow-Control-Key": "fk1", "Upstash-Flow-Control-Value": "parallelism=2"}
        keyed = _failed(c, sink, "/p1", **flow)
        plain = _failed(c, sink, "/p2")
        wait_until(lambda: len(dlq_entries(c)) == 2)

        def dlq(**params):
            return sorted(e["messageId"] for e in c.get("/v2/dlq", params=params).json()["messages"])

        def logged(**params):
            return {e["messageId"] for e in c.get("/v2/logs", params=params).json()["logs"]}

        everything = sorted([keyed, plain])
        assert dlq(flowControlKey="fk1") == [keyed] and logged(flowControlKey="fk1") == {keyed}
        assert dlq(flowControlKey="nope") == [] and logged(flowControlKey="nope") == set()
        assert dlq(callerIp="127.0.0.1") == everything and logged(callerIp="127.0.0.1") == set(everything)
        assert dlq(callerIp="10.9.8.7") == [] and logged(callerIp="10.9.8.7") == set()
        assert dlq(host="127.0.0.1") == everything and logged(host="127.0.0.1") == set(everything)
        assert dlq(host="example.com") == [] and logged(host="example.com") == set()
        assert dlq(path="/p2") == [plain] and logged(path="/p2") == {plain}
        assert dlq(path="/p2", flowControlKey="fk1") == []  # filters AND across parameters
        r = c.request("DELETE", "/v2/dlq", params={"flowControlKey": "fk1"})
        assert r.json()["deleted"] == 1 and dlq() == [plain]


def test_ids_take_precedence_over_other_filters(dev_server, sink):
    with dev_server.client() as c:
        first, second = _failed(c, sink, "/i1"), _failed(c, sink, "/i2")
        entries = wait_until(lambda: len(dlq_entries(c)) == 2 and dlq_entries(c))
        target = next(e for e in entries if e["messageId"] == first)
        r = c.get("/v2/dlq", params={"dlqIds": target["dlqId"], "path": "/i2"}).json()["messages"]
        assert [e["messageId"] for e in r] == [first]
        logs = c.get("/v2/logs", params={"messageIds": second, "path": "/i1"}).json()["logs"]
        assert logs and {e["messageId"] for e in logs} == {second}
        r = c.request("DELETE", "/v2/dlq", params={"dlqIds": target["dlqId"], "url": "http://nowhere.invalid/"})
        assert r.json()["deleted"] == 1
        assert [e["messageId"] for e in dlq_entries(c)] == [second]
        waiting = _publish(c, f"{sink.url}/w", **{"Upstash-Delay": "1h"})
        r = c.request("DELETE", "/v2/messages", params={"messageIds": waiting, "topicName": "none"})
        assert r.json() == {"cancelled": 1}


def test_bulk_without_filter_does_what_is_documented(dev_server, sink):
    """DLQ: no filter takes one page of `count` entries and answers a cursor; messages: no filter cancels all
    pending messages (QStash documents it); a count that is not a number is refused, not ignored."""
    with dev_server.client() as c:
        for i in range(3):
            _failed(c, sink, f"/n{i}")
        wait_until(lambda: len(dlq_entries(c)) == 3)
        r = c.request("DELETE", "/v2/dlq", params={"count": 2}).json()
        assert r["deleted"] == 2 and r["cursor"]
        assert len(dlq_entries(c)) == 1
        pending = [_publish(c, f"{sink.url}/w", **{"Upstash-Delay": "1h"}) for _ in range(2)]
        assert c.request("DELETE", "/v2/messages", params={"count": "lots"}).status_code == 400
        assert all(c.get(f"/v2/messages/{mid}").status_code == 200 for mid in pending)
        assert c.request("DELETE", "/v2/messages").json() == {"cancelled": 2}


WORKFLOW_TYPOS = ["labeel", "workflowRunID", "workflowRunIdz", "stat", "flowcontrolKey"]


def test_unknown_filter_never_cancels_workflow_runs(dev_server, sink):
    """`DELETE /v2/workflows/runs` (bulk cancel) with a typo answers 400 and cancels nothing."""
    with dev_server.client() as c:
        runs = [f"wfr_typo{i}" for i in range(2)]
        for run in runs:
            trigger = {"Upstash-Workflow-Init": "true", "Upstash-Workflow-RunId": run, "Upstash-Delay": "1h"}
            assert c.post(f"/v2/publish/{sink.url}/wf", content=b"{}", headers=trigger).status_code == 200

        def states():
            found = c.get("/v2/workflows/logs").json()["runs"]
            return {r["workflowRunId"]: r["workflowState"] for r in found if r["workflowRunId"] in runs}

        assert states() == dict.fromkeys(runs, "RUN_STARTED")
        for typo in WORKFLOW_TYPOS:
            r = c.request("DELETE", "/v2/workflows/runs", params={typo: "x"})
            assert r.status_code == 400 and r.json() == {"error": f"unknown filter: {typo}"}, r.text
            r = c.request("DELETE", "/v2/workflows/runs", params={typo: "x", "workflowRunIds": runs[0]})
            assert r.status_code == 400, r.text
        assert states() == dict.fromkeys(runs, "RUN_STARTED")
        r = c.request("DELETE", "/v2/workflows/runs", params={"workflowRunIds": runs[0]})
        assert r.json() == {"cancelled": 1} and states() == {runs[0]: "RUN_CANCELED", runs[1]: "RUN_STARTED"}


@pytest.mark.parametrize("blank", ["", " ", ","])
def test_blank_filter_value_is_refused_and_changes_nothing(dev_server, sink, blank):
    """`label=` (or a value of only commas and spaces) is no filter at all: on a bulk route it would widen the
    operation to everything, so it is refused."""
    with dev_server.client() as c:
        failed = _failed(c, sink, "/dead")
        wait_until(lambda: len(dlq_entries(c)) == 1)
        pending = _publish(c, f"{sink.url}/later", **{"Upstash-Delay": "1h"})
        for method, path in BULK_AND_LIST:
            r = c.request(method, path, params={"label": blank})
            assert r.status_code == 400, (method, path, r.text)
            assert r.json()["error"].startswith("empty filter: label")
        r = c.request("DELETE", "/v2/workflows/runs", params={"label": blank})
        assert r.status_code == 400, r.text
        assert [e["messageId"] for e in dlq_entries(c)] == [failed]
        assert c.get(f"/v2/messages/{pending}").status_code == 200


def test_deprecated_api_filter_is_accepted_and_ignored(dev_server, sink):
    """The official JS SDK still lets callers pass the removed `api` filter; QStash ignores it, so does qstash dev."""
    with dev_server.client() as c:
        _failed(c, sink, "/dead")
        wait_until(lambda: dlq_entries(c))
        for path, key in (("/v2/dlq", "messages"), ("/v2/events", "events")):
            plain = c.get(path).json()[key]
            r = c.get(path, params={"api": "llm"})
            assert r.status_code == 200, r.text
            assert r.json()[key] == plain
