#!/usr/bin/env python3
"""Run the official Upstash SDKs' own test suites against `qstash dev`, with no network but loopback.

Give it checkouts of upstash/qstash-py, upstash/qstash-js, upstash/workflow-py and/or upstash/workflow-js (the kind
is read from each checkout's pyproject.toml / package.json). For each suite it:

  1. creates a network namespace with only `lo` up, and /etc/netns/NAME/{hosts,resolv.conf} that map the hosts the
     suites publish to (mock.httpstatus.io, requestcatcher.com, httpbin.org, example.com, ...) to 127.0.0.1;
  2. starts, inside it, a catch-all HTTP/HTTPS sink on ports 80/443 (scripts/sdk_suite_sink.py, certificate from a
     throw-away CA that only this run trusts) and `qstash dev` from this repository
     (`python -m qstash_cli.server --memory --port PORT --backoff-scale 0.01`);
  3. runs the suite as its CI does (pytest, or `bun test src`) with QSTASH_URL/QSTASH_TOKEN/signing keys set to the
     dev server's, writing JUnit XML;
  4. kills what it started, deletes the namespace and /etc/netns/NAME (also on error or Ctrl-C).

It prints a passed/failed/skipped table and every failing test with the first line of its message, and keeps the
raw logs (suite output, qstash dev log, sink requests, JUnit XML, summary.json) under --out.

Exit status: 0 when every suite ran (whatever its tests did: this is a report, not a gate); 1 when a suite could
not be run (missing venv/node_modules, runner crashed before writing results, timeout); 2 for bad arguments or a
machine that cannot do it (not root, no `ip`, `openssl` or `bun`).

Prepare the checkouts first (outside this repository; nothing of them is ever copied into it):

  git clone <qstash-py repo> /work/checkouts/qstash-py
  python3 -m venv /work/checkouts/venv-qstash-py
  /work/checkouts/venv-qstash-py/bin/pip install -e /work/checkouts/qstash-py pytest 'pytest-asyncio<0.24' \\
      python-dotenv pytest-timeout
  python3 -m venv /work/checkouts/venv-workflow-py
  /work/checkouts/venv-workflow-py/bin/pip install -e /work/checkouts/workflow-py pytest 'pytest-asyncio<0.24' \\
      aiohttp fastapi flask pytest-timeout
  npm i -g --allow-scripts=bun bun && (cd /work/checkouts/qstash-js && bun install) \\
      && (cd /work/checkouts/workflow-js && bun install)

Example (as root, from this repository):

  python scripts/run_sdk_suites.py /work/checkouts/qstash-py /work/checkouts/qstash-js \\
      /work/checkouts/workflow-py /work/checkouts/workflow-js --out /tmp/sdk-suites
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SINK = Path(__file__).resolve().with_name("sdk_suite_sink.py")
sys.path.insert(0, str(REPO / "src"))
from qstash_cli import devcreds  # noqa: E402 - the dev credentials live in the package

# Hosts the suites publish to or call; inside the namespace they resolve to the local sink.
SINK_HOSTS = [
    "mock.httpstatus.io",
    "httpstat.us",
    "httpbin.org",
    "requestcatcher.com",
    "oz.requestcatcher.com",
    "oz1.requestcatcher.com",
    "wf-test.requestcatcher.com",
    "example.com",
    "www.example.com",
    "api.example.com",
    "example.org",
]
DEFAULT_PORT = 8181  # not 8080: the JS and workflow-py suites bind 8080 for their own mock QStash servers
KINDS = ("qstash-py", "workflow-py", "qstash-js", "workflow-js")


@dataclass
class Failure:
    test: str
    message: str


@dataclass
class SuiteResult:
    kind: str
    checkout: str
    commit: str = ""
    commit_date: str = ""
    version: str = ""
    ran: bool = False
    note: str = ""
    runner_exit: int | None = None
    seconds: float = 0.0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)


class Interrupted(Exception):
    """SIGTERM/SIGHUP while running: unwind so the namespace is removed."""


def fail(message: str, code: int = 2) -> None:
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(code)


def detect_kind(path: Path) -> str:
    """The suite a checkout holds, from its package metadata."""
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text())
        name = data.get("tool", {}).get("poetry", {}).get("name") or data.get("project", {}).get("name")
        if name == "qstash":
            return "qstash-py"
        if name == "upstash-workflow":
            return "workflow-py"
    package = path / "package.json"
    if package.is_file():
        name = json.loads(package.read_text()).get("name")
        if name == "@upstash/qstash":
            return "qstash-js"
        if name == "@upstash/workflow":
            return "workflow-js"
    fail(f"{path} is not a checkout of qstash-py, qstash-js, workflow-py or workflow-js")
    raise AssertionError  # unreachable


def git(path: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)
    return out.stdout.strip()


def package_version(path: Path, kind: str) -> str:
    if kind.endswith("-py"):
        data = tomllib.loads((path / "pyproject.toml").read_text())
        return str(data.get("tool", {}).get("poetry", {}).get("version") or data.get("project", {}).get("version"))
    return str(json.loads((path / "package.json").read_text()).get("version"))


def make_certificate(workdir: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a sink certificate for SINK_HOSTS; returns (ca, cert chain, key)."""
    ca_key, ca, key, csr, cert = (workdir / n for n in ("ca.key", "ca.pem", "sink.key", "sink.csr", "sink.pem"))
    ext = workdir / "sink.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=" + ",".join(f"DNS:{h}" for h in SINK_HOSTS) + ",IP:127.0.0.1\n"
    )
    commands = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=qstash sdk-suites CA"]
        + ["-keyout", str(ca_key), "-out", str(ca)],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=sdk-suite-sink", "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2"]
        + ["-extfile", str(ext), "-out", str(cert)],
    ]
    for command in commands:
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return ca, cert, key


class Namespace:
    """A loopback-only network namespace and the processes started in it; `close()` removes all of it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.etc = Path("/etc/netns") / name
        self.procs: list[subprocess.Popen[bytes]] = []

    def open(self) -> None:
        self.etc.mkdir(parents=True, exist_ok=False)
        hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        hosts += [f"127.0.0.1 {h}" for h in SINK_HOSTS]
        (self.etc / "hosts").write_text("\n".join(hosts) + "\n")
        (self.etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")  # any other name fails at once
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"], check=True)

    def start(self, argv: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.name, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv], env=env, capture_output=True, text=True, timeout=timeout
        )

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        # Whatever a suite left running in the namespace (it was started by this run): end it by pid.
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def base_env(home: Path) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}
    env["TMPDIR"] = str(home)
    return env


def suite_command(kind: str, checkout: Path, venv: Path | None, junit: Path, test_timeout: int) -> list[str]:
    if kind.endswith("-py"):
        assert venv is not None
        python = str(venv / "bin" / "python")
        argv = [python, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", f"--junitxml={junit}"]
        argv += ["-o", "junit_family=xunit2"]
        has_timeout = subprocess.run([python, "-c", "import pytest_timeout"], capture_output=True).returncode == 0
        if has_timeout:
            argv.append(f"--timeout={test_timeout}")
        return [*argv, "tests"]
    return ["bun", "test", "src", "--reporter=junit", f"--reporter-outfile={junit}"]


def parse_junit(path: Path, result: SuiteResult) -> None:
    """Count the JUnit XML's test cases (pytest's or bun's) into result; a failure keeps its message's first lines."""
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        parts = [case.get("file") or "", case.get("classname") or "", case.get("name") or ""]
        name = " > ".join(p for p in parts if p)
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            text = bad.get("message") or (bad.text or "") or bad.get("type") or ""
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
            result.failed += 1
            result.failures.append(Failure(name, " | ".join(lines[:3])[:400]))
        elif case.find("skipped") is not None or case.find("todo") is not None:
            result.skipped += 1
        else:
            result.passed += 1


def wait_ready(ns: Namespace, python: str, port: int, env: dict[str, str]) -> bool:
    probe = (
        "import sys,time,urllib.request\n"
        f"r=urllib.request.Request('http://127.0.0.1:{port}/v2/keys',"
        f"headers={{'Authorization':'Bearer {devcreds.DEV_TOKEN}'}})\n"
        "for _ in range(150):\n"
        "    try:\n"
        "        urllib.request.urlopen(r,timeout=2); sys.exit(0)\n"
        "    except Exception: time.sleep(0.2)\n"
        "sys.exit(1)\n"
    )
    return ns.run([python, "-c", probe], env, timeout=60).returncode == 0


def run_suite(kind: str, checkout: Path, venv: Path | None, out: Path, args: argparse.Namespace) -> SuiteResult:
    result = SuiteResult(kind=kind, checkout=str(checkout))
    result.commit = git(checkout, "rev-parse", "HEAD")
    result.commit_date = git(checkout, "log", "-1", "--format=%cI")
    result.version = package_version(checkout, kind)
    if venv is not None and not (venv / "bin" / "python").exists():
        result.note = f"no venv at {venv} (see --help)"
        return result
    if kind.endswith("-js") and not (checkout / "node_modules").is_dir():
        result.note = f"no node_modules in {checkout}: run `bun install` there"
        return result
    work = out / kind
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certificate(work)
    junit = work / "junit.xml"
    junit.unlink(missing_ok=True)
    ns = Namespace(f"qsdk-{kind}-{os.getpid()}")
    try:
        ns.open()
        env = base_env(home)
        ns.start(
            [args.server_python, str(SINK), "--cert", str(cert), "--key", str(key), "--log", str(work / "sink.jsonl")],
            work / "sink.log",
            env,
        )
        server_env = {**env, "PYTHONPATH": str(REPO / "src"), "SSL_CERT_FILE": str(ca)}
        server = ns.start(
            [args.server_python, "-m", "qstash_cli.server", "--memory", "--port", str(args.port), "--backoff-scale",
             str(args.backoff_scale)],
            work / "qstash-dev.log",
            server_env,
        )  # fmt: skip
        if not wait_ready(ns, args.server_python, args.port, env):
            result.note = f"qstash dev did not answer on port {args.port} (see {work / 'qstash-dev.log'})"
            return result
        suite_env = {
            **env,
            "QSTASH_URL": f"http://127.0.0.1:{args.port}",
            "QSTASH_TOKEN": devcreds.DEV_TOKEN,
            "QSTASH_CURRENT_SIGNING_KEY": devcreds.DEV_CURRENT_SIGNING_KEY,
            "QSTASH_NEXT_SIGNING_KEY": devcreds.DEV_NEXT_SIGNING_KEY,
            "NODE_EXTRA_CA_CERTS": str(ca),
            "SSL_CERT_FILE": str(ca),
            "CI": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        argv = suite_command(kind, checkout, venv, junit, args.test_timeout)
        (work / "command.txt").write_text(" ".join(argv) + "\n")
        started = time.monotonic()
        runner = ns.start(argv, work / "suite.log", suite_env, cwd=checkout)
        try:
            result.runner_exit = runner.wait(args.timeout)
        except subprocess.TimeoutExpired:
            result.note = f"timed out after {args.timeout}s"
        result.seconds = round(time.monotonic() - started, 1)
        if server.poll() is not None:
            result.note = (result.note + "; " if result.note else "") + "qstash dev exited during the run"
        if junit.is_file():
            parse_junit(junit, result)
            result.ran = not result.note.startswith("timed out")
        elif not result.note:
            result.note = f"the runner wrote no results (exit {result.runner_exit}, see {work / 'suite.log'})"
        return result
    finally:
        ns.close()


def print_report(results: list[SuiteResult], out: Path, when: str) -> None:
    print(f"SDK suites against qstash dev ({when}); logs in {out}")
    header = f"{'suite':<12} {'commit':<12} {'version':<8} {'passed':>6} {'failed':>6} {'skipped':>7} {'secs':>7}  note"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.kind:<12} {r.commit[:12]:<12} {r.version:<8} {r.passed:>6} {r.failed:>6} {r.skipped:>7} "
            f"{r.seconds:>7.1f}  {r.note if r.note else ('ran' if r.ran else '')}"
        )
    for r in results:
        if r.failures:
            print(f"\n{r.kind}: {len(r.failures)} failing")
            for f in r.failures:
                print(f"  {f.test}\n      {f.message}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="run_sdk_suites.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("checkouts", nargs="+", type=Path, help="paths of SDK repository checkouts (any of the four)")
    p.add_argument("--out", type=Path, help="directory for logs and summary.json (default: a new /tmp dir)")
    p.add_argument(
        "--venv",
        action="append",
        default=[],
        metavar="KIND=DIR",
        help="venv for a Python suite, e.g. qstash-py=/work/checkouts/venv-qstash-py "
        "(default: venv-<checkout dir name> beside the checkout)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"qstash dev's port (default {DEFAULT_PORT})")
    p.add_argument("--backoff-scale", type=float, default=0.01, help="qstash dev --backoff-scale (default 0.01)")
    p.add_argument(
        "--server-python",
        default=sys.executable,
        help="interpreter with this project's dependencies that runs qstash dev and the sink (default: this one)",
    )
    p.add_argument("--timeout", type=int, default=1800, help="seconds for a whole suite (default 1800)")
    p.add_argument("--test-timeout", type=int, default=120, help="seconds per pytest test (default 120)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    venvs: dict[str, Path] = {}
    for item in args.venv:
        kind, sep, path = item.partition("=")
        if not sep or kind not in ("qstash-py", "workflow-py"):
            fail(f"--venv takes qstash-py=DIR or workflow-py=DIR, not {item!r}")
        venvs[kind] = Path(path).resolve()
    suites: list[tuple[str, Path]] = []
    for path in args.checkouts:
        path = path.resolve()
        if not path.is_dir():
            fail(f"no such directory: {path}")
        if path == REPO or REPO in path.parents:
            fail(f"{path} is inside this repository; keep SDK checkouts outside it")
        kind = detect_kind(path)
        if kind in dict(suites):
            fail(f"two checkouts of {kind}")
        suites.append((kind, path))
    if args.out and (args.out.resolve() == REPO or REPO in args.out.resolve().parents):
        fail("--out must be outside this repository")
    if os.geteuid() != 0:
        fail("network namespaces need root")
    for tool in ("ip", "openssl", "git"):
        if shutil.which(tool) is None:
            fail(f"`{tool}` is not installed")
    check = [args.server_python, "-c", "import uvicorn, qstash_cli.server.app"]
    if subprocess.run(check, env={**os.environ, "PYTHONPATH": str(REPO / "src")}, capture_output=True).returncode:
        fail(f"{args.server_python} cannot import qstash dev's dependencies; use the project's venv (--server-python)")
    if any(k.endswith("-js") for k, _ in suites) and shutil.which("bun") is None:
        fail("the JS suites need `bun` (npm i -g --allow-scripts=bun bun)")
    out = (args.out or Path(tempfile.mkdtemp(prefix="qstash-sdk-suites-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)

    def interrupted(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    modified = " (src modified)" if git(REPO, "status", "--porcelain", "src") else ""
    server_commit = git(REPO, "rev-parse", "HEAD") + modified
    results: list[SuiteResult] = []
    try:
        for kind, path in sorted(suites, key=lambda s: KINDS.index(s[0])):
            venv = venvs.get(kind, path.parent / f"venv-{path.name}") if kind.endswith("-py") else None
            print(f"running {kind} ({path}) ...", file=sys.stderr, flush=True)
            results.append(run_suite(kind, path, venv, out, args))
    except (KeyboardInterrupt, Interrupted):
        print("Error: interrupted; namespaces removed", file=sys.stderr)
        return 130
    summary = {
        "date": when,
        "qstash_dev_commit": server_commit,
        "port": args.port,
        "suites": [asdict(r) for r in results],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print_report(results, out, f"{when}, qstash dev at {server_commit[:12]}")
    return 0 if all(r.ran for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
