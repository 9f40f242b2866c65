"""README stays true: the quick start runs word for word, and `.ci/run` runs README's test command."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _blocks(after: str) -> list[str]:
    """The ```sh blocks of README that follow the line starting with `after` (up to the next heading)."""
    start = README.index(after)
    section = README[start : README.find("\n#", start)]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", section, re.S)]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_ci_runs_readmes_test_command() -> None:
    [command] = _blocks("**Test it**")
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines(), f"{command!r} is not a line of .ci/run"


def test_quick_start_word_for_word(tmp_path) -> None:
    """`pip install . && qstash dev` (already installed here), then the second terminal's line, as written."""
    first, second = _blocks("**Run it**")[:2]
    assert first == "pip install . && qstash dev"
    if not (_port_free(8080) and _port_free(9000)):
        pytest.skip("the quick start uses ports 8080 and 9000, and one of them is taken on this machine")
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_")}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), QSTASH_CONFIG=str(tmp_path / "c.toml"))
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    log = open(tmp_path / "dev.log", "wb")  # noqa: SIM115 - closed in finally
    dev = subprocess.Popen(["qstash", "dev"], env=env, stdout=log, stderr=log, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get("http://127.0.0.1:8080/v2/keys", timeout=1)
                break
            except httpx.HTTPError:
                assert dev.poll() is None and time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
                time.sleep(0.1)
        done = subprocess.run(["bash", "-c", second], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    finally:
        dev.terminate()
        dev.wait(10)
        log.close()
    assert done.returncode == 0, done.stderr
    assert "body: hello" in done.stdout and "signature: valid" in done.stdout, done.stdout + done.stderr
    assert re.search(r"messageId\tmsg_\w+", done.stdout)
    assert "dev.sqlite3" in (tmp_path / "dev.log").read_text()  # the default data file, as README says
