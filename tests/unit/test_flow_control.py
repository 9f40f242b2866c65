"""`qstash flow-control` (v2): exact requests for list, get, global, pause, resume, pin, unpin, reset-rate."""

from __future__ import annotations

import pytest

from tests.unit.helpers import assert_one_error, assert_sent

KEY = {
    "flowControlKey": "user-42",
    "waitListSize": 7,
    "parallelismMax": 5,
    "parallelismCount": 3,
    "rateMax": 10,
    "rateCount": 4,
    "ratePeriod": 60,
    "ratePeriodStart": 1700000000,
    "isPinnedParallelism": True,
    "isPinnedRate": False,
    "isPaused": False,
}


def test_list_shows_use_against_maxima(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/flowControl", [KEY, {"flowControlKey": "idle", "waitListSize": 0, "isPaused": True}])
    r = cli("flow-control", "list")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/flowControl")
    assert r.stdout.splitlines() == [
        "key\twaiting\tparallelism\trate\tpaused\tpinned",
        "user-42\t7\t3/5\t4/10 per 60s\tfalse\tparallelism",
        "idle\t0\t\t\ttrue\tno",
    ]
    assert cli("flow-control", "list", "-q").stdout == "user-42\nidle\n"
    assert cli("flow-control", "list", "--json").json[0] == KEY


def test_list_search_is_a_query_parameter(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/flowControl", [KEY])
    assert cli("flow-control", "list", "--search", "user").exit_code == 0
    assert_sent(mock_api, "GET", "/v2/flowControl?search=user")


def test_get(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/flowControl/user-42", KEY)
    r = cli("flow-control", "get", "user-42")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/flowControl/user-42")
    lines = r.stdout.splitlines()
    assert "parallelism\t3/5" in lines and "waiting\t7" in lines and "ratePeriodStart\t2023-11-14T22:13:20Z" in lines
    assert "user-42" in cli("flow-control", "get", "user-42", tty=True).stdout


def test_global_parallelism(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/globalParallelism", {"parallelismMax": 100, "parallelismCount": 7})
    r = cli("flow-control", "global")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/globalParallelism")
    assert r.stdout.splitlines()[0] == "parallelism\t7/100"
    assert cli("flow-control", "global", "--json").json == {"parallelismMax": 100, "parallelismCount": 7}


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("pause", "user-42"), "/v2/flowControl/user-42/pause"),
        (("resume", "user-42"), "/v2/flowControl/user-42/resume"),
        (("reset-rate", "user-42"), "/v2/flowControl/user-42/resetRate"),
        (("pin", "user-42", "--parallelism", "3"), "/v2/flowControl/user-42/pin?parallelism=3"),
        (
            ("pin", "user-42", "--parallelism", "3", "--rate", "20", "--period", "2m"),
            "/v2/flowControl/user-42/pin?parallelism=3&rate=20&period=120",
        ),
        (("unpin", "user-42"), "/v2/flowControl/user-42/unpin?parallelism=true&rate=true"),
        (("unpin", "user-42", "--rate"), "/v2/flowControl/user-42/unpin?parallelism=false&rate=true"),
        (("unpin", "user-42", "--parallelism"), "/v2/flowControl/user-42/unpin?parallelism=true&rate=false"),
    ],
)
def test_actions_send_post(cli, mock_api, args, path) -> None:
    mock_api.add("POST", path.split("?")[0])
    r = cli("flow-control", *args, "-q")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "POST", path)
    assert r.stdout == "user-42\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("pin", "user-42"), "nothing to pin"),
        (("pin", "user-42", "--period", "soon"), "--period"),
        (("pin", "user-42", "--rate", "0"), "--rate"),
        (("get", "a/b"), "flow-control key"),
        (("pause", "has space"), "flow-control key"),
    ],
)
def test_bad_input_is_refused_before_sending(cli, mock_api, args, needle) -> None:
    assert_one_error(cli("flow-control", *args), 2, needle)
    assert mock_api.requests == []


def test_v1_has_no_flow_control(cli, mock_api) -> None:
    assert_one_error(cli("--api", "v1", "flow-control", "list"), 2, "v1 has no flow control")
