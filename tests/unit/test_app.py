"""The root command: version, help, global options anywhere, the error boundary and exit codes."""

from __future__ import annotations

from qstash_cli import __version__
from qstash_cli.errors import EXIT_CODES


def test_version(cli) -> None:
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout == f"qstash {__version__}\n"


def test_help_lists_every_group_and_exit_codes(cli) -> None:
    r = cli("--help")
    assert r.exit_code == 0
    for group in ("publish", "topics", "endpoints", "messages", "tasks", "schedules", "keys", "quota", "dev"):
        assert group in r.stdout
    for code in EXIT_CODES:
        assert f"{code} " in r.stdout


def test_unknown_command_is_one_error_line_exit_2(cli) -> None:
    r = cli("frobnicate")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0].startswith("Error: ")
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_unknown_option_is_exit_2(cli) -> None:
    r = cli("topics", "list", "--no-such-flag")
    assert r.exit_code == 2 and r.stderr.startswith("Error: ")


def test_global_options_work_before_and_after_the_command(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/keys", {"current": "sig_a", "next": "sig_b"})
    before = cli("--json", "keys", "get")
    after = cli("keys", "get", "--json")
    assert before.exit_code == after.exit_code == 0
    assert before.json == after.json == {"current": "sig_a", "next": "sig_b"}


def test_api_dialect_flag_and_env_select_paths(cli, mock_api, monkeypatch) -> None:
    mock_api.add("GET", "/v1/keys", {"current": "sig_a", "next": "sig_b"})
    assert cli("keys", "get", "--api", "v1", "--json").exit_code == 0
    assert mock_api.path() == "/v1/keys"
    monkeypatch.setenv("QSTASH_API", "v1")
    assert cli("keys", "get", "--json").exit_code == 0
    assert mock_api.path() == "/v1/keys"
    r = cli("keys", "get", "--api", "v3")
    assert r.exit_code == 2 and "v3" in r.stderr


def test_missing_token_is_auth_exit_4_with_hint(cli) -> None:
    r = cli("keys", "get")
    assert r.exit_code == 4
    assert r.stderr.splitlines() == [
        "Error: no QStash token configured",
        "Hint: run `qstash login`, set QSTASH_TOKEN, or use `-p dev` for the local server",
    ]


def test_debug_trace_redacts_token(cli, mock_api) -> None:
    from tests.conftest import MOCK_TOKEN

    mock_api.add("GET", "/v2/keys", {"current": "sig_a", "next": "sig_b"})
    r = cli("--debug", "keys", "get")
    assert r.exit_code == 0
    assert "[debug] > GET https://qstash.mock/v2/keys" in r.stderr
    assert "Bearer ***" in r.stderr and MOCK_TOKEN not in r.stderr + r.stdout


def test_dev_profile_is_builtin(cli, mock_api, monkeypatch) -> None:
    from qstash_cli import devcreds

    monkeypatch.delenv("QSTASH_URL")
    monkeypatch.delenv("QSTASH_TOKEN")
    seen = []
    mock_api.add("GET", "/v2/keys", {"current": "sig_a", "next": "sig_b"})
    r = cli("-p", "dev", "keys", "get", "--json")
    seen.append(str(mock_api.last.url))
    assert r.exit_code == 0
    assert seen == [f"{devcreds.DEV_URL}/v2/keys"]
    assert mock_api.last.headers["authorization"] == f"Bearer {devcreds.DEV_TOKEN}"


def test_unknown_profile_is_exit_2(cli, mock_api, monkeypatch) -> None:
    monkeypatch.delenv("QSTASH_TOKEN")
    r = cli("-p", "nope", "keys", "get")
    assert r.exit_code == 2 and "unknown profile 'nope'" in r.stderr
