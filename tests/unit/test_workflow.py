"""`qstash workflow runs|logs|cancel|notify|waiters|dlq …` (v2 only) and the workflow note of `qstash logs`: exact
requests (method, raw path and query, headers, body), cursors, bulk guards, every output mode."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import MOCK_TOKEN
from tests.unit.test_messages import T0, assert_sent, assert_usage_error, sent

URL = "https://app.example.com/api/wf"
URL_Q = "https%3A%2F%2Fapp.example.com%2Fapi%2Fwf"
RUN1 = {
    "workflowRunId": "wfr_1",
    "workflowUrl": URL,
    "workflowState": "RUN_SUCCESS",
    "workflowRunCreatedAt": T0,
    "workflowRunCompletedAt": T0 + 5000,
    "workflowRunResponse": "done",
    "label": "a",
    "labels": ["a", "b"],
    "steps": [],
}
STEPS = [
    {"type": "sequential", "steps": [
        {"stepId": 0, "stepName": "init", "stepType": "Initial", "state": "STEP_SUCCESS", "out": '{"order":42}',
         "createdAt": T0, "messageId": "msg_s0", "concurrent": 1},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 1, "stepName": "pause", "stepType": "SleepFor", "sleepFor": 10, "state": "STEP_SUCCESS",
         "createdAt": T0 + 1000, "messageId": "msg_s1", "concurrent": 1},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 2, "stepName": "fetch", "stepType": "Call", "callUrl": "https://api.example.com/x",
         "callMethod": "POST", "callResponseStatus": 200, "out": "x" * 100, "state": "STEP_SUCCESS",
         "createdAt": T0 + 11000, "messageId": "msg_s2", "concurrent": 1},
    ]},
    {"type": "parallel", "steps": [
        {"stepId": 3, "stepName": "a", "stepType": "Run", "out": {"n": 1}, "state": "STEP_SUCCESS",
         "createdAt": T0 + 12000, "messageId": "msg_s3", "concurrent": 2},
        {"stepId": 4, "stepName": "b", "stepType": "Run", "out": 2, "state": "STEP_SUCCESS",
         "createdAt": T0 + 12000, "messageId": "msg_s4", "concurrent": 2},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 5, "stepName": "lookup", "stepType": "Call", "out": '{"status": 404, "body": "no"}',
         "state": "STEP_SUCCESS", "createdAt": T0 + 12500, "messageId": "msg_c"},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 5, "stepName": "paid", "stepType": "Wait", "waitEventId": "evt-1", "waitTimeoutDuration": "7d",
         "waitTimeout": True, "state": "STEP_SUCCESS", "createdAt": T0 + 13000, "messageId": "msg_s5"},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 6, "stepName": "child", "stepType": "Invoke", "invokedWorkflowRunId": "wfr_c",
         "invokedWorkflowUrl": "https://app.example.com/api/child", "out": "", "state": "STEP_SUCCESS",
         "createdAt": T0 + 14000, "messageId": "msg_s6"},
    ]},
    {"type": "sequential", "steps": [
        {"stepId": 7, "stepName": "nap", "stepType": "SleepUntil", "sleepUntil": T0 // 1000 + 60,
         "state": "STEP_SUCCESS", "createdAt": T0 + 15000, "messageId": "msg_s7"},
    ]},
    {"type": "next", "steps": [
        {"messageId": "msg_next", "state": "STEP_RETRY", "retries": 2, "nextDeliveryTime": T0 + 76000,
         "errors": [{"error": "oops", "status": 502, "time": T0 + 15500}, {"error": "boom", "status": 500,
                                                                          "time": T0 + 16000, "body": "x"}]},
    ]},
]  # fmt: skip
RUN2 = {
    "workflowRunId": "wfr_2",
    "workflowUrl": URL,
    "workflowState": "RUN_STARTED",
    "workflowRunCreatedAt": T0 - 60000,
    "steps": STEPS,
}


def upstash_headers(request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("upstash-")}


# -- runs -----------------------------------------------------------------------------------------------------------


def test_runs_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"cursor": "c1", "runs": [RUN1, RUN2]})
    r = cli("workflow", "runs")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/workflows/logs")
    assert r.stdout.splitlines() == [
        "id\turl\tstate\tcreated\tcompleted\tlabels",
        f"wfr_1\t{URL}\tRUN_SUCCESS\t2023-11-14T22:13:20Z\t2023-11-14T22:13:25Z\ta,b",
        f"wfr_2\t{URL}\tRUN_STARTED\t2023-11-14T22:12:20Z\t\t",
    ]
    assert len(mock_api.requests) == 1  # one page unless --all / --limit
    assert cli("workflow", "runs", "--json").json == [RUN1, RUN2]
    assert cli("workflow", "runs", "-q").stdout == "wfr_1\nwfr_2\n"
    table = cli("workflow", "runs", tty=True).stdout
    assert "RUN_SUCCESS" in table and "a,b" in table and "\t" not in table


def test_runs_label_falls_back_to_the_legacy_field(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"runs": [{**RUN1, "labels": None, "label": "old"}]})
    assert cli("workflow", "runs").stdout.splitlines()[1].endswith("\told")


def test_runs_filters_in_the_query(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"runs": []})
    r = cli(
        "workflow", "runs", "--state", "failed", "--state", "RUN_SUCCESS", "--state", "cancelled",
        "--run-id", "wfr_1", "--workflow-url", URL, "--label", "nightly", "--from", str(T0), "--to", str(T0 + 1),
        "--caller-ip", "10.0.0.1", "--flow-control-key", "db",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert_sent(
        mock_api,
        "GET",
        "/v2/workflows/logs?state=RUN_FAILED&state=RUN_SUCCESS&state=RUN_CANCELED&workflowRunId=wfr_1"
        f"&workflowUrl={URL_Q}&label=nightly&callerIp=10.0.0.1&flowControlKey=db&fromDate={T0}&toDate={T0 + 1}",
    )
    assert r.stdout == "id\turl\tstate\tcreated\tcompleted\tlabels\n"


def test_runs_endpoint_is_an_alias_of_workflow_url(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"runs": []})
    assert cli("workflow", "runs", "--endpoint", URL).exit_code == 0
    assert_sent(mock_api, "GET", f"/v2/workflows/logs?workflowUrl={URL_Q}")


def test_runs_all_follows_cursors_and_limit_pages_by_ten(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"cursor": "c1", "runs": [RUN1]}, times=1)
    mock_api.add("GET", "/v2/workflows/logs", {"cursor": "", "runs": [RUN2]})
    r = cli("workflow", "runs", "--all", "-q")
    assert r.exit_code == 0 and r.stdout == "wfr_1\nwfr_2\n"
    assert sent(mock_api) == [("GET", "/v2/workflows/logs"), ("GET", "/v2/workflows/logs?cursor=c1")]
    mock_api.requests.clear()
    mock_api.routes.clear()
    page = [{**RUN1, "workflowRunId": f"wfr_{i}"} for i in range(10)]
    mock_api.add("GET", "/v2/workflows/logs", {"cursor": "c1", "runs": page})
    r = cli("workflow", "runs", "--limit", "12", "--json")
    assert [run["workflowRunId"] for run in r.json] == [f"wfr_{i}" for i in range(10)] + ["wfr_0", "wfr_1"]
    assert sent(mock_api) == [
        ("GET", "/v2/workflows/logs?count=10"),
        ("GET", "/v2/workflows/logs?count=10&cursor=c1"),
    ]


# -- logs RUN_ID ----------------------------------------------------------------------------------------------------


def test_logs_shows_the_steps_in_order_with_details(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"runs": [RUN2]})
    r = cli("workflow", "logs", "wfr_2")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/workflows/logs?workflowRunId=wfr_2")
    assert r.stdout.splitlines() == [
        "step\tname\ttype\tstate\tout\ttime\tdetail",
        '0\tinit\tInitial\tSTEP_SUCCESS\t{"order":42}\t2023-11-14T22:13:20Z\t',
        "1\tpause\tSleepFor\tSTEP_SUCCESS\t\t2023-11-14T22:13:21Z\tsleep 10s",
        f"2\tfetch\tCall\tSTEP_SUCCESS\t{'x' * 59}…\t2023-11-14T22:13:31Z\tPOST https://api.example.com/x -> 200",
        '3\ta\tRun\tSTEP_SUCCESS\t{"n":1}\t2023-11-14T22:13:32Z\tparallel x2',
        "4\tb\tRun\tSTEP_SUCCESS\t2\t2023-11-14T22:13:32Z\tparallel x2",
        '5\tlookup\tCall\tSTEP_SUCCESS\t{"status": 404, "body": "no"}\t2023-11-14T22:13:32Z\tcall -> 404',
        "5\tpaid\tWait\tSTEP_SUCCESS\t\t2023-11-14T22:13:33Z\twait for evt-1 (timeout 7d), timed out",
        "6\tchild\tInvoke\tSTEP_SUCCESS\t\t2023-11-14T22:13:34Z\tinvoked wfr_c https://app.example.com/api/child",
        "7\tnap\tSleepUntil\tSTEP_SUCCESS\t\t2023-11-14T22:13:35Z\tsleep until 2023-11-14T22:14:20Z",
        "\t(next)\tnext\tSTEP_RETRY\t\t2023-11-14T22:13:36Z\tHTTP 500: boom (2 errors); retries 2; next delivery"
        " 2023-11-14T22:14:36Z",
    ]
    assert r.stderr == f"wfr_2  RUN_STARTED  {URL}  created 2023-11-14T22:12:20Z\n"
    quiet = cli("workflow", "logs", "wfr_2", "-q")
    assert quiet.stdout.split() == [*(f"msg_s{i}" for i in range(5)), "msg_c", "msg_s5", "msg_s6", "msg_s7", "msg_next"]
    assert quiet.stderr == ""
    as_json = cli("workflow", "logs", "wfr_2", "--json")
    assert as_json.json == RUN2 and as_json.stderr == ""
    table = cli("workflow", "logs", "wfr_2", tty=True)
    assert "sleep 10s" in table.stdout and "(next)" in table.stdout and "RUN_STARTED" in table.stderr


def test_logs_summary_names_completion_response_failure_function_and_dlq(cli, mock_api) -> None:
    run = {**RUN1, "workflowState": "RUN_FAILED", "failureFunction": {"state": "CALLBACK_SUCCESS"}, "dlqId": "d-1"}
    mock_api.add("GET", "/v2/workflows/logs", {"runs": [run]})
    r = cli("workflow", "logs", "wfr_1")
    assert r.exit_code == 0 and r.stdout == "step\tname\ttype\tstate\tout\ttime\tdetail\n"
    assert r.stderr == (
        f"wfr_1  RUN_FAILED  {URL}  created 2023-11-14T22:13:20Z  completed 2023-11-14T22:13:25Z  response done"
        "  failure function CALLBACK_SUCCESS  dlq d-1\n"
    )


@pytest.mark.parametrize("answer", [{"runs": []}, {"runs": [RUN1]}, {"cursor": ""}])
def test_logs_of_an_unknown_run_is_not_found(cli, mock_api, answer) -> None:
    mock_api.add("GET", "/v2/workflows/logs", answer)  # RUN1: a server that ignored the filter
    r = cli("workflow", "logs", "wfr_nope")
    assert r.exit_code == 3 and r.stdout == "" and "Error: no workflow run 'wfr_nope'" in r.stderr
    assert "Traceback" not in r.stderr


# -- cancel ---------------------------------------------------------------------------------------------------------


def test_cancel_by_ids(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 1})
    r = cli("workflow", "cancel", "wfr_1", "--yes")
    assert r.exit_code == 0 and r.stdout == "cancelled\t1\n" and r.stderr == ""
    assert_sent(mock_api, "DELETE", "/v2/workflows/runs?workflowRunIds=wfr_1")
    mock_api.routes.clear()
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 2})
    r = cli("workflow", "cancel", "wfr_1", "wfr_2", "-y", "--json")
    assert r.json == {"cancelled": 2, "workflowRunIds": ["wfr_1", "wfr_2"]}
    assert_sent(mock_api, "DELETE", "/v2/workflows/runs?workflowRunIds=wfr_1&workflowRunIds=wfr_2")
    assert cli("workflow", "cancel", "wfr_1", "wfr_2", "-y", "-q").stdout == "2\n"
    assert "cancelled" in cli("workflow", "cancel", "wfr_1", "wfr_2", "-y", tty=True).stdout


def test_cancel_warns_about_runs_not_cancelled(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 1})
    r = cli("workflow", "cancel", "wfr_1", "wfr_2", "--yes")
    assert r.exit_code == 0 and r.stdout == "cancelled\t1\n"
    assert r.stderr == "Warning: 1 of the runs were not cancelled (unknown, or already ended)\n"


def test_cancel_all_with_filters_repeats_until_nothing_is_cancelled(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 100}, times=1)
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 3}, times=1)
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 0})
    r = cli(
        "workflow", "cancel", "--all", "--workflow-url", URL, "--label", "nightly", "--from", str(T0),
        "--to", str(T0 + 9), "--caller-ip", "10.0.0.1", "--flow-control-key", "db", "--yes",
    )  # fmt: skip
    assert r.exit_code == 0 and r.stdout == "cancelled\t103\n", r.stderr
    query = (
        f"workflowUrl={URL_Q}&workflowUrlExactMatch=true&label=nightly&callerIp=10.0.0.1&flowControlKey=db"
        f"&fromDate={T0}&toDate={T0 + 9}&count=100"
    )
    assert sent(mock_api) == [("DELETE", f"/v2/workflows/runs?{query}")] * 3
    assert_sent(mock_api, "DELETE", f"/v2/workflows/runs?{query}")


def test_cancel_all_by_prefix_and_everything(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 0})
    r = cli("workflow", "cancel", "--all", "--url-prefix", "https://app.example.com/api/", "-y", "--json")
    assert r.exit_code == 0 and r.json == {"cancelled": 0}
    assert_sent(mock_api, "DELETE", "/v2/workflows/runs?workflowUrl=https%3A%2F%2Fapp.example.com%2Fapi%2F&count=100")
    r = cli("workflow", "cancel", "--all", "-y", "-q")
    assert r.stdout == "0\n"
    assert_sent(mock_api, "DELETE", "/v2/workflows/runs?count=100")


def test_cancel_guards(cli, mock_api) -> None:
    assert_usage_error(cli("workflow", "cancel", "--yes"), mock_api, "no workflow run ids given", "add --all")
    assert_usage_error(cli("workflow", "cancel", "--label", "x", "-y"), mock_api, "the filters narrow it")
    assert_usage_error(cli("workflow", "cancel", "--all"), mock_api, "without --yes")
    assert_usage_error(cli("workflow", "cancel", "wfr_1"), mock_api, "without --yes")
    assert_usage_error(cli("workflow", "cancel", "wfr_1", "--all", "-y"), mock_api, "not both")
    assert_usage_error(
        cli("workflow", "cancel", "--all", "--workflow-url", URL, "--url-prefix", URL, "-y"), mock_api, "do not mix"
    )


def test_cancel_on_a_terminal_asks(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 0})
    declined = cli("workflow", "cancel", "--all", "--label", "x", stdin="n\n", stdin_tty=True)
    assert declined.exit_code == 1 and mock_api.requests == []
    assert "Cancel every running workflow run matching label=x?" in declined.stderr
    accepted = cli("workflow", "cancel", "wfr_1", stdin="y\n", stdin_tty=True)
    assert "Cancel workflow run wfr_1?" in accepted.stderr
    assert accepted.exit_code == 0 and sent(mock_api) == [("DELETE", "/v2/workflows/runs?workflowRunIds=wfr_1")]
    everything = cli("workflow", "cancel", "--all", stdin="n\n", stdin_tty=True)
    assert "Cancel every running workflow run of the account (EVERY one)?" in everything.stderr


# -- notify and waiters ---------------------------------------------------------------------------------------------

WAITER = {
    "url": URL,
    "deadline": T0 // 1000 + 3600,
    "headers": {"Upstash-Workflow-RunId": ["wfr_2"], "Content-Type": ["application/json"]},
    "timeoutUrl": URL,
    "timeoutHeaders": {},
}
NOTIFIED = [{"waiter": WAITER, "messageId": "msg_n1", "error": ""}, {"waiter": {"url": URL}, "messageId": "msg_n2"}]


def assert_posted(mock_api, path: str, content: bytes) -> None:
    req = mock_api.last
    assert (req.method, mock_api.path(req)) == ("POST", path)
    assert req.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    assert req.content == content and upstash_headers(req) == {}


def test_notify_sends_the_data_as_the_body(cli, mock_api, tmp_path) -> None:
    mock_api.add("POST", "/v2/notify/order-42:paid", NOTIFIED)
    r = cli("workflow", "notify", "order-42:paid", "-d", '{"amount": 10}')
    assert r.exit_code == 0, r.stderr
    assert_posted(mock_api, "/v2/notify/order-42:paid", b'{"amount": 10}')
    assert r.stdout.splitlines() == ["message\trun\twaiter url\terror", f"msg_n1\twfr_2\t{URL}\t", f"msg_n2\t\t{URL}\t"]
    file = tmp_path / "event.json"
    file.write_bytes(b"\x00binary\xff")
    assert cli("workflow", "notify", "order-42:paid", "--data", f"@{file}", "--json").json == NOTIFIED
    assert_posted(mock_api, "/v2/notify/order-42:paid", b"\x00binary\xff")
    assert cli("workflow", "notify", "order-42:paid", "-q").stdout == "msg_n1\nmsg_n2\n"
    assert_posted(mock_api, "/v2/notify/order-42:paid", b"")
    assert "msg_n1" in cli("workflow", "notify", "order-42:paid", "-d", "@-", stdin=b"hi", tty=True).stdout
    assert_posted(mock_api, "/v2/notify/order-42:paid", b"hi")


def test_notify_a_run_uses_the_run_scoped_route(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/notify/wfr_2/evt%201", {"messageId": "msg_n1", "workflowRunId": "wfr_2"})
    r = cli("workflow", "notify", "evt 1", "--run-id", "wfr_2", "-d", "x")
    assert_usage_error(r, mock_api, "invalid event id")  # spaces are refused …
    mock_api.routes.clear()
    mock_api.add("POST", "/v2/notify/wfr_2/evt-1", {"messageId": "msg_n1", "workflowRunId": "wfr_2"})
    r = cli("workflow", "notify", "evt-1", "--run-id", "wfr_2", "-d", "x")
    assert r.exit_code == 0, r.stderr
    assert_posted(mock_api, "/v2/notify/wfr_2/evt-1", b"x")
    assert r.stdout.splitlines() == ["message\trun\twaiter url\terror", "msg_n1\twfr_2\t\t"]  # one object: one row
    assert cli("workflow", "notify", "evt-1", "--run-id", "wfr_2", "--json").json == [
        {"messageId": "msg_n1", "workflowRunId": "wfr_2"}
    ]


def test_notify_without_waiters_says_the_event_is_lost(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/notify/evt-1", [])
    r = cli("workflow", "notify", "evt-1")
    assert r.exit_code == 0 and r.stdout == "message\trun\twaiter url\terror\n"
    assert "no run was waiting for this event" in r.stderr and "--run-id" in r.stderr
    assert cli("workflow", "notify", "evt-1", "--json").stderr == ""


def test_waiters(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/waiters/evt-1", [WAITER])
    r = cli("workflow", "waiters", "evt-1")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/waiters/evt-1")
    assert r.stdout.splitlines() == ["run\turl\tdeadline\ttimeout url", f"wfr_2\t{URL}\t2023-11-14T23:13:20Z\t{URL}"]
    assert cli("workflow", "waiters", "evt-1", "--json").json == [WAITER]
    assert cli("workflow", "waiters", "evt-1", "-q").stdout == "wfr_2\n"
    assert "wfr_2" in cli("workflow", "waiters", "evt-1", tty=True).stdout


# -- workflow DLQ ---------------------------------------------------------------------------------------------------

D1 = {
    "dlqId": "1700000002000-0",
    "messageId": "msg_1",
    "workflowRunId": "wfr_1",
    "workflowUrl": URL,
    "url": URL,
    "createdAt": T0 + 2000,
    "responseStatus": 500,
    "responseBody": "boom " * 20,
    "failureCallbackInfo": {"state": "CALLBACK_FAIL"},
}
D2 = {"dlqId": "1700000000000-0", "workflowRunId": "wfr_2", "url": URL, "createdAt": T0, "responseStatus": 0}
NEW_RUNS = {"workflowRuns": [{"workflowRunId": "wfr_n1", "workflowCreatedAt": T0}, {"workflowRunId": "wfr_n2"}]}


def test_dlq_list_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/dlq", {"cursor": "1700000000000-0", "messages": [D1, D2]})
    r = cli("workflow", "dlq", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/workflows/dlq")
    assert r.stdout.splitlines() == [
        "id\trun\turl\tstatus\tcreated\tfailure fn\terror",
        f"1700000002000-0\twfr_1\t{URL}\t500\t2023-11-14T22:13:22Z\tCALLBACK_FAIL\t{('boom ' * 12)[:59]}…",
        f"1700000000000-0\twfr_2\t{URL}\t0\t2023-11-14T22:13:20Z\t\t",
    ]
    assert len(mock_api.requests) == 1
    assert cli("workflow", "dlq", "list", "--json").json == [D1, D2]
    assert cli("workflow", "dlq", "list", "-q").stdout == "1700000002000-0\n1700000000000-0\n"
    assert "CALLBACK_FAIL" in cli("workflow", "dlq", "list", tty=True).stdout


def test_dlq_list_filters_cursor_and_limit(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/dlq", {"cursor": "c1", "messages": [D1]}, times=1)
    mock_api.add("GET", "/v2/workflows/dlq", {"messages": [D2]})
    r = cli(
        "workflow", "dlq", "list", "--run-id", "wfr_1", "--workflow-url", URL, "--label", "x", "--from", str(T0),
        "--to", str(T0 + 1), "--caller-ip", "10.0.0.1", "--flow-control-key", "db", "--failure-state", "fail",
        "--failure-state", "CALLBACK_INPROGRESS", "--all", "-q",
    )  # fmt: skip
    assert r.exit_code == 0 and r.stdout == "1700000002000-0\n1700000000000-0\n", r.stderr
    query = (
        f"workflowRunId=wfr_1&workflowUrl={URL_Q}&failureFunctionState=CALLBACK_FAIL"
        f"&failureFunctionState=CALLBACK_INPROGRESS&label=x&callerIp=10.0.0.1&flowControlKey=db&fromDate={T0}"
        f"&toDate={T0 + 1}"
    )
    assert sent(mock_api) == [("GET", f"/v2/workflows/dlq?{query}"), ("GET", f"/v2/workflows/dlq?{query}&cursor=c1")]
    mock_api.requests.clear()
    assert cli("workflow", "dlq", "list", "--limit", "1", "--json").json == [D2]
    assert sent(mock_api) == [("GET", "/v2/workflows/dlq?count=1")]


def test_dlq_get(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/dlq/1700000002000-0", D1)
    r = cli("workflow", "dlq", "get", "1700000002000-0")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", "/v2/workflows/dlq/1700000002000-0")
    assert "workflowRunId\twfr_1" in r.stdout.splitlines() and "createdAt\t2023-11-14T22:13:22Z" in r.stdout
    assert cli("workflow", "dlq", "get", "1700000002000-0", "--json").json == D1
    assert cli("workflow", "dlq", "get", "1700000002000-0", "-q").stdout == "1700000002000-0\n"
    assert "CALLBACK_FAIL" in cli("workflow", "dlq", "get", "1700000002000-0", tty=True).stdout


def test_dlq_delete_by_ids(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/dlq/d-1", None)
    r = cli("workflow", "dlq", "delete", "d-1", "--yes")
    assert r.exit_code == 0 and r.stdout == "deleted\t1\n"
    assert_sent(mock_api, "DELETE", "/v2/workflows/dlq/d-1")
    mock_api.add("DELETE", "/v2/workflows/dlq", {"deleted": 2})
    r = cli("workflow", "dlq", "delete", "d-1", "d-2", "-y", "--json")
    assert r.json == {"deleted": 2, "dlqIds": ["d-1", "d-2"]}
    assert_sent(mock_api, "DELETE", "/v2/workflows/dlq?dlqIds=d-1&dlqIds=d-2")
    assert cli("workflow", "dlq", "delete", "d-1", "d-2", "-y", "-q").stdout == "2\n"
    assert "deleted" in cli("workflow", "dlq", "delete", "d-1", "d-2", "-y", tty=True).stdout


def test_dlq_delete_all_follows_the_cursor(cli, mock_api) -> None:
    mock_api.add("DELETE", "/v2/workflows/dlq", {"deleted": 100, "cursor": "c1"}, times=1)
    mock_api.add("DELETE", "/v2/workflows/dlq", {"deleted": 5, "cursor": ""})
    r = cli("workflow", "dlq", "delete", "--all", "--run-id", "wfr_1", "--yes")
    assert r.exit_code == 0 and r.stdout == "deleted\t105\n"
    assert sent(mock_api) == [
        ("DELETE", "/v2/workflows/dlq?workflowRunId=wfr_1&count=100"),
        ("DELETE", "/v2/workflows/dlq?workflowRunId=wfr_1&count=100&cursor=c1"),
    ]
    mock_api.requests.clear()
    assert cli("workflow", "dlq", "delete", "--all", "-y", "-q").stdout == "5\n"
    assert sent(mock_api) == [("DELETE", "/v2/workflows/dlq?count=100")]


@pytest.mark.parametrize("action", ["resume", "restart"])
def test_dlq_start_by_ids_without_overrides(cli, mock_api, action) -> None:
    mock_api.add("POST", f"/v2/workflows/dlq/{action}", NEW_RUNS)
    r = cli("workflow", "dlq", action, "d-1", "d-2")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", f"/v2/workflows/dlq/{action}?dlqIds=d-1&dlqIds=d-2")
    assert upstash_headers(mock_api.last) == {}
    assert r.stdout.splitlines() == ["new run\tcreated", "wfr_n1\t2023-11-14T22:13:20Z", "wfr_n2\t"]
    assert cli("workflow", "dlq", action, "d-1", "--json").json == NEW_RUNS["workflowRuns"]
    assert_sent(mock_api, "POST", f"/v2/workflows/dlq/{action}?dlqIds=d-1")  # one id: still the query form
    assert cli("workflow", "dlq", action, "d-1", "-q").stdout == "wfr_n1\nwfr_n2\n"
    assert "wfr_n1" in cli("workflow", "dlq", action, "d-1", tty=True).stdout


@pytest.mark.parametrize("action", ["resume", "restart"])
def test_dlq_start_overrides_become_headers(cli, mock_api, action) -> None:
    mock_api.add("POST", f"/v2/workflows/dlq/{action}", NEW_RUNS)
    r = cli(
        "workflow", "dlq", action, "d-1", "--retries", "5", "--retry-delay", "1000 * retried", "--delay", "1h30m",
        "--flow-control-key", "db", "--rate", "10", "--parallelism", "2", "--period", "1m", "--label", "again",
        "--failure-url", "https://app.example.com/failed", "-q",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert upstash_headers(mock_api.last) == {
        "upstash-retries": "5",
        "upstash-retry-delay": "1000 * retried",
        "upstash-delay": "5400s",
        "upstash-flow-control-key": "db",
        "upstash-flow-control-value": "parallelism=2, rate=10, period=60s",
        "upstash-label": "again",
        "upstash-failure-callback": "https://app.example.com/failed",
    }
    cli("workflow", "dlq", action, "d-1", "--flow-control-key", "db", "--parallelism", "1", "--retries", "0")
    assert upstash_headers(mock_api.last) == {
        "upstash-retries": "0",
        "upstash-flow-control-key": "db",
        "upstash-flow-control-value": "parallelism=1",
    }


@pytest.mark.parametrize("action", ["resume", "restart"])
def test_dlq_start_all_with_filters_follows_the_cursor(cli, mock_api, action) -> None:
    path = f"/v2/workflows/dlq/{action}"
    mock_api.add("POST", path, {"cursor": "c1", "workflowRuns": [{"workflowRunId": "wfr_n1"}]}, times=1)
    mock_api.add("POST", path, {"workflowRuns": [{"workflowRunId": "wfr_n2"}]})
    r = cli(
        "workflow", "dlq", action, "--all", "--match-label", "nightly", "--match-flow-control-key", "db",
        "--label", "again", "--yes", "-q",
    )  # fmt: skip
    assert r.exit_code == 0 and r.stdout == "wfr_n1\nwfr_n2\n", r.stderr
    query = "label=nightly&flowControlKey=db&count=100"
    assert sent(mock_api) == [("POST", f"{path}?{query}"), ("POST", f"{path}?{query}&cursor=c1")]
    assert all(upstash_headers(req) == {"upstash-label": "again"} for req in mock_api.requests)


@pytest.mark.parametrize("action", ["resume", "restart"])
def test_dlq_start_guards(cli, mock_api, action) -> None:
    assert_usage_error(cli("workflow", "dlq", action), mock_api, "no DLQ ids given")
    assert_usage_error(cli("workflow", "dlq", action, "--all"), mock_api, "without --yes")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--all", "-y"), mock_api, "not both")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--rate", "5"), mock_api, "need --flow-control-key")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--flow-control-key", "k"), mock_api, "--rate N and/or")
    assert_usage_error(
        cli("workflow", "dlq", action, "d-1", "--flow-control-key", "k", "--parallelism", "1", "--period", "1m"),
        mock_api,
        "--period needs --rate",
    )
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--delay", "soon"), mock_api, "invalid --delay")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--retry-delay", "import os"), mock_api, "--retry-delay")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--failure-url", "ftp://x"), mock_api, "--failure-url")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--retries", "-1"), mock_api, "invalid --retries")
    assert_usage_error(cli("workflow", "dlq", action, "d-1", "--label", "a b"), mock_api, "invalid --label")
    asked = cli("workflow", "dlq", action, "--all", stdin="n\n", stdin_tty=True)
    assert f"{action.capitalize()} every failed run in the workflow DLQ (all of them)?" in asked.stderr
    assert asked.exit_code == 1 and mock_api.requests == []


def test_dlq_delete_guards_and_terminal_question(cli, mock_api) -> None:
    assert_usage_error(cli("workflow", "dlq", "delete", "d-1"), mock_api, "without --yes")
    assert_usage_error(cli("workflow", "dlq", "delete", "--run-id", "wfr_1", "-y"), mock_api, "add --all")
    asked = cli("workflow", "dlq", "delete", "--all", "--failure-state", "fail", stdin="n\n", stdin_tty=True)
    assert "Delete every workflow DLQ entry matching failureFunctionState=CALLBACK_FAIL?" in asked.stderr
    assert asked.exit_code == 1 and mock_api.requests == []


def test_dlq_callback(cli, mock_api) -> None:
    answer = {"workflowRunId": "wfr_1", "workflowCreatedAt": T0}
    mock_api.add("POST", "/v2/workflows/dlq/callback/d-1", answer)
    r = cli("workflow", "dlq", "callback", "d-1")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", "/v2/workflows/dlq/callback/d-1")
    assert r.stdout.splitlines() == ["dlqId\td-1", "workflowRunId\twfr_1", "workflowCreatedAt\t2023-11-14T22:13:20Z"]
    assert cli("workflow", "dlq", "callback", "d-1", "--json").json == {"dlqId": "d-1", **answer}
    assert cli("workflow", "dlq", "callback", "d-1", "-q").stdout == "wfr_1\n"
    assert "wfr_1" in cli("workflow", "dlq", "callback", "d-1", tty=True).stdout


def test_api_errors_keep_their_exit_codes(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/workflows/dlq/callback/d-1", {"error": "failure callback is not failed"}, status=400)
    r = cli("workflow", "dlq", "callback", "d-1")
    assert r.exit_code == 1 and "Error: HTTP 400: failure callback is not failed" in r.stderr
    r = cli("workflow", "dlq", "get", "d-9")  # no route: the mock answers 404
    assert r.exit_code == 3 and r.stdout == ""


# -- v1 and bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("runs",),
        ("logs", "wfr_1"),
        ("cancel", "wfr_1", "-y"),
        ("cancel", "--all", "-y"),
        ("notify", "evt-1", "-d", "x"),
        ("waiters", "evt-1"),
        ("dlq", "list"),
        ("dlq", "get", "d-1"),
        ("dlq", "delete", "d-1", "-y"),
        ("dlq", "resume", "d-1"),
        ("dlq", "restart", "--all", "-y"),
        ("dlq", "callback", "d-1"),
    ],
)
def test_v1_is_unsupported_and_names_the_alternative(cli, mock_api, args) -> None:
    r = cli("--api", "v1", "workflow", *args)
    assert_usage_error(r, mock_api, "v1 has no Upstash Workflow API", "--api v2")
    assert len(r.stderr.splitlines()) == 1


def test_bad_input_is_caught_before_sending(cli, mock_api) -> None:
    assert_usage_error(cli("workflow", "logs", "a/b"), mock_api, "invalid workflow run id")
    assert_usage_error(cli("workflow", "runs", "--state", "done"), mock_api, "invalid --state", "SUCCESS")
    assert_usage_error(cli("workflow", "runs", "--workflow-url", "nope"), mock_api, "invalid --workflow-url")
    assert_usage_error(cli("workflow", "runs", "--to", "1d", "--from", "1h"), mock_api, "after --to")
    assert_usage_error(cli("workflow", "runs", "--caller-ip", "1.2.3.4, 5.6.7.8"), mock_api, "invalid --caller-ip")
    assert_usage_error(cli("workflow", "runs", "--flow-control-key", "a/b"), mock_api, "invalid flow-control key")
    assert_usage_error(cli("workflow", "dlq", "list", "--failure-state", "x"), mock_api, "invalid --failure-state")
    assert_usage_error(cli("workflow", "waiters", "a/b"), mock_api, "invalid event id")
    assert_usage_error(cli("workflow", "notify", "e", "--run-id", "a b"), mock_api, "invalid workflow run id")
    assert_usage_error(cli("workflow", "notify", "e", "-d", "@/nonexistent/x"), mock_api, "body file not found")
    assert_usage_error(cli("workflow", "dlq", "get", "a/b"), mock_api, "invalid DLQ id")


# -- `qstash logs`: entries of workflow runs ------------------------------------------------------------------------


def b64(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_logs_names_the_workflow_run_and_step_of_an_entry(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every column whole
    step = {"stepId": 2, "stepName": "charge", "stepType": "Run", "out": "ok", "concurrent": 1}
    history = [{"messageId": "m0", "body": b64("payload")}, {"messageId": "m1", "body": b64(step)}]
    events = [
        {"time": T0 + 3, "state": "DELIVERED", "messageId": "m_step", "url": URL, "body": b64(step),
         "header": {"Upstash-Workflow-Runid": ["wfr_1"]}},
        {"time": T0 + 2, "state": "ACTIVE", "messageId": "m_hist", "url": URL, "body": b64(history),
         "header": {"upstash-workflow-runid": ["wfr_1"], "Upstash-Workflow-Calltype": ["toCallback"]}},
        {"time": T0 + 1, "state": "CREATED", "messageId": "m_init", "url": URL, "body": b64({"order": 1}),
         "header": {"Upstash-Workflow-RunId": "wfr_1", "Upstash-Workflow-Init": ["true"]}},
        {"time": T0, "state": "CREATED", "messageId": "m_field", "url": URL, "workflowRunId": "wfr_2",
         "stepName": "notify-me", "stepType": "Notify"},
        {"time": T0, "state": "DELIVERED", "messageId": "m_body", "url": "https://b.example.com", "body": b64(step)},
        {"time": T0, "state": "DELIVERED", "messageId": "m_no", "url": "https://c.example.com",
         "body": b64({"stepId": 1, "stepName": "x", "stepType": "Custom"})},
        {"time": T0, "state": "DELIVERED", "messageId": "m_no2", "url": "https://c.example.com", "body": "aGk="},
        {"time": T0, "state": "DELIVERED", "messageId": "m_no3", "url": "https://c.example.com",
         "header": {"Upstash-Workflow-Init": ["true"]}, "body": b64({"stepName": "x", "stepType": "Run"})},
    ]  # fmt: skip
    mock_api.add("GET", "/v2/events", {"events": events})
    r = cli("logs")
    assert r.exit_code == 0, r.stderr
    assert [line.split("\t")[3] for line in r.stdout.splitlines()] == [
        "url",
        f"{URL} (workflow wfr_1, step 2 charge, Run)",
        f"{URL} (workflow wfr_1, step 2 charge, Run, toCallback)",
        f"{URL} (workflow wfr_1, start)",
        f"{URL} (workflow wfr_2, step notify-me, Notify)",
        "https://b.example.com (workflow, step 2 charge, Run)",  # no run id, but the body is an SDK step
        "https://c.example.com",  # not a workflow step type
        "https://c.example.com",  # not JSON
        "https://c.example.com",  # no run id, and no step id
    ]
    assert cli("logs", "--json").json == events  # the API's JSON, untouched
    table = cli("logs", tty=True).stdout
    assert "wfr_1" in table and "charge" in table and "\t" not in table


# -- --count (entries per request) ----------------------------------------------------------------------------------


def test_count_sets_the_page_size_of_listings_and_bulk_rounds(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/workflows/logs", {"runs": [RUN1]})
    mock_api.add("GET", "/v2/workflows/dlq", {"messages": [D1]})
    mock_api.add("DELETE", "/v2/workflows/runs", {"cancelled": 0})
    mock_api.add("DELETE", "/v2/workflows/dlq", {"deleted": 1})
    mock_api.add("POST", "/v2/workflows/dlq/resume", NEW_RUNS)
    assert cli("workflow", "runs", "--count", "3", "-q").stdout == "wfr_1\n"
    assert cli("workflow", "dlq", "list", "--count", "7", "-q").exit_code == 0
    assert cli("workflow", "cancel", "--all", "--count", "500", "-y").stdout == "cancelled\t0\n"
    assert cli("workflow", "dlq", "delete", "--all", "--count", "20", "-y", "-q").stdout == "1\n"
    assert cli("workflow", "dlq", "resume", "--all", "--count", "5", "-y", "-q").stdout == "wfr_n1\nwfr_n2\n"
    assert sent(mock_api) == [
        ("GET", "/v2/workflows/logs?count=3"),
        ("GET", "/v2/workflows/dlq?count=7"),
        ("DELETE", "/v2/workflows/runs?count=500"),
        ("DELETE", "/v2/workflows/dlq?count=20"),
        ("POST", "/v2/workflows/dlq/resume?count=5"),
    ]


def test_count_is_for_bulk_forms_and_bounded(cli, mock_api) -> None:
    assert_usage_error(cli("workflow", "cancel", "wfr_1", "--count", "5", "-y"), mock_api, "--count applies to --all")
    assert_usage_error(cli("workflow", "dlq", "restart", "d-1", "--count", "5"), mock_api, "--count applies to --all")
    assert_usage_error(cli("workflow", "runs", "--count", "11"), mock_api, "--count")
    assert_usage_error(cli("workflow", "dlq", "list", "--count", "0"), mock_api, "--count")
