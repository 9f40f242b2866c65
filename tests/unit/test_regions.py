"""Regions (QSTASH_REGION, US_EAST_1_QSTASH_* / EU_CENTRAL_1_QSTASH_*, --region, a profile's `region`) and the rule
that a profile named with -p beats the environment; `config show` says where each value came from."""

from __future__ import annotations

import os
from pathlib import Path

from qstash_cli import devcreds
from tests.conftest import MOCK_TOKEN, MOCK_URL
from tests.unit.helpers import assert_one_error

US = "https://qstash-us-east-1.upstash.io"
EU = "https://qstash-eu-central-1.upstash.io"


def write_config(text: str) -> None:
    path = Path(os.environ["QSTASH_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    path.chmod(0o600)


def keys_call(cli, mock_api, *args: str):
    mock_api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    r = cli(*args, "keys", "get", "-q")
    assert r.exit_code == 0, r.stderr
    return mock_api.last


def test_region_env_uses_the_regional_variables(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_REGION", "us-east-1")
    monkeypatch.setenv("US_EAST_1_QSTASH_URL", "https://us.example")
    monkeypatch.setenv("US_EAST_1_QSTASH_TOKEN", "tok_us")
    req = keys_call(cli, mock_api)
    assert str(req.url) == "https://us.example/v2/keys" and req.headers["authorization"] == "Bearer tok_us"
    shown = cli("config", "show", "--json", "--show-secrets").json
    assert shown["region"] == {"value": "US_EAST_1", "source": "env", "from": "env QSTASH_REGION"}
    assert shown["url"]["from"] == "env US_EAST_1_QSTASH_URL" and shown["token"]["from"] == "env US_EAST_1_QSTASH_TOKEN"


def test_region_falls_back_to_the_plain_variables_then_the_regional_host(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_REGION", "EU_CENTRAL_1")
    req = keys_call(cli, mock_api)
    assert str(req.url).startswith(MOCK_URL) and req.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    monkeypatch.delenv("QSTASH_URL")
    req = keys_call(cli, mock_api)
    assert str(req.url) == f"{EU}/v2/keys"
    assert cli("config", "show", "--json").json["url"] == {
        "value": EU,
        "source": "region",
        "from": "region EU_CENTRAL_1",
    }


def test_region_flag_beats_the_env_and_signing_keys_are_regional(cli, mock_api, monkeypatch) -> None:
    monkeypatch.delenv("QSTASH_URL")
    monkeypatch.setenv("QSTASH_REGION", "EU_CENTRAL_1")
    monkeypatch.setenv("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", "sig_us_current")
    req = keys_call(cli, mock_api, "--region", "us-east-1")
    assert str(req.url) == f"{US}/v2/keys"
    shown = cli("--region", "US_EAST_1", "config", "show", "--json", "--show-secrets").json
    assert shown["region"]["from"] == "flag --region"
    assert shown["current_signing_key"] == {
        "value": "sig_us_current",
        "source": "env",
        "from": "env US_EAST_1_QSTASH_CURRENT_SIGNING_KEY",
    }


def test_profile_region_setting(cli, mock_api, monkeypatch) -> None:
    monkeypatch.delenv("QSTASH_URL")
    r = cli("-p", "us", "config", "set", "region", "US_EAST_1")
    assert r.exit_code == 0, r.stderr
    assert 'region = "us-east-1"' in Path(os.environ["QSTASH_CONFIG"]).read_text()
    req = keys_call(cli, mock_api, "-p", "us")
    assert str(req.url) == f"{US}/v2/keys"
    assert cli("-p", "us", "config", "get", "region").stdout == "US_EAST_1\n"


def test_invalid_region_is_one_error(cli, mock_api, monkeypatch) -> None:
    assert_one_error(cli("--region", "mars-1", "keys", "get"), 2, "invalid region 'mars-1'")
    monkeypatch.setenv("QSTASH_REGION", "ap-south-1")
    assert_one_error(cli("keys", "get"), 2, "invalid region")
    assert_one_error(cli("config", "set", "region", "nowhere"), 2, "invalid region")
    assert mock_api.requests == []


def test_explicit_profile_beats_the_environment_and_says_so_once(cli, mock_api) -> None:
    req = keys_call(cli, mock_api, "-p", "dev")
    assert str(req.url) == f"{devcreds.DEV_URL}/v2/keys"
    assert req.headers["authorization"] == f"Bearer {devcreds.DEV_TOKEN}"
    mock_api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    r = cli("-p", "dev", "keys", "get")
    notes = [line for line in r.stderr.splitlines() if line.startswith("Note:")]
    assert notes == ["Note: profile 'dev' (-p) wins over the environment; ignored: QSTASH_URL, QSTASH_TOKEN"]


def test_profile_from_the_environment_still_loses_to_the_variables(cli, mock_api, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_PROFILE", "dev")
    req = keys_call(cli, mock_api)
    assert str(req.url).startswith(MOCK_URL) and req.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    assert "Note:" not in cli("keys", "get").stderr


def test_a_profile_with_a_url_never_sends_the_env_token_elsewhere(cli, mock_api) -> None:
    write_config('[profiles.local]\nurl = "http://127.0.0.1:9"\n')
    r = cli("-p", "local", "keys", "get")
    assert r.exit_code == 4 and r.stdout == ""  # QSTASH_TOKEN (meant for QSTASH_URL) is not sent to the profile's URL
    assert r.stderr.splitlines() == [
        "Note: profile 'local' (-p) wins over the environment; ignored: QSTASH_URL, QSTASH_TOKEN",
        "Error: no QStash token configured for profile 'local'",
        "Hint: run `qstash -p local login` (a profile named with -p ignores QSTASH_TOKEN)",
    ]
    assert mock_api.requests == []
    shown = cli("-p", "local", "config", "show", "--json").json
    assert shown["token"]["source"] == "unset" and shown["url"]["from"] == "profile local"
    assert "Ignored (the -p profile wins): QSTASH_URL, QSTASH_TOKEN" in cli("-p", "local", "config", "show").stderr


def test_flags_still_beat_an_explicit_profile(cli, mock_api) -> None:
    req = keys_call(cli, mock_api, "-p", "dev", "--url", "https://f.example", "--token", "tok_flag")
    assert str(req.url) == "https://f.example/v2/keys" and req.headers["authorization"] == "Bearer tok_flag"
