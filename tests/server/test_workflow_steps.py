"""Workflow step publishes at the HTTP level, as the SDKs send them: a step published twice is stored once."""

from __future__ import annotations

import base64
import json

from tests.server.helpers import wait_until


def _step_headers(run_id: str, url: str, init: bool) -> dict[str, str]:
    return {
        "Upstash-Workflow-RunId": run_id,
        "Upstash-Workflow-Init": "true" if init else "false",
        "Upstash-Workflow-Url": url,
        "Upstash-Forward-Upstash-Workflow-Sdk-Version": "1",
        "Content-Type": "application/json",
    }


def test_the_same_step_published_twice_is_one_step(dev_server, sink):
    """A client that retries a step publish (e.g. across a restart of the server) must not add the step twice: the
    Python SDK stops a run whose history holds one step two times."""
    url = f"{sink.url}/wf"
    run_id = "wfr_dup_test"
    with dev_server.client() as c:
        trigger = c.post(f"/v2/publish/{url}", content=b'"start"', headers=_step_headers(run_id, url, True))
        assert trigger.status_code == 200, trigger.text
        sink.wait_for(1)
        step = json.dumps({"stepId": 1, "stepName": "a", "stepType": "Run", "out": '"x"', "concurrent": 1})
        first = c.post(f"/v2/publish/{url}", content=step, headers=_step_headers(run_id, url, False))
        again = c.post(f"/v2/publish/{url}", content=step, headers=_step_headers(run_id, url, False))
        assert first.status_code == 200 and again.status_code == 202, (first.text, again.text)
        assert again.json()["messageId"] == first.json()["messageId"] and again.json()["deduplicated"] is True
        deliveries = sink.wait_for(2)
        history = json.loads(deliveries[1].body)
        assert [base64.b64decode(e["body"]) for e in history] == [b'"start"', step.encode()]
        other = json.dumps({"stepId": 2, "stepName": "b", "stepType": "Run", "out": '"y"', "concurrent": 1})
        assert c.post(f"/v2/publish/{url}", content=other, headers=_step_headers(run_id, url, False)).status_code == 200
        sink.wait_for(3)
        wait_until(lambda: len(sink.requests) == 3)
