"""Shell completion: the committed scripts match what the app generates (drift), `qstash completion SHELL` prints
them, and a completion request answers with command names (in a subprocess, and through bash with the script)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qstash_cli.commands.completion import Shell, script

ROOT = Path(__file__).resolve().parents[2]
SHELLS = [s.value for s in Shell]


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_script_matches_the_generated_one(shell) -> None:
    committed = (ROOT / "completions" / f"qstash.{shell}").read_text(encoding="utf-8")
    assert committed == script(shell), "completions drifted: run `python scripts/gen_completions.py`"


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_command_prints_the_script(cli, shell) -> None:
    r = cli("completion", shell)
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout == (ROOT / "completions" / f"qstash.{shell}").read_text(encoding="utf-8")
    assert "_QSTASH_COMPLETE=complete_" + shell in r.stdout


def test_generator_check_mode_detects_drift(tmp_path) -> None:
    """scripts/gen_completions.py --check passes on the repo, and fails (without writing) on a stale copy."""
    gen = ROOT / "scripts" / "gen_completions.py"
    ok = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    copy = tmp_path / "scripts"
    copy.mkdir()
    shutil.copy(gen, copy / "gen_completions.py")
    (tmp_path / "completions").mkdir()
    (tmp_path / "completions" / "qstash.bash").write_text("stale\n")
    stale = subprocess.run(
        [sys.executable, str(copy / "gen_completions.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert stale.returncode == 1 and "qstash.bash" in stale.stderr
    assert (tmp_path / "completions" / "qstash.bash").read_text() == "stale\n"
    wrote = subprocess.run(
        [sys.executable, str(copy / "gen_completions.py")], capture_output=True, text=True, timeout=60
    )
    assert wrote.returncode == 0
    assert (tmp_path / "completions" / "qstash.zsh").read_text() == script("zsh")


def test_unknown_shell_is_a_usage_error(cli) -> None:
    r = cli("completion", "ksh")
    assert r.exit_code == 2 and r.stderr.startswith("Error: Invalid value for 'shell'")


def complete(env: dict[str, str], isolated: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH", "_TYPER", "COMP_"))}
    return subprocess.run(
        [sys.executable, "-m", "qstash_cli"],
        env={**base, "QSTASH_CONFIG": str(isolated / "c.toml"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("instruction", ["bash_complete", "complete_bash"])
def test_completion_request_lists_topics(isolated, instruction) -> None:
    r = complete({"_QSTASH_COMPLETE": instruction, "COMP_WORDS": "qstash to", "COMP_CWORD": "1"}, isolated)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["topics"]


def test_completion_of_subcommands_and_options(isolated) -> None:
    sub = complete({"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash config s", "COMP_CWORD": "2"}, isolated)
    assert sub.stdout.split() == ["show", "set"]
    opt = complete(
        {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash verify --cu", "COMP_CWORD": "2"}, isolated
    )
    assert opt.stdout.split() == ["--current-key"]
    keys = complete(
        {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash config set cu", "COMP_CWORD": "3"}, isolated
    )
    assert keys.stdout.split() == ["current_signing_key"]
    shells = complete(
        {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash completion ", "COMP_CWORD": "2"}, isolated
    )
    assert shells.stdout.split() == ["bash", "zsh", "fish"]


def test_zsh_and_fish_requests(isolated) -> None:
    zsh = complete({"_QSTASH_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "qstash keys "}, isolated)
    assert zsh.returncode == 0 and '"get":' in zsh.stdout and '"rotate":' in zsh.stdout
    fish = complete(
        {
            "_QSTASH_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "qstash li",
        },
        isolated,
    )
    assert fish.returncode == 0 and fish.stdout.split("\t")[0] == "listen"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_script_completes_through_bash(isolated) -> None:
    """Source completions/qstash.bash in a real bash and call its function as bash would on Tab."""
    bindir = isolated / "bin"
    bindir.mkdir()
    launcher = bindir / "qstash"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m qstash_cli "$@"\n')
    launcher.chmod(0o755)
    program = (
        f"source {ROOT / 'completions' / 'qstash.bash'}\n"
        "COMP_WORDS=(qstash sch); COMP_CWORD=1\n"
        "_qstash_completion qstash\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH"))}
    env.update(PATH=f"{bindir}:{env.get('PATH', '')}", QSTASH_CONFIG=str(isolated / "c.toml"))
    r = subprocess.run(["bash", "--norc", "-c", program], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["schedules"]
