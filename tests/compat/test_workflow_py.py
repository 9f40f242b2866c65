"""The official Python Workflow SDK (`upstash-workflow` from PyPI) runs its workflows on `qstash dev`.

Each workflow is a real app (tests/compat/workflow_py_app.py) on 127.0.0.1 that verifies every delivery's signature
and counts how often each step body runs; the run's end state is read back through `qstash workflow logs`.
"""

from __future__ import annotations

import json

import httpx
import pytest
from qstash import QStash

from tests.compat.workflow_py_app import App
from tests.server.helpers import wait_until


@pytest.fixture
def app(dev_server):
    with App(dev_server.url, dev_server.token, dev_server.current_key, dev_server.next_key) as running:
        yield running


def run_of(dev_server, run_id: str) -> dict | None:
    runs = httpx.get(
        f"{dev_server.url}/v2/workflows/logs", params={"workflowRunId": run_id}, headers=dev_server.auth
    ).json()["runs"]
    return runs[0] if runs else None


def state_of(dev_server, run_id: str) -> str | None:
    run = run_of(dev_server, run_id)
    return run["workflowState"] if run else None


def start(dev_server, app: App, path: str, payload) -> str:
    """Trigger a run the way the Python SDK's docs do: publish to the endpoint through QStash (the official
    `qstash` client); the SDK's first invocation then triggers the run. Returns the run id."""
    client = QStash(dev_server.token, base_url=dev_server.url)
    client.message.publish_json(url=f"{app.url}{path}", body=payload)

    def started() -> str | None:
        runs = httpx.get(
            f"{dev_server.url}/v2/workflows/logs", params={"workflowUrl": f"{app.url}{path}"}, headers=dev_server.auth
        ).json()["runs"]
        return runs[0]["workflowRunId"] if runs else None

    return wait_until(started, timeout=20)


def test_steps_sleep_and_call_each_run_exactly_once(dev_server, app, cli, monkeypatch):
    run_id = start(dev_server, app, "/steps", {"name": "ada"})
    assert run_id.startswith("wfr_")
    wait_until(lambda: state_of(dev_server, run_id) == "RUN_SUCCESS", timeout=40)
    assert app.runs == {"first": 1, "second": 1, "stamp": 1, "third": 1, "third_party": 1}
    assert app.seen["after_sleep"] - app.seen["before_sleep"] >= 2.0  # the 2 s sleep was respected
    assert app.seen["call"] == {"status": 200, "body": {"answer": 42}}  # the call's result came back
    assert app.seen["data"] == {"n": 2, "before": "hello ada"}  # step outputs flow into later steps
    run = run_of(dev_server, run_id)
    names = [s["stepName"] for group in run["steps"] for s in group["steps"]]
    assert names[:4] == ["init", "first", "second", "stamp"] and "nap" in names and names[-1] == "third"
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    assert cli_state(cli, run_id) == "RUN_SUCCESS"


def cli_state(cli, run_id: str) -> str:
    """The run's state as `qstash workflow logs RUN_ID --json` reports it."""
    r = cli("--json", "workflow", "logs", run_id)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)["workflowState"]


def test_failing_step_runs_the_failure_function(dev_server, app, cli, monkeypatch):
    run_id = start(dev_server, app, "/failing", "payload")
    wait_until(lambda: app.runs["failure_function"] == 1, timeout=40)
    wait_until(lambda: state_of(dev_server, run_id) == "RUN_FAILED", timeout=20)
    assert app.runs["ok"] == 1 and app.runs["boom"] == 1  # retries=0: the failing body ran once
    assert app.seen["failure"]["run"] == run_id
    assert app.seen["failure"]["status"] == 500
    assert "broke on purpose" in app.seen["failure"]["message"]
    run = run_of(dev_server, run_id)
    assert run["dlqId"]
    assert run["steps"][-1]["type"] == "next" and run["steps"][-1]["steps"][0]["state"] == "STEP_FAILED"
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    assert cli_state(cli, run_id) == "RUN_FAILED"


def test_cancel_stops_a_sleeping_run(dev_server, app, cli, monkeypatch):
    run_id = start(dev_server, app, "/long", "x")
    wait_until(lambda: app.runs["begin"] == 1, timeout=20)
    wait_until(
        lambda: (
            any(s.get("stepName") == "long-nap" for g in run_of(dev_server, run_id)["steps"] for s in g["steps"])
            or _sleeping(dev_server, run_id)
        ),
        timeout=20,
    )
    r = httpx.delete(f"{dev_server.url}/v2/workflows/runs/{run_id}", params={"cancel": "true"}, headers=dev_server.auth)
    assert r.status_code == 200, r.text
    assert state_of(dev_server, run_id) == "RUN_CANCELED"
    assert httpx.get(f"{dev_server.url}/v2/workflows/runs/{run_id}", headers=dev_server.auth).status_code == 404
    assert app.runs["after"] == 0
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    assert cli_state(cli, run_id) == "RUN_CANCELED"


def _sleeping(dev_server, run_id: str) -> bool:
    run = run_of(dev_server, run_id)
    return bool(run) and run["steps"][-1]["type"] == "next"


def test_failed_run_in_the_workflow_dlq_then_resume_and_restart(dev_server, app, cli, monkeypatch):
    run_id = start(dev_server, app, "/failing", "payload")
    wait_until(lambda: state_of(dev_server, run_id) == "RUN_FAILED", timeout=40)
    auth = dev_server.auth
    [entry] = httpx.get(f"{dev_server.url}/v2/workflows/dlq", headers=auth).json()["messages"]
    assert entry["workflowRunId"] == run_id and entry["responseStatus"] == 500
    same = httpx.get(f"{dev_server.url}/v2/dlq", params={"source": "workflow", "workflowRunId": run_id}, headers=auth)
    assert [e["dlqId"] for e in same.json()["messages"]] == [entry["dlqId"]]
    typo = httpx.get(f"{dev_server.url}/v2/workflows/dlq", params={"workflowRunld": run_id}, headers=auth)
    assert typo.status_code == 400 and "workflowRunld" in typo.json()["error"]
    app.boom_fails = False
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    r = cli("--json", "workflow", "dlq", "resume", entry["dlqId"])
    assert r.exit_code == 0, r.stderr
    resumed = json.loads(r.stdout)
    resumed = resumed[0] if isinstance(resumed, list) else resumed
    new_id = resumed.get("workflowRunId") or resumed["workflowRuns"][0]["workflowRunId"]
    assert new_id != run_id
    wait_until(lambda: state_of(dev_server, new_id) == "RUN_SUCCESS", timeout=40)
    assert app.runs["ok"] == 1 and app.runs["boom"] == 2  # resumed at the failed step: "ok" did not run again
    assert httpx.get(f"{dev_server.url}/v2/workflows/dlq", headers=auth).json()["messages"] == []
    # restart: a new run from the initial payload, every step again
    app.boom_fails = True
    second = start_new(dev_server, app, "/failing", "again", known={run_id, new_id})
    wait_until(lambda: state_of(dev_server, second) == "RUN_FAILED", timeout=40)
    [entry] = httpx.get(f"{dev_server.url}/v2/workflows/dlq", headers=auth).json()["messages"]
    app.boom_fails = False
    r = cli("--json", "workflow", "dlq", "restart", entry["dlqId"])
    assert r.exit_code == 0, r.stderr
    wait_until(lambda: app.runs["ok"] == 3 and app.runs["boom"] == 4, timeout=40)  # all of it ran again


def start_new(dev_server, app: App, path: str, payload, known: set[str]) -> str:
    """Like `start`, when runs of that URL exist already."""
    QStash(dev_server.token, base_url=dev_server.url).message.publish_json(url=f"{app.url}{path}", body=payload)

    def started() -> str | None:
        runs = httpx.get(
            f"{dev_server.url}/v2/workflows/logs", params={"workflowUrl": f"{app.url}{path}"}, headers=dev_server.auth
        ).json()["runs"]
        fresh = [r["workflowRunId"] for r in runs if r["workflowRunId"] not in known]
        return fresh[0] if fresh else None

    return wait_until(started, timeout=20)
