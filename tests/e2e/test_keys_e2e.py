"""`qstash keys` against a real `qstash dev`: rotate makes the old next key current, in both dialects."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_rotate_then_get_shows_the_old_next_as_current(dev_server, cli, monkeypatch, api) -> None:
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)
    before = cli("--api", api, "keys", "get", "--json")
    assert before.exit_code == 0 and before.json == {"current": dev_server.current_key, "next": dev_server.next_key}
    refused = cli("--api", api, "keys", "rotate")
    assert refused.exit_code == 2
    assert cli("--api", api, "keys", "get", "--json").json == before.json  # nothing rotated
    rotated = cli("--api", api, "keys", "rotate", "--yes", "--json")
    assert rotated.exit_code == 0
    assert rotated.json["current"] == before.json["next"]
    assert rotated.json["next"] not in (before.json["current"], before.json["next"])
    after = cli("--api", api, "keys", "get", "--json")
    assert after.json == rotated.json


def test_keys_get_through_the_installed_entry_point(dev_server) -> None:
    """One run as a real subprocess (`python -m qstash_cli`), piped: plain `name<TAB>value` lines, no warning."""
    env = {"QSTASH_URL": dev_server.url, "QSTASH_TOKEN": dev_server.token, "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "qstash_cli", "keys", "get"], capture_output=True, text=True, env=env, timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"current\t{dev_server.current_key}", f"next\t{dev_server.next_key}"]
    assert r.stderr == ""
