"""What `qstash workflow` and `qstash workflow dlq` share: the filter options (run id, workflow URL, state, label,
caller IP, flow-control key, dates), their validation into API query pairs, the ids-or-`--all` guard of the bulk
commands, and the workflows API (v2 only)."""

from __future__ import annotations

from typing import Any

import typer

from qstash_cli.commands import logs as L
from qstash_cli.errors import InputError
from qstash_cli.inputs import validate_id, validate_url
from qstash_cli.option_sets import Marker, OptionRow
from qstash_cli.settings import Settings

RUN_STATES = ("RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED")
FAILURE_STATES = ("CALLBACK_INPROGRESS", "CALLBACK_SUCCESS", "CALLBACK_FAIL")
# -- filters (parameter = keyword of `run_filters`, option, annotation) ----------------------------------------------
STATE = typer.Option(None, "--state", help="Only runs in this state (repeatable): STARTED, SUCCESS, FAILED, CANCELED.")
RUN_ID = typer.Option(None, "--run-id", help="Only this workflow run id (repeatable).")
WORKFLOW_URL = typer.Option(
    None, "--workflow-url", "--endpoint", help="Only runs of this workflow URL, exact match (repeatable)."
)
URL_PREFIX = typer.Option(None, "--url-prefix", help="Only runs whose workflow URL starts with this.")
LABEL = typer.Option(None, "--label", help="Only runs with this label (repeatable).")
CALLER_IP = typer.Option(None, "--caller-ip", metavar="IP", help="Only runs started from this IP (repeatable).")
FLOW_CONTROL_KEY = typer.Option(
    None, "--flow-control-key", metavar="KEY", help="Only runs with this flow-control key (repeatable)."
)
FAILURE_STATE = typer.Option(
    None, "--failure-state", help="Only entries whose failure callback is INPROGRESS, SUCCESS or FAIL (repeatable)."
)
MATCH_LABEL = typer.Option(None, "--match-label", help="With --all: only entries with this label (repeatable).")
MATCH_FLOW_CONTROL_KEY = typer.Option(
    None, "--match-flow-control-key", help="With --all: only entries with this flow-control key (repeatable)."
)

FILTERS = Marker("workflow filters")
_COMMON: list[OptionRow] = [
    ("label", LABEL, list[str] | None),
    ("caller_ip", CALLER_IP, list[str] | None),
    ("flow_control_key", FLOW_CONTROL_KEY, list[str] | None),
    ("from_", L.FROM, str | None),
    ("to", L.TO, str | None),
]
RUN_FILTERS: list[OptionRow] = [
    ("state", STATE, list[str] | None),
    ("run_id", RUN_ID, list[str] | None),
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    *_COMMON,
]
CANCEL_FILTERS: list[OptionRow] = [
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    ("url_prefix", URL_PREFIX, str | None),
    *_COMMON,
]
DLQ_FILTERS: list[OptionRow] = [
    ("run_id", RUN_ID, list[str] | None),
    ("workflow_url", WORKFLOW_URL, list[str] | None),
    ("failure_state", FAILURE_STATE, list[str] | None),
    *_COMMON,
]
# resume/restart take --label and --flow-control-key as settings of the new runs: their filters are --match-*.
_MATCH = {
    "label": ("match_label", MATCH_LABEL, list[str] | None),
    "flow_control_key": ("match_flow_control_key", MATCH_FLOW_CONTROL_KEY, list[str] | None),
}
START_FILTERS: list[OptionRow] = [_MATCH.get(row[0], row) for row in DLQ_FILTERS]


def _enum(value: str, allowed: tuple[str, ...], prefix: str, flag: str) -> str:
    upper = value.upper().replace("CANCELLED", "CANCELED")
    full = upper if upper.startswith(prefix) else prefix + upper
    if full not in allowed:
        shown = ", ".join(a.removeprefix(prefix) for a in allowed)
        raise InputError(f"invalid {flag} {value!r}: use one of {shown}")
    return full


def run_filters(
    *,
    exact: bool = False,
    state: list[str] | None = None,
    run_id: list[str] | None = None,
    workflow_url: list[str] | None = None,
    url_prefix: str | None = None,
    failure_state: list[str] | None = None,
    label: list[str] | None = None,
    match_label: list[str] | None = None,
    caller_ip: list[str] | None = None,
    flow_control_key: list[str] | None = None,
    match_flow_control_key: list[str] | None = None,
    from_: str | None = None,
    to: str | None = None,
) -> list[tuple[str, Any]]:
    """Validated filter options → API query pairs (`state`, `workflowRunId`, `workflowUrl`, ..., then the filters
    every listing shares: `label`, `callerIp`, `flowControlKey`, `fromDate`, `toDate`).

    `exact`: the cancel route, where a plain `workflowUrl` is a prefix (`--url-prefix`) and `--workflow-url` adds
    `workflowUrlExactMatch=true`."""
    out: list[tuple[str, Any]] = [("state", _enum(v, RUN_STATES, "RUN_", "--state")) for v in state or []]
    out += [("workflowRunId", validate_id(v, what="workflow run id")) for v in run_id or []]
    out += [("workflowUrl", validate_url(v, what="--workflow-url")) for v in workflow_url or []]
    if workflow_url and url_prefix:
        raise InputError("--workflow-url (exact) and --url-prefix do not mix: give one")
    if workflow_url and exact:
        out.append(("workflowUrlExactMatch", "true"))
    if url_prefix:
        out.append(("workflowUrl", validate_url(url_prefix, what="--url-prefix")))
    for v in failure_state or []:
        out.append(("failureFunctionState", _enum(v, FAILURE_STATES, "CALLBACK_", "--failure-state")))
    return out + L.filters(
        label=label or match_label,
        caller_ip=caller_ip,
        flow_control_key=flow_control_key or match_flow_control_key,
        from_=from_,
        to=to,
    )


def workflows_api(s: Settings) -> Any:
    """The workflows API; with --api v1 this fails (exit 2) before anything is asked or sent."""
    api = s.client().workflows
    api.runs  # noqa: B018 - V1 raises Unsupported here
    return api


def check_targets(
    ids: list[str], all_: bool, pairs: list[tuple[str, Any]], noun: str, command: str, count: int | None
) -> None:
    """Ids, or --all with optional filters; never both, never neither (nothing happens in bulk by accident)."""
    if ids and (all_ or pairs):
        raise InputError(f"give {noun} ids, or --all with optional filters, not both")
    if ids and count:
        raise InputError(f"--count applies to --all (entries per request), not to {noun} ids")
    if not ids and not all_:
        raise InputError(
            f"no {noun} ids given; to act in bulk add --all" + (" (the filters narrow it)" if pairs else ""),
            hint=f"`qstash workflow {command} --all --workflow-url URL`",
        )
