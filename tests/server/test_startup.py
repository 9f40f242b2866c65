"""Start-up and shutdown of `qstash dev`: the credentials it prints, the CLI entry point, loopback by default,
clean exits, and no server imports for the CLI's own start-up."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from qstash_cli import devcreds
from tests.live import free_port


def _start(args: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([*args, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/keys", params={"qstash_token": devcreds.DEV_TOKEN}).is_success:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.communicate()[1])


def test_qstash_dev_prints_credentials_and_stops_on_ctrl_c():
    proc, port = _start([sys.executable, "-m", "qstash_cli", "dev", "--memory"])
    httpx.get(f"http://127.0.0.1:{port}/v2/keys", headers={"Authorization": f"Bearer {devcreds.DEV_TOKEN}"})
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode in (0, 130), err
    assert "qstash dev: stopped" in err
    assert f"export QSTASH_URL=http://127.0.0.1:{port}" in err
    assert f"export QSTASH_TOKEN={devcreds.DEV_TOKEN}" in err
    assert f"export QSTASH_CURRENT_SIGNING_KEY={devcreds.DEV_CURRENT_SIGNING_KEY}" in err
    assert f"export QSTASH_NEXT_SIGNING_KEY={devcreds.DEV_NEXT_SIGNING_KEY}" in err
    assert "qstash -p dev publish http://127.0.0.1:9000/ -d hello" in err
    assert "GET /v2/keys 200" in err
    assert "Warning" not in err and "Traceback" not in err


def test_sigterm_stops_cleanly_and_non_loopback_warns():
    proc, _ = _start([sys.executable, "-m", "qstash_cli.server", "--memory", "--host", "0.0.0.0"])
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert "Warning: listening on 0.0.0.0" in err
    assert proc.returncode == 0 and err.rstrip().endswith("qstash dev: stopped")
    assert "Traceback" not in err


def test_port_in_use_is_one_line():
    proc, port = _start([sys.executable, "-m", "qstash_cli.server", "--memory"])
    try:
        second = subprocess.run(
            [sys.executable, "-m", "qstash_cli.server", "--memory", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert second.returncode == 1
        assert second.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
        assert "Traceback" not in second.stderr
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_startup_does_not_import_the_server():
    code = (
        "import sys; import qstash_cli.commands.dev; "
        "print(','.join(m for m in ('uvicorn', 'starlette', 'httpx', 'jwt', 'croniter', 'qstash_cli.server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
