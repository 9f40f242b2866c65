"""The official JS Workflow SDK (`@upstash/workflow` from npm, run by node) runs its workflows on `qstash dev`.

The app (tests/compat/workflow_js_app.cjs) verifies every delivery's signature and counts how often each step body
runs. It is driven with the SDK's own `Client` (trigger, notify, cancel). The same scenario runs once more inside a
loopback-only network namespace with only `QSTASH_DEV=true` set, so the SDK finds `qstash dev` by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.compat.npm import node_modules
from tests.server.helpers import wait_until

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
DEV_MODE = os.environ.get("QSTASH_COMPAT_DEV_MODE") == "1"  # set by the namespace run below


class JsApp:
    """The node process and a small client for its /control routes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["node", str(HERE / "workflow_js_app.cjs")],
            env={**os.environ, **env, "NODE_PATH": str(node_modules())},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the JS app did not start: {self.proc.stderr.read()}")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def control(self, op: str, **body) -> dict:
        r = httpx.post(f"{self.url}/control/{op}", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def state(self) -> dict:
        return self.control("state")

    def counts(self) -> dict:
        return self.state()["counts"]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def qstash(request):
    """`qstash dev` (its log is printed when the test fails)."""
    return _fixed_port_server() if DEV_MODE else request.getfixturevalue("dev_server")


def _fixed_port_server():
    """`qstash dev` where the SDK looks for it in dev mode: 127.0.0.1:8080 (inside the namespace)."""
    from tests import live

    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"qstash-devmode-{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True, exist_ok=True)
    server = live.DevServer(8080, None, directory / "dev.log", {"memory": True, "backoff_scale": 0.001})
    return server.start()


@pytest.fixture
def js_app(qstash):
    env = {"QSTASH_DEV": "true"} if DEV_MODE else {k: v for k, v in qstash.env.items()}
    if DEV_MODE:
        for name in ("QSTASH_URL", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"):
            os.environ.pop(name, None)
    app = JsApp(env)
    yield app
    app.close()
    if DEV_MODE:
        qstash.stop()


def run_of(qstash, run_id: str) -> dict | None:
    runs = httpx.get(f"{qstash.url}/v2/workflows/logs", params={"workflowRunId": run_id}, headers=qstash.auth).json()
    return runs["runs"][0] if runs["runs"] else None


def state_of(qstash, run_id: str) -> str | None:
    run = run_of(qstash, run_id)
    return run["workflowState"] if run else None


def cli_state(qstash, run_id: str) -> str:
    """The run's state as `qstash workflow logs RUN_ID --json` reports it (the CLI in a subprocess)."""
    env = {**os.environ, "QSTASH_URL": qstash.url, "QSTASH_TOKEN": qstash.token}
    r = subprocess.run(
        [sys.executable, "-m", "qstash_cli", "--json", "workflow", "logs", run_id],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["workflowState"]


def waiting(qstash, event_id: str) -> bool:
    return bool(httpx.get(f"{qstash.url}/v2/waiters/{event_id}", headers=qstash.auth).json())


def test_steps_sleep_call_parallel_and_wait_for_event(qstash, js_app):
    flow = {"key": f"wf-{uuid.uuid4().hex[:6]}", "parallelism": 1}
    run_id = js_app.control("trigger", route="/steps", body={"name": "ada"}, options={"flowControl": flow})[
        "workflowRunId"
    ]
    event_id = f"evt-{run_id}"
    wait_until(lambda: waiting(qstash, event_id), timeout=60)
    assert js_app.control("notify", eventId=event_id, data={"ok": True})  # the SDK's own notify
    wait_until(lambda: state_of(qstash, run_id) == "RUN_SUCCESS", timeout=60)
    state = js_app.state()
    assert state["counts"] == {
        "first": 1, "second": 1, "stamp": 1, "third_party": 1, "left": 1, "right": 1, "third": 1,
    }  # fmt: skip
    seen = state["seen"]
    assert seen["after_sleep"] - seen["before_sleep"] >= 2000  # the 2 s sleep was respected
    assert seen["call"] == {"status": 200, "body": {"answer": 42}}
    assert seen["parallel"] == ["L", "R"]
    assert seen["event"] == {"eventData": {"ok": True}, "timeout": False}
    run = run_of(qstash, run_id)
    assert run["workflowRunResponse"] == '"all done"'
    names = [s.get("stepName") for g in run["steps"] for s in g["steps"]]
    assert names[:4] == ["init", "first", "second", "stamp"] and names[-1] == "third"
    assert {"left", "right"} <= set(names)
    assert cli_state(qstash, run_id) == "RUN_SUCCESS"
    [call] = [s for g in run["steps"] for s in g["steps"] if s.get("stepType") == "Call"]
    assert call["callUrl"] == f"{js_app.url}/third-party?q=1" and call["callMethod"] == "POST"
    assert call["callResponseStatus"] == 200 and call["callResponseBody"] == '{"answer":42}'
    # the trigger's flow control applied to the run's steps (JS sends it on the trigger only)
    key = httpx.get(f"{qstash.url}/v2/flowControl/{flow['key']}", headers=qstash.auth)
    assert key.status_code == 200 and key.json()["parallelismMax"] == 1
    assert run["flowControlKey"] == flow["key"]


def test_failing_step_runs_the_failure_function(qstash, js_app):
    run_id = js_app.control("trigger", route="/failing", body="x", options={"retries": 0})["workflowRunId"]
    wait_until(lambda: js_app.counts().get("failure_function") == 1, timeout=60)
    wait_until(lambda: state_of(qstash, run_id) == "RUN_FAILED", timeout=30)
    state = js_app.state()
    assert state["counts"]["ok"] == 1 and state["counts"]["boom"] == 1
    assert state["seen"]["failure"]["run"] == run_id
    assert state["seen"]["failure"]["status"] == 500
    assert "broke on purpose" in state["seen"]["failure"]["message"]
    assert cli_state(qstash, run_id) == "RUN_FAILED"


def test_cancel_through_the_client(qstash, js_app):
    run_id = js_app.control("trigger", route="/long", body="x")["workflowRunId"]
    wait_until(lambda: js_app.counts().get("begin") == 1, timeout=30)
    time.sleep(0.5)  # the sleep step is being published
    history = httpx.get(f"{qstash.url}/v2/workflows/runs/{run_id}", headers=qstash.auth)  # the SDK's lazy fetch
    assert history.status_code == 200
    assert [e["callType"] for e in history.json()][:2] == ["step", "step"]
    js_app.control("cancel", ids=run_id)
    wait_until(lambda: state_of(qstash, run_id) == "RUN_CANCELED", timeout=20)
    assert js_app.counts().get("after") is None
    assert cli_state(qstash, run_id) == "RUN_CANCELED"
    assert httpx.get(f"{qstash.url}/v2/workflows/runs/{run_id}", headers=qstash.auth).status_code == 404


def test_invoke_runs_the_child_and_hands_its_result_back(qstash, js_app):
    parent = js_app.control("trigger", route="/many/parent", body={})["workflowRunId"]
    wait_until(lambda: js_app.counts().get("parent_after") == 1, timeout=40)
    wait_until(lambda: state_of(qstash, parent) == "RUN_SUCCESS", timeout=20)
    state = js_app.state()
    assert state["counts"] == {"child": 1, "parent_after": 1}
    assert state["seen"]["invoke"] == {"body": "child got 7", "isFailed": False, "isCanceled": False}
    runs = httpx.get(f"{qstash.url}/v2/workflows/logs", headers=qstash.auth).json()["runs"]
    [child] = [r for r in runs if r["workflowUrl"].endswith("/many/child")]
    assert child["workflowState"] == "RUN_SUCCESS"
    assert child["invoker"]["workflowRunId"] == parent


def test_webhook_resumes_wait_for_webhook(qstash, js_app):
    """`createWebhook` + `waitForWebhook`: a plain HTTP call (no token) to the webhook URL resumes the run; it may
    come before the wait is registered (lookback)."""
    run_id = js_app.control("trigger", route="/hook", body="x")["workflowRunId"]
    wait_until(lambda: js_app.state()["seen"].get("webhookUrl"), timeout=30)
    url = js_app.state()["seen"]["webhookUrl"]
    assert url.startswith(f"{qstash.url}/v2/workflows/hooks/defaultUser/{run_id}/")
    assert httpx.post(url, content=b"ping", headers={"X-Thing": "1"}).status_code == 200
    wait_until(lambda: state_of(qstash, run_id) == "RUN_SUCCESS", timeout=30)
    assert js_app.state()["seen"]["hook"] == {"timeout": False, "method": "POST", "body": "ping", "thing": "1"}
    assert js_app.counts() == {"tell": 1, "got": 1}
    forged = url.replace("/defaultUser/", "/someoneElse/")
    assert httpx.post(forged, content=b"x").status_code == 404


def test_redacted_run_shows_step_outputs_redacted(qstash, js_app):
    run_id = js_app.control("trigger", route="/tiny", body="secret", options={"redact": {"body": True}})[
        "workflowRunId"
    ]
    wait_until(lambda: state_of(qstash, run_id) == "RUN_SUCCESS", timeout=30)
    outs = [s.get("out") for g in run_of(qstash, run_id)["steps"] for s in g["steps"]]
    assert outs and all(o.startswith("REDACTED:") for o in outs), outs
    assert not any("secret" in o for o in outs)


def test_rest_trigger_is_taken_over_by_the_sdk(qstash, js_app):
    """`POST /v2/trigger/{url}` with no SDK on the calling side: the JS SDK re-triggers the run under the same id."""
    r = httpx.post(f"{qstash.url}/v2/trigger/{js_app.url}/tiny", content=b"rest", headers=qstash.auth)
    assert r.status_code == 200, r.text
    run_id = r.json()["workflowRunId"]
    assert run_id.startswith("wfr_") and isinstance(r.json()["workflowCreatedAt"], int)
    wait_until(lambda: state_of(qstash, run_id) == "RUN_SUCCESS", timeout=30)
    assert js_app.counts() == {"only": 1}
    assert run_of(qstash, run_id)["workflowRunResponse"] == '"tiny"'


def test_trigger_of_a_non_workflow_endpoint_fails_the_run(qstash, js_app):
    """`WF_DetectTrigger`: the endpoint answered 200 but is no workflow (no `Upstash-Workflow-Sdk-Version`)."""
    run_id = js_app.control("trigger", route="/third-party", body="x")["workflowRunId"]
    wait_until(lambda: state_of(qstash, run_id) == "RUN_FAILED", timeout=30)
    run = run_of(qstash, run_id)
    assert run["steps"][-1]["type"] == "next"
    [failed] = run["steps"][-1]["steps"]
    assert failed["state"] == "STEP_FAILED"
    assert failed["errors"][0]["error"].startswith("detected a non-workflow destination")
    assert failed["errors"][0]["body"] == '{"answer":42}'


@pytest.mark.skipif(DEV_MODE, reason="this is the outer run")
def test_dev_mode_finds_qstash_dev_inside_a_loopback_only_namespace(tmp_path):
    """QSTASH_DEV=true and nothing else: the SDK must find `qstash dev` on 127.0.0.1:8080 and never download."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (`ip netns`) for a loopback-only network namespace")
    node_modules()  # installed outside: the namespace has no network at all
    name = f"qstash-compat-{uuid.uuid4().hex[:8]}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        env = {**os.environ, "QSTASH_COMPAT_DEV_MODE": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        r = subprocess.run(
            ["ip", "netns", "exec", name, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"{__file__}::test_steps_sleep_call_parallel_and_wait_for_event"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-3000:]
        assert "1 passed" in r.stdout
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
