"""What delivering a workflow step adds to a plain delivery: the run's headers, the check that a trigger reached a
workflow endpoint, and which delivery in flight a step publish of its run comes from (its "producer")."""

from __future__ import annotations

import dataclasses

from qstash_cli.server.models import Outcome

NOT_A_WORKFLOW = (
    "detected a non-workflow destination for trigger/invoke. make sure you are sending the request to the correct "
    "endpoint"
)


def workflow_headers(run: dict, wf: dict) -> list[tuple[str, str]]:
    """What QStash adds to every delivery of a workflow run (workflow-protocol.md 1.5)."""
    headers = [
        ("Upstash-Workflow-RunId", run["id"]),
        ("Upstash-Workflow-Url", run["url"]),
        ("Upstash-Workflow-CreatedAt", str(run["created_at"])),
    ]
    if wf.get("unknownSdk"):  # a REST trigger: the SDK re-triggers the run itself (1.2 c)
        headers.append(("Upstash-Workflow-Unknown-Sdk", "true"))
    return headers


def refused_trigger(wf: dict, outcome: Outcome) -> Outcome:
    """`WF_DetectTrigger`: a trigger's 2xx without `Upstash-Workflow-Sdk-Version` came from no workflow endpoint;
    it fails the run at once (2.9)."""
    if not (wf.get("detect") and outcome.ok):
        return outcome
    if any(name.lower() == "upstash-workflow-sdk-version" for name in outcome.headers):
        return outcome
    return dataclasses.replace(outcome, refused=True, error=NOT_A_WORKFLOW, retry_at=None)


class RunsInFlight:
    """Workflow deliveries in flight, each with the `stepId` its endpoint will publish next. A publish of that step
    is the delivery's work: stored with it, the delivery is not repeated after a crash (see `workflow.ADVANCED`)."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, int]] = {}

    def expect(self, run_id: str, message_id: str, step_id: int | None) -> None:
        """Note (or, with None, forget) that the delivery in flight will make its endpoint publish `step_id`."""
        found = self._runs.setdefault(run_id, {})
        if step_id is not None:
            found[message_id] = step_id
        else:
            found.pop(message_id, None)
            if not found:
                del self._runs[run_id]

    def producer_of(self, run_id: str, step_id: int | None) -> str | None:
        """The delivery in flight whose endpoint is publishing step `step_id` of the run."""
        if step_id is None:
            return None
        found = [m for m, expected in self._runs.get(run_id, {}).items() if expected == step_id]
        return found[0] if len(found) == 1 else None
