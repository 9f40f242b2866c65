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


def trigger(dev_server, url: str, *, label: str | None = None, retries: str | None = None, **headers: str) -> str:
    """Start a run as `client.trigger` does (`headers`: more trigger headers); its id."""
    run_id = f"wfr_cli-{uuid.uuid4().hex[:12]}"
    extra = {"Upstash-Label": label} if label else {}
    if retries is not None:
        extra["Upstash-Retries"] = retries
    extra.update(headers)
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


# -- failed runs: the workflow DLQ ----------------------------------------------------------------------------------


def failed_run(live, dev_server, sink, path: str, **headers: str) -> tuple[str, dict]:
    """A run whose first delivery fails for good (the sink answers 500, no retries): its id and its DLQ entry."""
    sink.respond(status=500, path=path)
    run_id = trigger(dev_server, f"{sink.url}{path}", retries="0", **headers)
    assert eventually(lambda: (run_of(live, run_id) or {}).get("workflowState") == "RUN_FAILED", what="RUN_FAILED")
    rows = eventually(lambda: live("workflow", "dlq", "list", "--run-id", run_id, "--json").json, what="DLQ entry")
    return run_id, rows[0]


def deliveries_of(sink, run_id: str) -> list:
    return [r for r in sink.requests if r.header("upstash-workflow-runid") == run_id]


def test_failed_runs_are_listed_restarted_resumed_and_deleted(live, dev_server, sink) -> None:
    run_id, entry = failed_run(live, dev_server, sink, "/api/fail")
    url, dlq_id = f"{sink.url}/api/fail", entry["dlqId"]
    assert (entry["workflowRunId"], entry["workflowUrl"]) == (run_id, url)
    plain = live("workflow", "dlq", "list", "--run-id", run_id).stdout.splitlines()
    assert plain[0] == "id\trun\turl\tstatus\tcreated\tfailure fn\terror"
    assert plain[1].startswith(f"{dlq_id}\t{run_id}\t{url}\t500\t")
    assert dlq_id in live("workflow", "dlq", "list", "--workflow-url", url, "-q").stdout.split()
    assert live("workflow", "dlq", "list", "--workflow-url", f"{url}/other", "-q").stdout == ""
    assert live("workflow", "dlq", "get", dlq_id, "--json").json["workflowRunId"] == run_id
    assert f"  dlq {dlq_id}" in live("workflow", "logs", run_id).stderr
    live("--api", "v1", "workflow", "dlq", "list", code=2)
    resume_run, resume_entry = failed_run(live, dev_server, sink, "/api/fail-resume")
    delete_run, delete_entry = failed_run(live, dev_server, sink, "/api/fail-delete")

    sink.reset()  # the workflow answers 200 from now on
    restarted = live("workflow", "dlq", "restart", dlq_id, "--label", "again", "--retries", "2", "-q").stdout.split()
    assert len(restarted) == 1 and restarted[0] != run_id
    first = eventually(lambda: deliveries_of(sink, restarted[0]), what="the restarted run's first delivery")
    assert first[0].path == "/api/fail"
    assert run_of(live, restarted[0])["labels"] == ["again"]

    resumed = live("workflow", "dlq", "resume", resume_entry["dlqId"], "--json").json
    assert len(resumed) == 1 and resumed[0]["workflowRunId"] != resume_run
    again = eventually(lambda: deliveries_of(sink, resumed[0]["workflowRunId"]), what="the resumed run's delivery")
    assert again[0].path == "/api/fail-resume"

    live("workflow", "dlq", "delete", delete_entry["dlqId"], code=2)  # no terminal, no --yes
    assert live("workflow", "dlq", "delete", delete_entry["dlqId"], "--yes", "-q").stdout == "1\n"
    live("workflow", "dlq", "get", delete_entry["dlqId"], code=3)
    assert run_of(live, delete_run)["workflowState"] == "RUN_FAILED"  # the run itself stays as it ended


def test_dlq_bulk_restart_and_delete_with_filters(live, dev_server, sink) -> None:
    restart = [failed_run(live, dev_server, sink, f"/api/bulk-r{i}", label="bulk-r")[1]["dlqId"] for i in range(2)]
    delete = [failed_run(live, dev_server, sink, f"/api/bulk-d{i}", label="bulk-d")[1]["dlqId"] for i in range(2)]
    assert sorted(live("workflow", "dlq", "list", "--label", "bulk-r", "-q").stdout.split()) == sorted(restart)
    live("workflow", "dlq", "restart", "--all", "--match-label", "bulk-r", code=2)  # --all without --yes
    live("workflow", "dlq", "restart", restart[0], "--match-label", "bulk-r", code=2)  # ids and filters do not mix
    sink.reset()
    new = live("workflow", "dlq", "restart", "--all", "--match-label", "bulk-r", "--yes", "-q").stdout.split()
    assert len(new) == 2
    for run_id in new:
        eventually(lambda r=run_id: deliveries_of(sink, r), what=f"the delivery of {run_id}")
    assert sorted(live("workflow", "dlq", "list", "--label", "bulk-d", "-q").stdout.split()) == sorted(delete)
    live("workflow", "dlq", "delete", "--all", "--label", "bulk-d", code=2)  # --all without --yes
    assert live("workflow", "dlq", "delete", "--all", "--label", "bulk-d", "--yes", "-q").stdout == "2\n"
    assert live("workflow", "dlq", "list", "--label", "bulk-d", "-q").stdout == ""


def test_failure_callback_is_called_again(live, dev_server, sink) -> None:
    sink.respond(status=500, path="/api/fcb")
    headers = {"Upstash-Failure-Callback": f"{sink.url}/api/fcb", "Upstash-Failure-Callback-Retries": "0"}
    run_id, entry = failed_run(live, dev_server, sink, "/api/fails-twice", **headers)

    def failure_fn() -> str:  # the "failure fn" column of the listing
        return live("workflow", "dlq", "list", "--run-id", run_id).stdout.splitlines()[1].split("\t")[5]

    assert eventually(lambda: failure_fn() == "CALLBACK_FAIL", what="the failed failure callback")
    assert entry["dlqId"] in live("workflow", "dlq", "list", "--failure-state", "fail", "-q").stdout.split()
    assert entry["dlqId"] not in live("workflow", "dlq", "list", "--failure-state", "success", "-q").stdout.split()
    sink.reset()
    assert live("workflow", "dlq", "callback", entry["dlqId"], "-q").stdout == f"{run_id}\n"
    calls = sink.wait_for(1, path="/api/fcb")
    assert calls[-1].method == "POST"
    r = live("workflow", "dlq", "callback", entry["dlqId"], code=1)  # in progress or done now: the API says 400
    assert r.stderr.startswith("Error: HTTP 400: ")
