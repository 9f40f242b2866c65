"""`qstash keys get|rotate` in both dialects: requests, outputs, the secrets warning and the rotate confirmation."""

from __future__ import annotations

import pytest

from tests.conftest import MOCK_TOKEN
from tests.unit.helpers import assert_sent

KEYS = {"current": "sig_current", "next": "sig_next"}
ROTATED = {"current": "sig_next", "next": "sig_new"}


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_get_request_and_outputs(cli, mock_api, api) -> None:
    mock_api.add("GET", f"/{api}/keys", KEYS)
    r = cli("--api", api, "keys", "get")
    assert r.exit_code == 0
    assert_sent(mock_api, "GET", f"/{api}/keys")
    assert r.stdout.splitlines() == ["current\tsig_current", "next\tsig_next"]
    assert r.stderr == ""  # piped: no warning noise for scripts
    assert cli("--api", api, "keys", "get", "--json").json == KEYS
    assert cli("--api", api, "keys", "get", "-q").stdout == "sig_current\n"
    table = cli("--api", api, "keys", "get", tty=True)
    assert "sig_current" in table.stdout and "sig_next" in table.stdout
    assert table.stderr.startswith("Warning: these are signing secrets")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_rotate_with_yes(cli, mock_api, api) -> None:
    mock_api.add("POST", f"/{api}/keys/rotate", ROTATED)
    r = cli("--api", api, "keys", "rotate", "--yes")
    assert r.exit_code == 0
    assert_sent(mock_api, "POST", f"/{api}/keys/rotate")
    assert r.stdout.splitlines() == ["current\tsig_next", "next\tsig_new"]
    assert "QSTASH_CURRENT_SIGNING_KEY" in r.stderr
    assert cli("--api", api, "keys", "rotate", "-y", "--json").json == ROTATED
    assert cli("--api", api, "keys", "rotate", "-y", "-q").stdout == "sig_next\n"
    assert "Warning: these are signing secrets" in cli("--api", api, "keys", "rotate", "-y", tty=True).stderr


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_rotate_without_yes_and_without_terminal_refuses(cli, mock_api, api) -> None:
    r = cli("--api", api, "keys", "rotate")
    assert r.exit_code == 2 and r.stdout == ""
    assert (
        r.stderr.splitlines()[0] == "Error: refusing to rotate the signing keys (the old current key is retired) "
        "without --yes (no terminal to confirm on)"
    )
    assert mock_api.requests == []


def test_rotate_asks_on_a_terminal(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/keys/rotate", ROTATED)
    no = cli("keys", "rotate", stdin="n\n", stdin_tty=True)
    assert no.exit_code == 1 and mock_api.requests == []
    yes = cli("keys", "rotate", stdin="y\n", stdin_tty=True)
    assert yes.exit_code == 0 and "sig_new" in yes.stdout
    assert_sent(mock_api, "POST", "/v2/keys/rotate")


def test_rotate_is_not_retried_on_a_transient_error(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/keys/rotate", {"error": "bad gateway"}, status=502, times=1)
    mock_api.add("POST", "/v2/keys/rotate", ROTATED)
    r = cli("keys", "rotate", "-y")
    assert r.exit_code == 1 and len(mock_api.requests) == 1


@pytest.mark.parametrize(("status", "code"), [(401, 4), (404, 3)])
def test_api_errors(cli, mock_api, status, code) -> None:
    mock_api.add("GET", "/v2/keys", {"error": "nope"}, status=status)
    r = cli("keys", "get")
    assert r.exit_code == code and r.stderr.startswith(f"Error: HTTP {status}: nope") and r.stdout == ""
    assert MOCK_TOKEN not in r.stderr
