"""Completion of values: profiles after -p, --api, --region, --state, dev --quota, and queue / schedule / topic /
flow-control names remembered from the last listing (no request on Tab). Driven through real bash, zsh and fish in a
pseudo-terminal when they are installed."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_completion import ROOT


def complete(words: str, tmp_path: Path, **env: str) -> list[str]:
    """The values a bash completion request answers for the command line `words` (cursor at its end)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH", "COMP_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "qstash_cli"],
        env={
            **base,
            "QSTASH_CONFIG": str(tmp_path / "config.toml"),
            "_QSTASH_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_profiles_after_p_come_from_the_config_file(tmp_path) -> None:
    (tmp_path / "config.toml").write_text('[profiles.prod]\ntoken = "x"\n[profiles.staging]\napi = "v1"\n')
    (tmp_path / "config.toml").chmod(0o600)
    assert complete("qstash -p ", tmp_path) == ["dev", "prod", "staging"]
    assert complete("qstash queues list --profile st", tmp_path) == ["staging"]


@pytest.mark.parametrize(
    ("words", "values"),
    [
        ("qstash --api ", ["v1", "v2"]),
        ("qstash --region ", ["eu-central-1", "us-east-1"]),
        ("qstash topics list --region us", ["us-east-1"]),
        ("qstash logs --state CANCE", ["CANCEL_REQUESTED", "CANCELLED", "CANCELED"]),
        ("qstash dev --quota p", ["payg", "pro"]),
    ],
)
def test_fixed_values(tmp_path, words, values) -> None:
    assert complete(words, tmp_path) == values


def test_names_come_from_the_last_listing_without_a_request(cli, mock_api, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("QSTASH_CACHE_DIR", str(cache))
    mock_api.add("GET", "/v2/queues", [{"name": "orders"}, {"name": "mail"}])
    mock_api.add("GET", "/v2/schedules", [{"scheduleId": "nightly"}, {"scheduleId": "hourly"}])
    mock_api.add("GET", "/v2/topics", [{"name": "fanout"}])
    mock_api.add("GET", "/v2/flowControl", [{"flowControlKey": "user-42"}])
    for args in (("queues", "list"), ("schedules", "list"), ("topics", "list"), ("flow-control", "list")):
        assert cli(*args, "-q").exit_code == 0
    env = {"QSTASH_CACHE_DIR": str(cache), "QSTASH_URL": "http://127.0.0.1:9", "QSTASH_TOKEN": "t"}  # unreachable
    assert complete("qstash queues get ", tmp_path, **env) == ["orders", "mail"]
    assert complete("qstash queues pause o", tmp_path, **env) == ["orders"]
    assert complete("qstash publish https://x.example --queue m", tmp_path, **env) == ["mail"]
    assert complete("qstash schedules delete h", tmp_path, **env) == ["hourly"]
    assert complete("qstash topics get ", tmp_path, **env) == ["fanout"]
    assert complete("qstash flow-control pin ", tmp_path, **env) == ["user-42"]
    assert complete("qstash -p dev queues get ", tmp_path, **env) == []  # another profile's names are not offered


# -- real shells in a pseudo-terminal -------------------------------------------------------------------------------


def _launcher(tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    launcher = bindir / "qstash"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m qstash_cli "$@"\n')
    launcher.chmod(0o755)
    return bindir


def _drive(
    argv: list[str], setup: list[str], typed: str, expect: str, env: dict[str, str], ready: str = "echo READY-$((40+2))"
) -> str:
    """Run an interactive shell on a pty, send the setup lines, type `typed` (ending in a Tab), and read the screen
    until `expect` shows (or 60 s pass); returns what was shown."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the shell
        os.execvpe(argv[0], argv, env)
    screen = b""
    try:
        for line in setup:
            os.write(fd, line.encode() + b"\r")
        os.write(fd, ready.encode() + b"\r")
        screen = _read_until(fd, b"READY-42", screen)
        os.write(fd, typed.encode())
        screen = _read_until(fd, expect.encode(), screen)
        return screen.decode("utf-8", "replace")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def _read_until(fd: int, needle: bytes, screen: bytes) -> bytes:
    deadline = time.monotonic() + 30
    start = len(screen)
    while needle not in screen[start:] and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                screen += os.read(fd, 65536)
            except OSError:
                break
    return screen


def _shell_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH", "COMP_"))}
    (tmp_path / "config.toml").write_text('[profiles.prodeu]\ntoken = "x"\n')
    (tmp_path / "config.toml").chmod(0o600)
    env.update(
        PATH=f"{_launcher(tmp_path)}:{env.get('PATH', '')}",
        QSTASH_CONFIG=str(tmp_path / "config.toml"),
        TERM="xterm",
        HOME=str(tmp_path),
    )
    return env


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_a_profile_on_tab(tmp_path) -> None:
    setup = ["PS1='$ '", f"source {ROOT / 'completions' / 'qstash.bash'}"]
    shown = _drive(["bash", "--norc", "--noprofile", "-i"], setup, "qstash -p pro\t", "prodeu", _shell_env(tmp_path))
    assert "qstash -p prodeu" in shown


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_on_the_first_tab_via_fpath(tmp_path) -> None:
    fdir = tmp_path / "zfunc"
    fdir.mkdir()
    shutil.copy(ROOT / "completions" / "qstash.zsh", fdir / "_qstash")
    setup = ["PS1='$ '", f"fpath=({fdir} $fpath)", "autoload -Uz compinit", "compinit -u -D"]
    shown = _drive(["zsh", "-f", "-i"], setup, "qstash --region us\t", "us-east-1", _shell_env(tmp_path))
    assert "qstash --region us-east-1" in shown


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_a_value_on_tab(tmp_path) -> None:
    setup = [f"source {ROOT / 'completions' / 'qstash.fish'}"]
    argv = ["fish", "--no-config", "-i"]
    env = {**_shell_env(tmp_path), "fish_greeting": ""}
    shown = _drive(argv, setup, "qstash -p pro\t", "prodeu", env, ready="echo READY-(math 40 + 2)")
    assert "prodeu" in shown


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_descriptions_keep_their_apostrophes(tmp_path) -> None:
    fdir = tmp_path / "zfunc"
    fdir.mkdir()
    shutil.copy(ROOT / "completions" / "qstash.zsh", fdir / "_qstash")
    setup = ["PS1='$ '", f"fpath=({fdir} $fpath)", "autoload -Uz compinit", "compinit -u -D"]
    shown = _drive(["zsh", "-f", "-i"], setup, "qstash qu\t", "quota (v1", _shell_env(tmp_path))
    assert "account's quota" in shown, shown[-600:]
