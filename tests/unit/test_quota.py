"""`qstash quota`: v1 `GET /v1/quota` as a record; v2 has no quota endpoint (exit 2, nothing sent)."""

from __future__ import annotations

from tests.conftest import MOCK_TOKEN

QUOTA = {
    "maxTopics": 10,
    "maxEndpointsPerTopic": 100,
    "maxMessageSize": 1048576,
    "maxRetries": 5,
    "maxSchedules": 10,
    "maxRequestsPerDay": 500,
    "retention": 604800,
    "timeout": 900,
    "maxDelay": 604800,
}


def test_v1_quota_request_and_outputs(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/quota", QUOTA)
    r = cli("--api", "v1", "quota")
    assert r.exit_code == 0
    req = mock_api.last
    assert (req.method, mock_api.path(req)) == ("GET", "/v1/quota")
    assert req.headers["authorization"] == f"Bearer {MOCK_TOKEN}" and req.content == b""
    assert r.stdout.splitlines() == [f"{k}\t{v}" for k, v in QUOTA.items()]
    assert cli("--api", "v1", "quota", "--json").json == QUOTA
    assert cli("--api", "v1", "quota", "-q").stdout == ""
    table = cli("--api", "v1", "quota", tty=True).stdout
    assert "maxMessageSize" in table and "1048576" in table


def test_v1_quota_shows_unknown_fields_too(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/quota", {"maxTopics": 1, "maxQueues": 3})
    assert cli("--api", "v1", "quota").stdout.splitlines()[-1] == "maxQueues\t3"


def test_v2_quota_is_unsupported_and_names_the_alternative(cli, mock_api) -> None:
    r = cli("quota")
    assert r.exit_code == 2 and r.stdout == ""
    [line] = r.stderr.splitlines()
    assert line.startswith("Error: v2 has no quota endpoint") and "qstash --api v1 quota" in line
    assert mock_api.requests == []


def test_quota_errors(cli, mock_api) -> None:
    mock_api.add("GET", "/v1/quota", {"error": "unauthorized"}, status=401)
    assert cli("--api", "v1", "quota").exit_code == 4
