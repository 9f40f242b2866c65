"""Shared fixtures: isolation from the real home/config/env, an in-process CLI runner, a mock QStash API."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from qstash_cli.api import transport

# Property tests explore the same examples on every run (CI must not go red on a new random draw) and never
# fail on timing: the machines are small and shared.
hypothesis_settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis_settings.load_profile("repeatable")

pytest_plugins = ["tests.live"] if (Path(__file__).parent / "live.py").exists() else []

MOCK_URL = "https://qstash.mock"
MOCK_TOKEN = "tok_SECRET_unit_test_token"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test reads the real home, config or QSTASH_* environment."""
    for key in list(os.environ):
        if key.startswith(("QSTASH_", "UPSTASH_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QSTASH_CONFIG", str(tmp_path / "config" / "qstash" / "config.toml"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "xterm")
    return tmp_path


class _Stream(io.StringIO):
    """A text stream that may claim to be a terminal; stdin also carries the raw bytes as `.buffer`."""

    def __init__(self, tty: bool = False, data: bytes | None = None) -> None:
        super().__init__((data or b"").decode("utf-8", "replace"))
        self._tty = tty
        if data is not None:
            self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(monkeypatch) -> Callable[..., Result]:
    """Run `qstash ARGS` in-process through the real entry point (error boundary included)."""
    from qstash_cli.app import run

    def invoke(*args: str, stdin: bytes | str = b"", tty: bool = False, stdin_tty: bool = False) -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        out, err, inp = _Stream(tty), _Stream(), _Stream(stdin_tty, data)
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setattr(sys, "stdin", inp)
        try:
            code = run([str(a) for a in args])
        except SystemExit as exc:  # a command may sys.exit() itself
            code = exc.code if isinstance(exc.code, int) else 1
        monkeypatch.setattr(sys, "stdout", sys.__stdout__)
        monkeypatch.setattr(sys, "stderr", sys.__stderr__)
        monkeypatch.setattr(sys, "stdin", sys.__stdin__)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


class MockApi:
    """A QStash API double over httpx.MockTransport: routes by method + path, records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], list[httpx.Response]] = {}

    def add(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        times: int = 1000,
    ) -> None:
        """Answer METHOD PATH (query ignored) with the given response (repeatedly, or `times` times then the next)."""
        if content is None and json_body is not None:
            content = json.dumps(json_body).encode()
            headers = {"content-type": "application/json", **(headers or {})}
        response = httpx.Response(status, headers=headers, content=content or b"")
        self.routes.setdefault((method.upper(), path), []).extend([response] * times)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.raw_path.decode().split("?")[0])
        queue = self.routes.get(key)
        if not queue:
            return httpx.Response(404, json={"error": f"no mock route for {key[0]} {key[1]}"})
        response = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)

    @property
    def last(self) -> httpx.Request:
        assert self.requests, "no request was sent"
        return self.requests[-1]

    def path(self, request: httpx.Request | None = None) -> str:
        """The raw path (with query) of a request, as sent."""
        return (request or self.last).url.raw_path.decode()


@pytest.fixture
def mock_api(monkeypatch) -> MockApi:
    """Point the CLI at a MockTransport API (QSTASH_URL/QSTASH_TOKEN set); waits are instant."""
    api = MockApi()

    def make(base_url: str) -> httpx.Client:
        return httpx.Client(base_url=base_url, transport=httpx.MockTransport(api.handler))

    monkeypatch.setattr(transport, "make_http_client", make)
    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    monkeypatch.setenv("QSTASH_URL", MOCK_URL)
    monkeypatch.setenv("QSTASH_TOKEN", MOCK_TOKEN)
    return api
