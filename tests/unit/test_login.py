"""`qstash login`: stdin (--with-token), hidden prompt on a terminal, refusal without either, a checked token."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
import typer

from tests.conftest import MOCK_URL

NEW = "tok_LOGIN_new_token_value_42"


def stored() -> dict:
    return tomllib.loads(Path(os.environ["QSTASH_CONFIG"]).read_text())


@pytest.fixture
def api(mock_api, monkeypatch):
    """The mock API with no token in the environment (login is how the token gets there)."""
    monkeypatch.delenv("QSTASH_TOKEN")
    return mock_api


def never_shown(r) -> None:
    assert NEW not in r.stdout + r.stderr


def test_with_token_reads_stdin_checks_and_stores(cli, api) -> None:
    api.add("GET", "/v2/keys", {"current": "sig_a", "next": "sig_b"})
    r = cli("login", "--with-token", stdin=f"  {NEW}\n")
    assert r.exit_code == 0, r.stderr
    never_shown(r)
    assert r.stdout == ""
    assert r.stderr.startswith("Logged in: token saved to profile 'default'")
    assert (api.last.method, api.path()) == ("GET", "/v2/keys")
    assert api.last.headers["authorization"] == f"Bearer {NEW}"
    assert str(api.last.url).startswith(MOCK_URL)  # the resolved URL (env QSTASH_URL)
    assert stored() == {"profiles": {"default": {"token": NEW}}}  # env URL not saved: only --url is
    path = Path(os.environ["QSTASH_CONFIG"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_v1_dialect_checks_with_v1_keys(cli, api) -> None:
    api.add("GET", "/v1/keys", {"current": "sig_a", "next": "sig_b"})
    assert cli("--api", "v1", "login", "--with-token", stdin=NEW).exit_code == 0
    assert api.path() == "/v1/keys"


def test_profile_and_url_are_saved(cli, api, monkeypatch) -> None:
    api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    r = cli("-p", "eu", "--url", "https://qstash-eu.example/", "login", "--with-token", "--json", stdin=NEW)
    assert r.exit_code == 0, r.stderr
    never_shown(r)
    assert r.json == {
        "profile": "eu",
        "path": os.environ["QSTASH_CONFIG"],
        "url": "https://qstash-eu.example",
        "verified": True,
    }
    assert str(api.last.url) == "https://qstash-eu.example/v2/keys"
    assert stored() == {"profiles": {"eu": {"token": NEW, "url": "https://qstash-eu.example"}}}
    assert "Warning" not in r.stderr  # -p eu: the profile wins over QSTASH_URL
    monkeypatch.delenv("QSTASH_URL")
    assert cli("-p", "eu", "config", "get", "url").stdout == "https://qstash-eu.example\n"


def test_rejected_token_is_not_saved(cli, api) -> None:
    api.add("GET", "/v2/keys", {"error": f"invalid token {NEW}"}, status=401)
    r = cli("login", "--with-token", stdin=NEW)
    assert r.exit_code == 4
    never_shown(r)
    assert r.stderr.splitlines()[0].startswith(f"Error: the token was rejected by {MOCK_URL}")
    assert "nothing was saved" in r.stderr
    assert not Path(os.environ["QSTASH_CONFIG"]).exists()


def test_no_verify_sends_nothing(cli, api) -> None:
    r = cli("login", "--with-token", "--no-verify", stdin=NEW)
    assert r.exit_code == 0 and api.requests == []
    assert stored()["profiles"]["default"]["token"] == NEW


def test_without_terminal_and_without_with_token_exits_2(cli, api) -> None:
    r = cli("login", stdin=NEW)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "Error: no terminal to prompt for the token",
        'Hint: pipe it in: echo "$QSTASH_TOKEN" | qstash login --with-token',
    ]
    assert api.requests == [] and not Path(os.environ["QSTASH_CONFIG"]).exists()


@pytest.mark.parametrize(("stdin", "message"), [("", "no token read from stdin"), ("a b", "one word")])
def test_bad_stdin_token(cli, api, stdin, message) -> None:
    r = cli("login", "--with-token", stdin=stdin)
    assert r.exit_code == 2 and message in r.stderr.splitlines()[0] and api.requests == []


def test_terminal_prompt_hides_input(cli, api, monkeypatch) -> None:
    asked = {}

    def fake_prompt(text: str, **kwargs):
        asked.update(kwargs, text=text)
        return NEW

    monkeypatch.setattr(typer, "prompt", fake_prompt)
    r = cli("login", "--no-verify", stdin_tty=True)
    assert r.exit_code == 0, r.stderr
    never_shown(r)
    assert asked["hide_input"] is True and asked["err"] is True and "token" in asked["text"].lower()
    assert stored()["profiles"]["default"]["token"] == NEW


def test_env_token_shadowing_is_warned(cli, mock_api) -> None:
    r = cli("login", "--with-token", "--no-verify", stdin=NEW)  # mock_api set QSTASH_TOKEN
    assert r.exit_code == 0
    assert "Warning: QSTASH_TOKEN is set in this environment and takes precedence" in r.stderr
    never_shown(r)


def test_network_failure_names_no_verify(cli, api, monkeypatch) -> None:
    import httpx

    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    api.handler = refuse
    r = cli("login", "--with-token", stdin=NEW)
    assert r.exit_code == 1
    assert "nothing was saved" in r.stderr and "--no-verify" in r.stderr
    never_shown(r)


def test_secrets_never_in_any_output_of_config_login_verify(cli, api, monkeypatch) -> None:
    """Every command of this area, ok and failing, in every output mode: grep stdout+stderr for the secrets."""
    from qstash_cli import signing

    key_cur, key_next = "sig_GREP_current_key_99", "sig_GREP_next_key_9999"
    api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    assert cli("login", "--with-token", stdin=NEW).exit_code == 0
    cli("config", "set", "current-signing-key", "-", stdin=key_cur)
    monkeypatch.setenv("QSTASH_NEXT_SIGNING_KEY", key_next)
    token = signing.sign(key_cur, "https://x.example/", b"b")
    runs = [
        ("login", "--with-token", "--no-verify"),
        ("--debug", "login", "--with-token"),
        ("config", "show"), ("config", "show", "--json"), ("config", "show", "-q"),
        ("config", "get", "token"), ("config", "get", "token", "--json"), ("config", "get", "next_signing_key"),
        ("config", "profiles"), ("config", "profiles", "--json"), ("config", "path"),
        ("verify", token, "-d", "b"), ("verify", token, "-d", "x", "--json"), ("verify", token, "-d", "b", "--debug"),
        ("-p", "nope", "config", "show"), ("config", "set", "token", "a b"),
    ]  # fmt: skip
    for args in runs:
        for tty in (False, True):
            r = cli(*args, stdin=NEW, tty=tty)
            shown = r.stdout + r.stderr
            assert NEW not in shown and key_cur not in shown and key_next not in shown, (args, shown)
