"""`qstash whoami` / `auth status` (never the token), `logout` / `auth logout`, and `qstash api METHOD PATH`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qstash_cli import devcreds
from tests.conftest import MOCK_TOKEN, MOCK_URL
from tests.unit.helpers import assert_one_error, assert_sent, body


def config_text() -> str:
    path = Path(os.environ["QSTASH_CONFIG"])
    return path.read_text() if path.exists() else ""


# -- whoami / auth status ----------------------------------------------------------------------------------------


def test_whoami_says_where_each_value_comes_from_without_a_request(cli, mock_api) -> None:
    r = cli("whoami")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "profile\tdefault (default)",
        f"url\t{MOCK_URL} (env QSTASH_URL)",
        "api\tv2",
        "token\tset (env QSTASH_TOKEN)",
        "status\tnot checked",
    ]
    assert MOCK_TOKEN not in r.stdout + r.stderr and mock_api.requests == []
    data = cli("--region", "us-east-1", "whoami", "--json").json
    assert data["region"] == "US_EAST_1" and data["regionSource"] == "flag --region"
    assert data["tokenSource"] == "env QSTASH_TOKEN" and MOCK_TOKEN not in json.dumps(data)


def test_whoami_check_and_auth_status_call_keys(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/keys", {"current": "sig_secret_current", "next": "sig_secret_next"})
    for args in (("whoami", "--check"), ("auth", "status")):
        r = cli(*args)
        assert r.exit_code == 0, r.stderr
        assert_sent(mock_api, "GET", "/v2/keys")
        assert "status\ttoken accepted" in r.stdout.splitlines() and "sig_secret" not in r.stdout
    assert cli("auth", "status", "-q").stdout == "default\n"


def test_rejected_or_missing_token_is_exit_4(cli, mock_api, monkeypatch) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "invalid token"}, status=401)
    r = cli("auth", "status")
    assert r.exit_code == 4 and "status\ttoken rejected (HTTP 401: invalid token)" in r.stdout
    assert r.stderr.startswith("Error: profile 'default': token rejected")
    monkeypatch.delenv("QSTASH_TOKEN")
    r = cli("auth", "status")
    assert r.exit_code == 4 and "token\tnot set" in r.stdout


def test_auth_status_offline_and_the_dev_profile(cli, mock_api) -> None:
    r = cli("-p", "dev", "auth", "status", "--offline")
    assert r.exit_code == 0 and mock_api.requests == []
    assert f"url\t{devcreds.DEV_URL} (builtin profile dev)" in r.stdout.splitlines()
    assert "ignored env\tQSTASH_URL, QSTASH_TOKEN" in r.stdout.splitlines()
    assert devcreds.DEV_TOKEN not in r.stdout


# -- logout ------------------------------------------------------------------------------------------------------


def test_logout_removes_the_token_only(cli, mock_api, monkeypatch) -> None:
    monkeypatch.delenv("QSTASH_TOKEN")
    assert cli("-p", "prod", "config", "set", "token", "tok_prod_secret_1234").exit_code == 0
    assert cli("-p", "prod", "config", "set", "url", "https://p.example").exit_code == 0
    r = cli("-p", "prod", "logout")
    assert r.exit_code == 0, r.stderr
    assert "Logged out: removed the token of profile 'prod'" in r.stderr
    assert "tok_prod" not in config_text() and "https://p.example" in config_text()
    again = cli("-p", "prod", "auth", "logout")
    assert again.exit_code == 0 and "nothing to do" in again.stderr


def test_logout_warns_about_the_environment(cli, mock_api) -> None:
    r = cli("logout")
    assert r.exit_code == 0 and "QSTASH_TOKEN is still set" in r.stderr


# -- api ---------------------------------------------------------------------------------------------------------


def test_api_get_prints_the_answer_in_every_mode(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/queues", [{"name": "orders", "parallelism": 2}, {"name": "mail", "parallelism": 1}])
    r = cli("api", "GET", "/v2/queues")
    assert r.exit_code == 0, r.stderr
    assert_sent(mock_api, "GET", "/v2/queues")
    assert r.stdout.splitlines() == ["name\tparallelism", "orders\t2", "mail\t1"]
    assert cli("api", "get", "/v2/queues", "--json").json[0] == {"name": "orders", "parallelism": 2}
    assert cli("api", "GET", "/v2/queues", "-q").stdout == "orders\nmail\n"


def test_api_post_with_json_body_query_and_headers(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/publish/https://example.com/hook", {"messageId": "msg_1"})
    r = cli(
        "api", "POST", "/v2/publish/https://example.com/hook", "-d", '{"a": 1}', "-H", "Upstash-Delay: 10s",
        "-Q", "upstash-retries=2", "-q",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    req = mock_api.last
    assert mock_api.path(req) == "/v2/publish/https://example.com/hook?upstash-retries=2"
    assert req.headers["upstash-delay"] == "10s" and req.headers["content-type"] == "application/json"
    assert req.headers["authorization"] == f"Bearer {MOCK_TOKEN}" and body(req) == {"a": 1}
    assert r.stdout == "msg_1\n"


def test_api_text_body_and_empty_answer(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/queues/orders/pause")
    r = cli("api", "POST", "/v2/queues/orders/pause", "-d", "not json")
    assert r.exit_code == 0 and r.stdout == "" and "(no body)" in r.stderr
    assert "content-type" not in mock_api.last.headers and mock_api.last.content == b"not json"


def test_api_errors_keep_their_exit_codes(cli, mock_api) -> None:
    assert_one_error(cli("api", "GET", "/v2/queues/nope"), 3, "HTTP 404")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("FETCH", "/v2/x"), "invalid METHOD"),
        (("GET", "v2/x"), "invalid PATH"),
        (("GET", "//evil.example/v2/keys"), "invalid PATH"),
        (("GET", "https://evil.example/v2/keys"), "invalid PATH"),
        (("GET", "/v2/a b"), "invalid PATH"),
        (("GET", "/v2/x", "-H", "Authorization: Bearer other"), "-H Authorization"),
        (("GET", "/v2/x", "-Q", "novalue"), "--query"),
    ],
)
def test_api_bad_input_is_refused_before_sending(cli, mock_api, args, needle) -> None:
    assert_one_error(cli("api", *args), 2, needle)
    assert mock_api.requests == []
