"""Fixtures of the end-to-end tests: the CLI pointed at a real `qstash dev` (see tests/live.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def live(dev_server, cli, monkeypatch):
    """`run(*args)` runs the CLI against the dev server (URL and token in the env) and checks the exit code."""
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)

    def run(*args: str, code: int = 0, **kwargs):
        r = cli(*args, **kwargs)
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        return r

    return run
