"""Secrets: the token never appears in stdout, stderr, --debug traces or error messages; the config file is 0600 in a
0700 directory; an existing config readable by others draws a warning (and still works)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from qstash_cli import config
from qstash_cli.api import transport
from qstash_cli.api.transport import Transport
from tests.reliability.faulty import refused_url

TOKEN = "tok_RECOGNISABLE_5ecret_9f3a7c"
SIGNING = "sig_RECOGNISABLE_signing_key_77"
U = "https://example.com/hook"

# Commands run with the token (ok, failing, --debug, JSON/quiet modes, config and login).
COMMANDS: list[tuple[str, ...]] = [
    ("keys", "get"),
    ("keys", "get", "--debug"),
    ("--debug", "topics", "list"),
    ("topics", "list", "--json"),
    ("schedules", "list", "-q"),
    ("publish", U, "-d", "hello", "--debug"),
    ("publish", U, "-d", "hello", "--dedup-id", "d1", "--json"),
    ("publish", "orders", "-d", "hello", "-H", "X-Trace: 1", "--debug"),
    ("messages", "get", "msg_1", "--debug"),
    ("messages", "get", "../bad", "--debug"),
    ("publish", U, "--delay", "5x", "--debug"),
    ("--api", "v1", "quota", "--debug"),
    ("--api", "v1", "topics", "list", "--debug"),
    ("dlq", "list", "--debug"),
    ("logs", "--debug"),
    ("config", "show"),
    ("config", "show", "--json"),
    ("config", "get", "token"),
    ("config", "path"),
    ("nope", "--debug"),
]


@pytest.fixture
def api_answers(mock_api):
    """Every request answered by a status chosen per path; an error body that echoes the token."""
    mock_api.statuses = {}

    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        status = mock_api.statuses.get("*", 200)
        if status >= 400:
            return httpx.Response(status, json={"error": f"token {TOKEN} rejected"})
        return httpx.Response(200, json={"messageId": "msg_1", "current": "sig_a", "next": "sig_b"})

    mock_api.handler = answer
    return mock_api


def _runs(cli, env_token: bool, monkeypatch, status: int, api_answers) -> list[tuple[tuple[str, ...], object]]:
    api_answers.statuses["*"] = status
    if env_token:
        monkeypatch.setenv("QSTASH_TOKEN", TOKEN)
        monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", SIGNING)
        argvs = COMMANDS
    else:
        monkeypatch.delenv("QSTASH_TOKEN")
        argvs = [("--token", TOKEN, *argv) for argv in COMMANDS]
    return [(argv, cli(*argv)) for argv in argvs]


@pytest.mark.parametrize("status", [200, 401, 500])
@pytest.mark.parametrize("env_token", [True, False], ids=["env", "flag"])
def test_token_never_shown(cli, api_answers, monkeypatch, env_token: bool, status: int) -> None:
    runs = _runs(cli, env_token, monkeypatch, status, api_answers)
    for argv, r in runs:
        shown = r.stdout + r.stderr
        assert TOKEN not in shown, f"token shown by {argv}"
        assert SIGNING not in shown, f"signing key shown by {argv}"
        assert "Traceback" not in shown or "--debug" in argv
    traced = [r for argv, r in runs if "--debug" in argv and ("> POST" in r.stderr or "> GET" in r.stderr)]
    assert traced, "no --debug run traced a request"
    for r in traced:
        assert "Authorization: Bearer ***" in r.stderr or "authorization: Bearer ***" in r.stderr


def test_debug_trace_redacts_authorization(mock_api, monkeypatch, capsys) -> None:
    mock_api.add("GET", "/v2/keys", {"current": "a", "next": "b"})
    t = Transport("https://qstash.mock", TOKEN, debug=True)
    t.json("GET", "/v2/keys", params={"x": TOKEN})  # even a token that ends up in the URL is masked
    err = capsys.readouterr().err
    assert "Bearer ***" in err and "> GET" in err and "< 200" in err
    assert TOKEN not in err


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_error_echoing_the_token_is_redacted(mock_api, monkeypatch, status: int) -> None:
    monkeypatch.setattr(transport, "_sleep", lambda s: None)
    mock_api.add("GET", "/v2/keys", {"error": f"bad token {TOKEN}"}, status=status)
    with pytest.raises(Exception) as info:
        Transport("https://qstash.mock", TOKEN).json("GET", "/v2/keys")
    assert TOKEN not in str(info.value) and TOKEN not in info.value.message  # type: ignore[attr-defined]


def test_network_error_and_debug_traceback_hide_the_token(cli, monkeypatch) -> None:
    monkeypatch.setattr(transport, "_sleep", lambda s: None)
    r = cli("keys", "get", "--debug", "--url", refused_url(), "--token", TOKEN)
    assert r.exit_code == 1 and TOKEN not in r.stdout + r.stderr


def test_login_and_config_store_the_token_privately(cli) -> None:
    r = cli("login", "--with-token", "--no-verify", stdin=TOKEN + "\n")
    assert r.exit_code == 0, r.stderr
    assert TOKEN not in r.stdout + r.stderr
    path = Path(os.environ["QSTASH_CONFIG"])
    assert TOKEN in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for argv in (("config", "show"), ("config", "show", "--json"), ("config", "get", "token"), ("config", "path")):
        r = cli(*argv)
        assert r.exit_code == 0, (argv, r.stderr)
        assert TOKEN not in r.stdout + r.stderr, argv


def test_config_save_modes(tmp_path) -> None:
    path = tmp_path / "cfgdir" / "config.toml"
    path.parent.mkdir(mode=0o755)
    os.chmod(path.parent, 0o755)
    config.save({"profiles": {"default": {"token": TOKEN}}}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # rewriting a file someone loosened makes it private again, and no temp file is left behind
    os.chmod(path, 0o644)
    config.set_value("default", "url", "https://qstash.upstash.io", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
def test_exposed_config_warns_but_works(tmp_path, capsys, mode: int) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.default]\ntoken = "{TOKEN}"\n')
    os.chmod(path, mode)
    data = config.load(path)
    assert data["profiles"]["default"]["token"] == TOKEN
    err = capsys.readouterr().err
    assert err.startswith("Warning:") and "chmod 600" in err and TOKEN not in err


def test_private_config_does_not_warn(tmp_path, capsys) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.default]\ntoken = "{TOKEN}"\n')
    os.chmod(path, 0o600)
    config.load(path)
    assert capsys.readouterr().err == ""


def test_corrupt_config_error_hides_the_token(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.default]\ntoken = "{TOKEN}\n')  # unterminated string on the token's line
    os.chmod(path, 0o600)
    with pytest.raises(config.ConfigError) as info:
        config.load(path)
    assert TOKEN not in info.value.message


# -- round two: the token in any form, URL passwords, the temporary file ----------------------------------------

ECHOES = {
    "whole": f"invalid token {TOKEN}",
    "shortened": f"invalid token {TOKEN[:12]}...",
    "tail": f"token ending in ...{TOKEN[-9:]} is revoked",
    "inside a word": f"x{TOKEN}y and Bearer{TOKEN}",
    "quoted": f"token '{TOKEN}' (len {len(TOKEN)})",
    "middle": f"bad part {TOKEN[5:20]}",
}


def _runs_of(secret: str, length: int = 8) -> list[str]:
    return [secret[i : i + length] for i in range(len(secret) - length + 1)]


@pytest.mark.parametrize("status", [400, 401, 500])
@pytest.mark.parametrize("echo", list(ECHOES))
def test_token_redacted_whole_shortened_or_inside_a_word(cli, mock_api, monkeypatch, echo: str, status: int) -> None:
    monkeypatch.setenv("QSTASH_TOKEN", TOKEN)
    monkeypatch.setattr(transport, "_sleep", lambda s: None)
    mock_api.add("GET", "/v2/keys", {"error": ECHOES[echo]}, status=status)
    for argv in (("keys", "get"), ("keys", "get", "--debug")):
        r = cli(*argv)
        shown = r.stdout + r.stderr
        assert r.exit_code in (1, 4) and "***" in shown
        leaked = [run for run in _runs_of(TOKEN) if run in shown]
        assert not leaked, f"{echo}: {leaked[:3]} shown"


PASSWORD = "pa55w0rd-RECOGNISABLE"


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{PASSWORD}@127.0.0.1:{{port}}",
        f"https://user:{PASSWORD}@qstash.mock",
        f"http://user:{PASSWORD}@127.0.0.1:0",
        f"http://user:{PASSWORD}@@127.0.0.1:{{port}}",
        f"http://user:{PASSWORD}@127.0.0.1:{{port}}/a\\b",
    ],
)
@pytest.mark.parametrize("where", ["flag", "env", "login"])
def test_url_password_never_echoed(cli, monkeypatch, url: str, where: str) -> None:
    url = url.replace("{port}", refused_url().rsplit(":", 1)[1])
    monkeypatch.setattr(transport, "_sleep", lambda s: None)
    for debug in ((), ("--debug",)):
        if where == "flag":
            r = cli("--url", url, "--token", TOKEN, "keys", "get", *debug)
        elif where == "env":
            monkeypatch.setenv("QSTASH_URL", url)
            r = cli("--token", TOKEN, "keys", "get", *debug)
        else:
            r = cli("login", "--url", url, "--token", TOKEN, *debug)
        shown = r.stdout + r.stderr
        assert r.exit_code == 2, shown
        assert PASSWORD not in shown and TOKEN not in shown, shown
        assert "Error: invalid API URL" in shown


def test_url_password_hidden_by_the_transport(mock_api, capsys) -> None:
    from qstash_cli.errors import InputError
    from qstash_cli.safe_text import shown_url

    assert shown_url(f"https://user:{PASSWORD}@h.example/p") == "https://user:***@h.example/p"
    with pytest.raises(InputError) as info:
        Transport(f"https://user:{PASSWORD}@qstash.mock", TOKEN, debug=True)
    assert PASSWORD not in info.value.message and "user:***@" in info.value.message


def test_config_temp_file_never_follows_a_planted_link(tmp_path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (path.parent / "config.toml.tmp").symlink_to(victim)  # the old, predictable temporary name
    config.save({"profiles": {"default": {"token": TOKEN}}}, path)
    config.set_value("default", "url", "https://qstash.upstash.io", path)
    assert victim.read_text() == "precious\n"
    assert TOKEN in path.read_text() and not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["config.toml", "config.toml.tmp"], names  # the planted link untouched, no temp file left


def test_config_that_is_a_link_is_replaced_not_written_through(tmp_path) -> None:
    path = tmp_path / "config.toml"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path.symlink_to(victim)
    config.save({"profiles": {"default": {"token": TOKEN}}}, path)
    assert victim.read_text() == "precious\n" and not path.is_symlink() and TOKEN in path.read_text()


def test_config_temp_file_is_exclusive_and_random(tmp_path, monkeypatch) -> None:
    import secrets

    path = tmp_path / "config.toml"
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".config.toml.aaaa.tmp").write_text("someone else's\n")  # exists: O_EXCL refuses it, next name
    config.save({"profiles": {"default": {"token": TOKEN}}}, path)
    assert (tmp_path / ".config.toml.aaaa.tmp").read_text() == "someone else's\n"
    assert TOKEN in path.read_text() and not (tmp_path / ".config.toml.bbbb.tmp").exists()
