"""Start-up imports only what the command needs: `python -X importtime` in a subprocess, per invocation.

`--version`, `--help`, `topics --help` and a shell-completion request must not import the HTTP client, Rich, cron
parsing, JWT or the local server; command modules load lazily (only the invoked one). No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qstash_cli import __version__

HEAVY = ("httpx", "rich", "rich.table", "croniter", "jwt", "uvicorn", "starlette", "qstash_cli.server")


def imported_modules(
    *args: str, env: dict[str, str] | None = None, code: str | None = None
) -> tuple[set[str], subprocess.CompletedProcess]:
    """Run `python -X importtime -m qstash_cli ARGS` (or `-c CODE`); the modules it imported (parsed from stderr)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH", "UPSTASH_"))}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *(["-c", code] if code else ["-m", "qstash_cli"]), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                modules.add(name)
    assert "encodings" in modules, proc.stderr[-2000:]  # the parse works
    return modules, proc


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


COMPLETION = {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash to", "COMP_CWORD": "1"}


@pytest.mark.parametrize(
    ("args", "env", "expect"),
    [
        (("--version",), None, f"qstash {__version__}\n"),
        (("--help",), None, "Usage: qstash"),
        (("topics", "--help"), None, "Usage: qstash topics"),
        ((), COMPLETION, "topics"),
    ],
    ids=["version", "help", "topics-help", "completion"],
)
def test_startup_imports_nothing_heavy(args, env, expect, isolated) -> None:
    modules, proc = imported_modules(*args, env={"QSTASH_CONFIG": str(isolated / "c.toml"), **(env or {})})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expect in proc.stdout
    assert heavy_in(modules) == []


def test_version_imports_no_command_module(isolated) -> None:
    modules, proc = imported_modules("--version", env={"QSTASH_CONFIG": str(isolated / "c.toml")})
    assert proc.stdout == f"qstash {__version__}\n"
    assert sorted(m for m in modules if m.startswith("qstash_cli.commands.")) == []


def test_a_command_imports_only_its_own_module(isolated) -> None:
    modules, proc = imported_modules("topics", "--help", env={"QSTASH_CONFIG": str(isolated / "c.toml")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(m for m in modules if m.startswith("qstash_cli.commands.")) == ["qstash_cli.commands.topics"]


def test_click_style_completion_instruction_is_accepted(isolated) -> None:
    env = {**COMPLETION, "_QSTASH_COMPLETE": "bash_complete", "QSTASH_CONFIG": str(isolated / "c.toml")}
    modules, proc = imported_modules(env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["topics"]
    assert heavy_in(modules) == []


def test_the_import_check_sees_heavy_imports() -> None:
    """The parse is not vacuous: importing the HTTP layer shows up as httpx."""
    modules, _ = imported_modules(code="import qstash_cli.api.httpx_wire")
    assert "httpx" in heavy_in(modules) and "typer" not in modules
    assert not {"rich", "click", "pygments"} & modules  # httpx's own CLI module (httpx._main) is skipped


def test_lazy_tree_has_the_global_options_on_every_command() -> None:
    """Walking the whole (lazily built) tree: every command and group carries the global options."""
    from qstash_cli.app import COMMANDS, build_command

    def walk(command, path):
        yield path, command
        for name in list(getattr(command, "commands", {})):
            sub = command.commands.get(name)
            if sub is not None:
                yield from walk(sub, (*path, name))

    root = build_command()
    assert list(root.commands)[: len(COMMANDS)] == list(COMMANDS)  # help order
    seen = list(walk(root, ()))
    assert {path[0] for path, _ in seen if path} >= {"topics", "publish", "dev"}
    for path, command in seen:
        names = {p.name for p in command.params}  # a command's own option of the same name takes precedence
        assert {"json", "quiet", "profile", "url", "token", "api", "debug"} <= names, path


def test_root_command_list_matches_what_the_modules_register() -> None:
    """COMMANDS in app.py (the root's lazy table of contents) names exactly what each module registers."""
    from qstash_cli.app import COMMAND_MODULES, COMMANDS, _import_module

    registered = {name: module for module in COMMAND_MODULES for name in _import_module(module)}
    unlisted = sorted(set(registered) - set(COMMANDS))
    assert not unlisted, f"add to COMMANDS in app.py: {unlisted}"
    wrong_module = sorted(n for n, m in registered.items() if COMMANDS[n][0] != m)
    assert not wrong_module, f"wrong module in COMMANDS for {wrong_module}"
    missing = sorted(set(COMMANDS) - set(registered))
    assert not missing, f"listed in `qstash --help` but registered by no module: {missing}"


def test_root_help_imports_no_command_module(isolated) -> None:
    modules, proc = imported_modules("--help", env={"QSTASH_CONFIG": str(isolated / "c.toml")})
    assert proc.returncode == 0 and "topics" in proc.stdout
    assert sorted(m for m in modules if m.startswith("qstash_cli.commands.")) == []


class _Answers(BaseHTTPRequestHandler):
    """A stand-in API on loopback: every request gets one small JSON answer."""

    def do_GET(self) -> None:
        self._answer({"current": "sig_a", "next": "sig_b"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer({"messageId": "msg_imports"})

    def _answer(self, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _trio_modules(modules: set[str]) -> list[str]:
    """trio's own modules and its dependency outcome (`-X importtime` also lists a refused `import trio` itself)."""
    return sorted(m for m in modules if m.startswith("trio.") or m == "outcome")


def test_http_commands_do_not_import_trio(isolated, api_url) -> None:
    """httpcore tries `import trio` (~65 ms; selenium, a test extra, installs it): hidden while httpx is imported."""
    if importlib.util.find_spec("trio") is None:
        pytest.skip("trio is not installed: nothing to hide")
    env = {"QSTASH_CONFIG": str(isolated / "c.toml"), "QSTASH_URL": api_url, "QSTASH_TOKEN": "tok_imports"}
    modules, proc = imported_modules("keys", "get", "-q", env=env)
    assert proc.returncode == 0 and "sig_a" in proc.stdout, proc.stderr[-2000:]
    assert "httpx" in modules and "httpcore" in modules  # the httpx wire did the request
    assert _trio_modules(modules) == []


def test_a_single_publish_to_a_plain_http_server_imports_no_http_library(isolated, api_url) -> None:
    """`qstash publish URL -d x` to `qstash dev` (plain http) goes over a plain socket (api/stdlib_wire.py): no httpx,
    httpcore, h11, anyio, trio, nor http.client and the email package (~50 ms of imports, half of the command;
    benchmarks/README.md, "one request")."""
    env = {"QSTASH_CONFIG": str(isolated / "c.toml"), "QSTASH_URL": api_url, "QSTASH_TOKEN": "tok_imports"}
    modules, proc = imported_modules("publish", "https://example.com/hook", "-d", "x", "-q", env=env)
    assert proc.returncode == 0 and proc.stdout == "msg_imports\n", proc.stderr[-2000:]
    assert "qstash_cli.api.stdlib_wire" in modules
    heavy = ("httpx", "httpcore", "h11", "anyio", "sniffio", "email", "ssl")
    assert sorted(m for m in modules if m.split(".")[0] in heavy or m == "http.client") == []
    assert _trio_modules(modules) == []


def test_trio_is_importable_after_the_http_layer() -> None:
    """Hiding trio lasts only while httpx imports: selenium (or anything else) can import it afterwards."""
    if importlib.util.find_spec("trio") is None:
        pytest.skip("trio is not installed")
    code = (
        "import sys, qstash_cli.api.httpx_wire; assert 'httpcore' in sys.modules and 'trio' not in sys.modules\n"
        "import trio; print(trio.__name__)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "trio\n", proc.stderr[-2000:]
