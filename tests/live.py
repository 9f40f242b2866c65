"""Live fixtures for end-to-end tests: a recording HTTP `sink` and the `qstash dev` server as a subprocess.

    def test_x(dev_server, sink):
        httpx.post(f"{dev_server.url}/v2/publish/{sink.url}/hook", headers=dev_server.auth, content=b"hi")
        [req] = sink.wait_for(1)
        assert req.body == b"hi" and req.path == "/hook"

`sink.respond(status=500, times=2)` makes the next two requests fail; `sink.respond(path="/slow", delay=2)`,
`sink.respond(status=429, headers={"Retry-After": "1"})`. `dev_server_factory(quota="free", ...)` starts a server with
other flags (keyword → `--flag value`; True → bare `--flag`).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from qstash_cli import devcreds

# -- sink ---------------------------------------------------------------------------------------------------------


@dataclass
class SinkRequest:
    """One request the sink received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    time: float  # time.time()
    status: int = 200  # what the sink answered

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class _Rule:
    status: int
    times: int | None  # None: forever
    path: str | None
    delay: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Sink:
    """A real HTTP server on 127.0.0.1 that records every request and answers as configured (default 200 "ok")."""

    url: str = ""
    requests: list[SinkRequest] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def respond(
        self,
        status: int = 200,
        *,
        times: int | None = None,
        path: str | None = None,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        body: bytes | str = b"",
    ) -> None:
        """Answer the next `times` requests (all, when None) — only those to `path` (path without query) if given —
        with `status` after `delay` seconds. Rules are tried in the order they were added; used-up rules drop out."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._rules.append(_Rule(status, times, path, delay, dict(headers or {}), data))

    def reset(self) -> None:
        """Forget recorded requests and response rules."""
        with self._lock:
            self.requests.clear()
            self._rules.clear()

    def _rule_for(self, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.path is not None and rule.path != path.split("?")[0]:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _record(self, request: SinkRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0, *, path: str | None = None) -> list[SinkRequest]:
        """Block until at least `n` requests (to `path`, if given) arrived; return them. Fails the test on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self.requests if path is None or r.path.split("?")[0] == path]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"sink got {len(got)} request(s) (path={path}), expected {n} within {timeout}s")
                self._lock.wait(left)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rule = sink._rule_for(self.path)
            status = rule.status if rule else 200
            request = SinkRequest(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time(), status
            )
            sink._record(request)
            if rule and rule.delay:
                time.sleep(rule.delay)
            payload = rule.body if rule and rule.body else b"ok"
            try:
                self.send_response(status)
                for name, value in (rule.headers if rule else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request from a raw socket: (its head, without the blank line; its body, by the first
    Content-Length). Stops early when the peer closes."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = conn.recv(65536)
        if not chunk:
            break
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
    length = int(found.group(1)) if found else 0
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


class _SinkServer(ThreadingHTTPServer):
    request_queue_size = 1024  # the default listen backlog of 5 drops the connects of a server's delivery workers
    # beyond it, and each dropped SYN is retried by the kernel after 1, 3, 7, 15 s: deliveries seconds late


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A recording HTTP server on an ephemeral 127.0.0.1 port; `sink.url` has no trailing slash."""
    s = Sink()
    server = _SinkServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    s.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield s
    finally:
        server.shutdown()
        server.server_close()


# -- dev server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DevServer:
    """A `python -m qstash_cli.server` subprocess on an ephemeral loopback port, with its own data file."""

    port: int
    data_path: Path | None
    stderr_path: Path
    flags: dict[str, Any]
    token: str = devcreds.DEV_TOKEN
    current_key: str = devcreds.DEV_CURRENT_SIGNING_KEY
    next_key: str = devcreds.DEV_NEXT_SIGNING_KEY
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def env(self) -> dict[str, str]:
        """QSTASH_* variables pointing a client at this server."""
        return {
            "QSTASH_URL": self.url,
            "QSTASH_TOKEN": self.token,
            "QSTASH_CURRENT_SIGNING_KEY": self.current_key,
            "QSTASH_NEXT_SIGNING_KEY": self.next_key,
        }

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client with base_url and token set."""
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=10, **kwargs)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "qstash_cli.server", "--port", str(self.port)]
        if self.data_path is not None:
            cmd += ["--data", str(self.data_path)]
        for key, value in self.flags.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                cmd.append(flag)
            elif value not in (None, False):
                cmd += [flag, str(value)]
        return cmd

    def start(self, timeout: float = 20.0) -> DevServer:
        """Start the process and wait until GET /v2/keys answers (then read the live keys)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        err = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(self.command(), stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=env)
        err.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"qstash dev exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/v2/keys", headers=self.auth, timeout=1)
                if r.status_code == 200:
                    keys = r.json()
                    self.current_key, self.next_key = keys["current"], keys["next"]
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"qstash dev did not answer within {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout`); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def restart(self) -> DevServer:
        """Stop (if running) and start again on the same port and data file."""
        self.stop()
        return self.start()

    def log(self) -> str:
        """Everything the server wrote to stdout/stderr so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def start_dev_server(directory: Path, name: str = "dev", **flags: Any) -> DevServer:
    """Start a server whose data file and log live in `directory` (for fixtures of any scope); stop it yourself."""
    flags = {"backoff_scale": 0.001, **flags}
    data = None if flags.get("memory") else Path(flags.pop("data", directory / f"{name}.sqlite3"))
    server = DevServer(free_port(), data, directory / f"{name}.log", flags)
    if "token" in flags:
        server.token = str(flags["token"])
    return server.start()


@pytest.fixture(scope="module")
def shared_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One server for a whole test module (tests must not depend on its state being empty)."""
    server = start_dev_server(tmp_path_factory.mktemp("shared-dev"))
    yield server
    server.stop()


@pytest.fixture
def dev_server_factory(tmp_path: Path) -> Iterator[Callable[..., DevServer]]:
    """Start servers with extra flags: `dev_server_factory(quota="free", dedup_window=1)`; `memory=True` drops the
    data file. Defaults: `--backoff-scale 0.001`, `--quiet` off. All are stopped at the end of the test."""
    started: list[DevServer] = []

    def make(**flags: Any) -> DevServer:
        server = start_dev_server(tmp_path, f"dev{len(started)}", **flags)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the item, so `dev_server` can print its log when the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def dev_server(dev_server_factory: Callable[..., DevServer], request: pytest.FixtureRequest) -> Iterator[DevServer]:
    """A fresh `qstash dev` on an ephemeral port with `--backoff-scale 0.001` and a temp data file. On failure its
    log is printed in the report."""
    server = dev_server_factory()
    yield server
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        sys.stderr.write(f"\n--- qstash dev log ---\n{server.log()[-20000:]}\n")
