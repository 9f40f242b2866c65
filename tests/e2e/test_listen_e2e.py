"""`qstash listen` receiving real deliveries from `qstash dev`: valid signatures, retries on 500, forwarding to an app,
and the README's local loop (`qstash dev` + `qstash -p dev listen` + `qstash -p dev publish`) as three processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live import free_port


def qstash(*args: str) -> list[str]:
    return [sys.executable, "-m", "qstash_cli", *args]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH", "UPSTASH_"))}
    return {**env, "PYTHONUNBUFFERED": "1", "QSTASH_CONFIG": str(tmp / "config.toml"), **extra}


class Listener:
    """`qstash listen` in a subprocess on a free port; `finish()` waits for its exit (--count)."""

    def __init__(self, *args: str, env: dict[str, str], profile: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            qstash(*(("-p", profile) if profile else ()), "listen", "--port", str(self.port), *args),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.head = []
        while True:
            line = self.proc.stderr.readline()
            self.head.append(line)
            if line.startswith("Listening on") or not line:
                break
        assert line.startswith(f"Listening on {self.url}"), "".join(self.head) + self.proc.stderr.read()

    def finish(self, timeout: float = 30) -> tuple[str, str]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        assert self.proc.returncode == 0, err
        return out, err


@pytest.fixture
def publish(dev_server, cli, monkeypatch):
    monkeypatch.setenv("QSTASH_URL", dev_server.url)
    monkeypatch.setenv("QSTASH_TOKEN", dev_server.token)

    def run(*args: str) -> str:
        r = cli("publish", *args, "-q")
        assert r.exit_code == 0, r.stderr
        return r.stdout.strip()

    return run


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_listen_reports_a_delivery_with_a_valid_signature(dev_server, publish, tmp_path, api) -> None:
    keys = {"QSTASH_CURRENT_SIGNING_KEY": dev_server.current_key, "QSTASH_NEXT_SIGNING_KEY": dev_server.next_key}
    listener = Listener("--count", "1", "--json", env=clean_env(tmp_path, **keys))
    message_id = publish("--api", api, f"{listener.url}/hook?src=e2e", "-d", '{"hello":"world"}',
                         "-t", "application/json", "-H", "X-Trace: t1")  # fmt: skip
    out, err = listener.finish()
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (line["method"], line["path"], line["body"]) == ("POST", "/hook?src=e2e", '{"hello":"world"}')
    headers = {k.lower(): v for k, v in line["headers"].items()}
    assert headers["upstash-message-id"] == message_id and headers["x-trace"] == "t1"
    assert headers["content-type"] == "application/json" and headers["upstash-signature"]
    assert line["signature"]["valid"] is True and line["signature"]["key"] == "current"
    assert line["signature"]["claims"]["sub"] == f"{listener.url}/hook?src=e2e"
    assert line["status"] == 200 and "Stopped after 1 request(s)." in err


def test_listen_status_500_shows_the_retries(dev_server, publish, tmp_path) -> None:
    keys = {"QSTASH_CURRENT_SIGNING_KEY": dev_server.current_key}
    listener = Listener("--count", "3", "--json", "--status", "500", env=clean_env(tmp_path, **keys))
    message_id = publish(f"{listener.url}/flaky", "-d", "x", "--retries", "2")
    out, _ = listener.finish()
    lines = [json.loads(x) for x in out.splitlines()]
    assert [ln["status"] for ln in lines] == [500, 500, 500]
    assert [ln["headers"]["Upstash-Retried"] for ln in lines] == ["0", "1", "2"]
    assert {ln["headers"]["Upstash-Message-Id"] for ln in lines} == {message_id}
    assert all(ln["signature"]["valid"] for ln in lines)


def test_listen_forwards_to_a_local_app(dev_server, publish, sink, tmp_path) -> None:
    sink.respond(202, body="accepted by app")
    keys = {"QSTASH_CURRENT_SIGNING_KEY": dev_server.current_key}
    listener = Listener("--count", "1", "--json", "--forward", sink.url, env=clean_env(tmp_path, **keys))
    publish(f"{listener.url}/api/webhook", "-d", "payload")
    out, _ = listener.finish()
    [app_request] = sink.wait_for(1)
    assert (app_request.path, app_request.body) == ("/api/webhook", b"payload")
    assert app_request.header("upstash-signature")
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["status"] == 202 and line["forwardedTo"] == f"{sink.url}/api/webhook"
    assert line["signature"]["valid"] is True


def test_readme_local_loop(tmp_path) -> None:
    """README: `qstash dev` · `qstash -p dev listen` · `qstash -p dev publish http://127.0.0.1:9000/ -d hello`.
    Ports are free ones (the dev server gets --port, the client --url), everything else is as written."""
    env = clean_env(tmp_path)
    dev_port = free_port()
    with open(tmp_path / "dev.log", "wb") as log:
        dev = subprocess.Popen(qstash("dev", "--port", str(dev_port), "--memory"), env=env, stdout=log, stderr=log)
    try:
        dev_url = f"http://127.0.0.1:{dev_port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{dev_url}/v2/keys", headers={"Authorization": "Bearer x"}, timeout=1).status_code:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and dev.poll() is None, (tmp_path / "dev.log").read_text()
                time.sleep(0.05)
        listener = Listener("--count", "1", env=env, profile="dev")
        sent = subprocess.run(
            qstash("-p", "dev", "--url", dev_url, "publish", f"{listener.url}/", "-d", "hello"),
            env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert "msg_" in sent.stdout
        out, err = listener.finish()
    finally:
        dev.terminate()
        dev.wait(10)
    block = out.splitlines()
    assert block[0].endswith(" POST / → 200")
    assert "  body: hello" in block
    assert block[-1] == "  signature: valid (current key)"
    assert "signature keys: current, next" in "".join(listener.head)
