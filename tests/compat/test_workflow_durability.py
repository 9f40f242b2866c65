"""A `qstash dev` killed with SIGKILL in the middle of a workflow run finishes the run after a restart, and no step
body runs twice (the official Python Workflow SDK as the app)."""

from __future__ import annotations

import time

import httpx
import pytest
from qstash import QStash

from tests.compat.workflow_py_app import App
from tests.server.helpers import wait_until


def _run(server, url: str) -> dict | None:
    runs = httpx.get(f"{server.url}/v2/workflows/logs", params={"workflowUrl": url}, headers=server.auth).json()
    return runs["runs"][0] if runs["runs"] else None


def _step_names(server, url: str) -> list[str]:
    run = _run(server, url)
    return [s.get("stepName", "") for g in (run or {}).get("steps", []) for s in g["steps"]]


def _sleeping(server, url: str) -> bool:
    """The run waits on its delayed step, due in more than half a second: nothing is in flight."""
    run = _run(server, url) or {"steps": []}
    pending = run["steps"][-1]["steps"] if run["steps"] and run["steps"][-1]["type"] == "next" else []
    return any(p["nextDeliveryTime"] > time.time() * 1000 + 500 for p in pending)


@pytest.mark.timeout(360)  # two restarts and a sleep: longer than the suite's default on a loaded machine
def test_sigkill_mid_run_then_restart_finishes_with_each_step_once(dev_server):
    with App(dev_server.url, dev_server.token, dev_server.current_key, dev_server.next_key) as app:
        url = f"{app.url}/durable"
        QStash(dev_server.token, base_url=dev_server.url).message.publish_json(url=url, body="go")
        # 1: killed the moment step s2's result is stored, before its delivery's outcome is: the endpoint did
        # its work, so that delivery must not be repeated (s2 would run twice).
        wait_until(lambda: "s2" in _step_names(dev_server, url), timeout=60, interval=0.005)
        dev_server.kill()
        dev_server.start()
        # 2: killed during the sleep: the delayed step is on disk and fires after the restart. (On a machine so
        # loaded that the restart outlasted the sleep, there is no sleep left to interrupt.)
        wait_until(lambda: _sleeping(dev_server, url) or app.runs["s3"] > 0, timeout=60, interval=0.01)
        if app.runs["s3"] == 0:
            dev_server.kill()
            dev_server.start()
        wait_until(lambda: (_run(dev_server, url) or {}).get("workflowState") == "RUN_SUCCESS", timeout=120)
        assert app.runs == {"s1": 1, "s2": 1, "s3": 1, "s4": 1, "s5": 1}
