"""`qstash workflow` against a real `qstash dev`: runs started, stepped, waited and notified the way the Workflow SDKs
do it on the wire (trigger publish, step publish, `POST /v2/wait/…`), delivered to a real sink; then listed, read,
notified and cancelled through the CLI. (The SDKs themselves run in tests/compat.)"""

from __future__ import annotations

import base64
import json
import uuid

import httpx

from tests.e2e.test_messages_e2e import eventually


def _publish(dev_server, url: str, run_id: str, body: bytes, **headers: str) -> None:
    answer = httpx.post(
        f"{dev_server.url}/v2/publish/{url}",
        headers={**dev_server.auth, "Upstash-Workflow-RunId": run_id, "Upstash-Workflow-Url": url, **headers},
        content=body,
    )
    assert answer.status_code in (200, 201), answer.text


def trigger(dev_server, url: str, *, label: str | None = None) -> str:
    """Start a run as `client.trigger` does; its id."""
    run_id = f"wfr_cli-{uuid.uuid4().hex[:12]}"
    extra = {"Upstash-Label": label} if label else {}
    _publish(dev_server, url, run_id, b'{"order":42}', **{"Upstash-Workflow-Init": "true", **extra})
    return run_id


def step(dev_server, url: str, run_id: str, step_id: int, name: str, out: object) -> None:
    """Submit a `context.run` result as the SDK does: a publish into the run carrying the step JSON."""
    body = {"stepId": step_id, "stepName": name, "stepType": "Run", "out": json.dumps(out), "concurrent": 1}
    _publish(dev_server, url, run_id, json.dumps(body).encode(), **{"Upstash-Workflow-Init": "false"})


def run_of(live, run_id: str) -> dict | None:
    runs = live("workflow", "runs", "--run-id", run_id, "--json").json
    return runs[0] if runs else None


def step_names(live, run_id: str) -> list[str]:
    run = live("workflow", "logs", run_id, "--json").json
    return [s.get("stepName") for group in run["steps"] for s in group["steps"] if group["type"] != "next"]


def test_runs_logs_and_cancel(live, dev_server, sink) -> None:
    url = f"{sink.url}/api/wf"
    run_id = trigger(dev_server, url, label="nightly")
    sink.wait_for(1, path="/api/wf")  # the first delivery (the SDK would now run the first step)
    step(dev_server, url, run_id, 1, "charge", {"paid": True})
    assert eventually(lambda: step_names(live, run_id) == ["init", "charge"], what="the charge step in the logs")

    run = run_of(live, run_id)
    assert (run["workflowUrl"], run["workflowState"], run.get("labels")) == (url, "RUN_STARTED", ["nightly"])
    assert run_id in live("workflow", "runs", "--label", "nightly", "-q").stdout.split()
    assert run_id not in live("workflow", "runs", "--label", "other", "-q").stdout.split()
    assert run_id in live("workflow", "runs", "--workflow-url", url, "--state", "started", "-q").stdout.split()
    plain = live("workflow", "runs", "--run-id", run_id).stdout.splitlines()
    assert plain[0] == "id\turl\tstate\tcreated\tcompleted\tlabels"
    assert plain[1].startswith(f"{run_id}\t{url}\tRUN_STARTED\t") and plain[1].endswith("\tnightly")

    logs = live("workflow", "logs", run_id)
    assert logs.stdout.splitlines()[0] == "step\tname\ttype\tstate\tout\ttime\tdetail"
    assert logs.stdout.splitlines()[1].startswith("0\tinit\tInitial\tSTEP_SUCCESS\t")
    assert logs.stdout.splitlines()[2].startswith('1\tcharge\tRun\tSTEP_SUCCESS\t{"paid": true}\t')
    assert logs.stderr.startswith(f"{run_id}  RUN_STARTED  {url}  created ")
    assert len(live("workflow", "logs", run_id, "-q").stdout.split()) >= 2  # the steps' message ids
    live("workflow", "logs", "wfr_no-such-run", code=3)
    live("--api", "v1", "workflow", "runs", code=2)

    live("workflow", "cancel", run_id, code=2)  # no terminal, no --yes
    assert live("workflow", "cancel", run_id, "--yes", "-q").stdout == "1\n"
    assert eventually(lambda: run_of(live, run_id)["workflowState"] == "RUN_CANCELED", what="RUN_CANCELED")
    assert live("workflow", "logs", run_id).stderr.startswith(f"{run_id}  RUN_CANCELED  ")
    assert run_id in live("workflow", "runs", "--state", "canceled", "-q").stdout.split()


def test_bulk_cancel_by_label_leaves_the_others(live, dev_server, sink) -> None:
    url = f"{sink.url}/api/bulk"
    tagged = [trigger(dev_server, url, label="batch-7") for _ in range(3)]
    other = trigger(dev_server, url, label="keep")
    live("workflow", "cancel", "--all", "--label", "batch-7", code=2)  # --all without --yes
    assert live("workflow", "cancel", "--all", "--label", "batch-7", "--yes", "--json").json == {"cancelled": 3}
    assert {run_of(live, r)["workflowState"] for r in tagged} == {"RUN_CANCELED"}
    assert run_of(live, other)["workflowState"] == "RUN_STARTED"
    assert live("workflow", "cancel", "--all", "--url-prefix", f"{sink.url}/api/", "-y", "-q").stdout == "1\n"
    assert run_of(live, other)["workflowState"] == "RUN_CANCELED"


def test_wait_waiters_and_notify(live, dev_server, sink) -> None:
    url = f"{sink.url}/api/wait"
    run_id = trigger(dev_server, url)
    sink.wait_for(1, path="/api/wait")
    event = f"order-{uuid.uuid4().hex[:8]}-paid"
    assert live("workflow", "waiters", event, "--json").json == []
    nobody = live("workflow", "notify", event, "-d", "early")
    assert "no run was waiting for this event" in nobody.stderr

    wait = {"url": url, "timeout": "1h", "step": {"stepId": 1, "stepName": "paid", "stepType": "Wait", "concurrent": 1}}
    headers = {**dev_server.auth, "Upstash-Workflow-RunId": run_id, "Upstash-Workflow-Url": url}
    assert httpx.post(f"{dev_server.url}/v2/wait/{event}", headers=headers, json=wait).status_code == 200
    assert live("workflow", "waiters", event, "-q").stdout == f"{run_id}\n"
    row = live("workflow", "waiters", event).stdout.splitlines()[1].split("\t")
    assert row[:2] == [run_id, url] and row[2].endswith("Z")  # the deadline, an hour ahead

    sink.reset()
    message_id = live("workflow", "notify", event, "-d", '{"amount": 10}', "-q").stdout.strip()
    assert message_id
    [delivery] = sink.wait_for(1, path="/api/wait")
    history = json.loads(delivery.body)
    result = json.loads(base64.b64decode(history[-1]["body"]))
    assert (result["stepName"], result["waitTimeout"]) == ("paid", False)
    assert base64.b64decode(result["out"]) == b'{"amount": 10}'
    assert live("workflow", "waiters", event, "-q").stdout == ""  # notified waiters are gone
    assert "step 1 paid, Wait)" in live("logs", "--message-id", message_id).stdout  # `qstash logs` names the step
