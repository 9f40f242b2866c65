"""`qstash listen`: the receiver in-process over real loopback HTTP (verdicts, answers, forwarding, output modes),
and the command as a subprocess (--count, --json, 489, Ctrl-C). Only 127.0.0.1 is used."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from qstash_cli import signing
from qstash_cli.commands.listen import Receiver, answer_headers, preview, serve
from qstash_cli.output import JSON, PLAIN, QUIET, Output
from tests.live import free_port

CUR = "sig_listen_current_0001"
NXT = "sig_listen_next_000002"
KEYS = [("current", CUR), ("next", NXT)]


class Running:
    def __init__(self, receiver: Receiver, thread: threading.Thread, out: io.StringIO) -> None:
        self.receiver, self.thread, self.out = receiver, thread, out

    @property
    def base(self) -> str:
        return self.receiver.default_base

    def post(
        self,
        path: str,
        body: bytes = b"hello",
        *,
        sign_url: str | None = None,
        key: str = CUR,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = {"Upstash-Message-Id": "msg_1", "Upstash-Retried": "0", "Content-Type": "text/plain", **(headers or {})}
        if key:
            h["Upstash-Signature"] = signing.sign(key, sign_url or self.base + path, body)
        return httpx.post(self.base + path, content=body, headers=h, timeout=10)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


@pytest.fixture
def listener() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(*, mode: str = JSON, keys: list[tuple[str, str]] | None = None, **options: Any) -> Running:
        out = io.StringIO()
        settings = {
            "url_base": None,
            "status": 200,
            "headers": [],
            "body": b"",
            "forward": None,
            "tolerance": 0,
            "count": None,
            "limit": 200,
            **options,
        }
        receiver = Receiver(Output(mode, stdout=out, stderr=io.StringIO()), KEYS if keys is None else keys, **settings)
        thread = threading.Thread(target=serve, args=(receiver, "127.0.0.1", 0), daemon=True)
        thread.start()
        assert receiver.ready.wait(10), "listener did not start"
        running = Running(receiver, thread, out)
        started.append(running)
        return running

    yield start
    for running in started:
        running.receiver.done.set()
        running.thread.join(10)


def test_signed_delivery_as_a_json_line(listener) -> None:
    srv = listener()
    r = srv.post("/hook?x=1", b'{"a": 1}', headers={"Upstash-Topic-Name": "orders"})
    assert (r.status_code, r.content) == (200, b"")
    [line] = srv.lines()
    assert line["method"] == "POST" and line["path"] == "/hook?x=1"
    assert line["body"] == '{"a": 1}' and line["bodyEncoding"] == "utf-8" and line["bodySize"] == 8
    assert line["headers"]["Upstash-Message-Id"] == "msg_1" and line["headers"]["Upstash-Topic-Name"] == "orders"
    assert line["status"] == 200
    sig = line["signature"]
    assert sig["valid"] is True and sig["key"] == "current" and sig["url"] == srv.base + "/hook?x=1"
    assert sig["claims"]["iss"] == "Upstash"


def test_next_key_after_rotation_is_valid(listener) -> None:
    srv = listener()
    srv.post("/r", key=NXT)
    sig = srv.lines()[0]["signature"]
    assert sig["valid"] is True and sig["key"] == "next"
    assert [c["failure"] for c in sig["checks"]] == ["signature", None]


@pytest.mark.parametrize(
    ("kwargs", "failure"),
    [
        ({"key": "sig_wrong"}, "signature"),
        ({"sign_url": "http://127.0.0.1:1/other"}, "subject"),
        ({"key": ""}, "unsigned"),
    ],
)
def test_invalid_signatures_are_reported(listener, kwargs, failure) -> None:
    srv = listener()
    assert srv.post("/hook", **kwargs).status_code == 200  # the answer does not depend on the verdict
    sig = srv.lines()[0]["signature"]
    assert sig["valid"] is False and sig["failure"] == failure


def test_tampered_body(listener) -> None:
    srv = listener()
    good = signing.sign(CUR, srv.base + "/hook", b"original")
    srv.post("/hook", b"tampered", key="", headers={"Upstash-Signature": good})
    sig = srv.lines()[0]["signature"]
    assert sig["valid"] is False
    assert sig["failure"] == "body" and sig["detail"].startswith("current key: body hash is")


def test_loopback_alias_and_bare_origin_match_the_subject(listener) -> None:
    srv = listener()
    port = srv.base.rsplit(":", 1)[1]
    srv.post("/hook", sign_url=f"http://localhost:{port}/hook")
    srv.post("/", sign_url=f"http://127.0.0.1:{port}")
    assert [line["signature"]["valid"] for line in srv.lines()] == [True, True]


def test_url_base_is_used_for_the_subject(listener) -> None:
    srv = listener(url_base="https://tunnel.example/")
    srv.post("/hook", sign_url="https://tunnel.example/hook")
    srv.post("/hook")  # signed for the local URL: does not match the public one
    assert [line["signature"].get("failure") for line in srv.lines()] == [None, "subject"]


def test_without_keys_nothing_is_checked(listener) -> None:
    srv = listener(keys=[])
    srv.post("/hook")
    assert srv.lines()[0]["signature"] == {
        "valid": None,
        "failure": "no-keys",
        "detail": "no signing keys to check with",
    }


def test_binary_body_is_base64(listener) -> None:
    srv = listener()
    body = bytes(range(256))
    srv.post("/bin", body)
    line = srv.lines()[0]
    assert line["bodyEncoding"] == "base64" and line["bodySize"] == 256
    import base64

    assert base64.b64decode(line["body"]) == body and line["signature"]["valid"] is True


def test_status_headers_and_body_of_the_answer(listener) -> None:
    srv = listener(status=500, headers=[("Retry-After", "1")], body=b"boom")
    r = srv.post("/hook")
    assert (r.status_code, r.headers["retry-after"], r.content) == (500, "1", b"boom")
    assert srv.lines()[0]["status"] == 500
    assert answer_headers(489, []) == [("Upstash-NonRetryable-Error", "true")]
    assert answer_headers(489, [("upstash-nonretryable-error", "false")]) == [("upstash-nonretryable-error", "false")]
    assert answer_headers(500, []) == []


def test_count_stops_the_server_and_later_requests_are_refused(listener) -> None:
    srv = listener(count=2)
    srv.post("/1")
    srv.post("/2")
    srv.thread.join(10)
    assert not srv.thread.is_alive() and srv.receiver.seen == 2
    assert [line["path"] for line in srv.lines()] == ["/1", "/2"]


def test_forward_relays_request_and_answer(listener, sink) -> None:
    sink.respond(201, body="created", headers={"X-App": "yes"})
    srv = listener(forward=sink.url + "/")
    r = srv.post("/orders?id=7", b'{"n":1}', headers={"X-Custom": "abc"})
    assert (r.status_code, r.content, r.headers["x-app"]) == (201, b"created", "yes")
    [got] = sink.wait_for(1)
    assert (got.method, got.path, got.body) == ("POST", "/orders?id=7", b'{"n":1}')
    assert got.header("x-custom") == "abc" and got.header("upstash-signature") and got.header("upstash-message-id")
    line = srv.lines()[0]
    assert line["status"] == 201 and line["forwardedTo"] == sink.url + "/orders?id=7"
    assert line["signature"]["valid"] is True


def test_forward_to_a_dead_app_answers_502(listener) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    srv = listener(forward=dead)
    r = srv.post("/hook")
    assert r.status_code == 502 and b"cannot forward" in r.content
    line = srv.lines()[0]
    assert line["status"] == 502 and line["error"].startswith(f"cannot forward to {dead}/hook")


def test_text_and_quiet_output(listener) -> None:
    srv = listener(mode=PLAIN)
    srv.post("/hook", b"line1\nline2")
    block = srv.out.getvalue().splitlines()
    assert block[0].endswith(" POST /hook → 200")
    assert "  Upstash-Message-Id: msg_1" in block and "  Content-Type: text/plain" in block
    assert "  body: line1\\nline2" in block and block[-1] == "  signature: valid (current key)"
    sig_line = next(line for line in block if line.startswith("  Upstash-Signature: "))
    assert sig_line.endswith("…")
    quiet = listener(mode=QUIET)
    quiet.post("/q")
    assert quiet.out.getvalue() == "msg_1\n"


def test_network_text_is_escaped(listener) -> None:
    srv = listener(mode=PLAIN)
    srv.post("/hook", "\x1b]0;pwned\x07\x1b[2J\u202e".encode(), headers={"Upstash-Label": "\x1bx"})
    text = srv.out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "body: \\x1b]0;pwned\\x07\\x1b[2J\\u202e" in text


def test_preview() -> None:
    assert preview(b"", 10) == "(empty)"
    assert preview(b"\xff\x00", 10) == "(2 bytes, binary)"
    assert preview(b"x" * 30, 10) == "x" * 10 + "… (30 bytes)"
    assert preview(b"a\tb\r\n", 10) == "a\\tb\\r\\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--status", "700"), "invalid --status 700"),
        (("--forward", "localhost:3000"), "invalid --forward URL"),
        (("--url-base", "tunnel"), "invalid --url-base"),
        (("-H", "no colon"), "invalid header"),
        (("--clock-tolerance", "x"), "invalid --clock-tolerance"),
        (("--response-body", "@/nonexistent"), "body file not found"),
    ],
)
def test_bad_options_exit_2_before_listening(cli, args, message) -> None:
    r = cli("listen", "--port", "0", *args)
    assert r.exit_code == 2 and message in r.stderr.splitlines()[0] and "Listening" not in r.stderr


def test_port_in_use_exits_1(cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = cli("listen", "--port", str(port))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-2:] == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use",
        "Hint: choose another --port",
    ]


# -- the command as a subprocess -------------------------------------------------------------------------------------


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    """Wait for the exit; the rest of stdout and stderr (read through the same buffered streams as before)."""
    proc.wait(timeout=30)
    return proc.stdout.read(), proc.stderr.read()


def start_listen(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, list[str]]:
    """Start `qstash listen --port 0 ARGS`; the process, its base URL and the stderr lines up to `Listening on`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QSTASH_", "_QSTASH"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qstash_cli", "listen", "--port", "0", *args],
        env={**base, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [proc.stderr.readline()]
    while lines[-1].startswith("Warning:"):
        lines.append(proc.stderr.readline())
    if not lines[-1].startswith("Listening on http://127.0.0.1:"):
        proc.kill()
        pytest.fail("".join(lines) + proc.stderr.read())
    return proc, lines[-1].split()[2], lines


def test_subprocess_count_json_and_489(isolated) -> None:
    env = {"QSTASH_CONFIG": str(isolated / "c.toml"), "QSTASH_CURRENT_SIGNING_KEY": CUR}
    proc, base, _ = start_listen("--count", "1", "--json", "--status", "489", env=env)
    body = b"hi"
    r = httpx.post(base + "/x", content=body, headers={"Upstash-Signature": signing.sign(CUR, base + "/x", body)})
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert (r.status_code, r.headers["upstash-nonretryable-error"]) == (489, "true")
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["status"] == 489 and line["signature"]["valid"] is True and line["body"] == "hi"
    assert err.startswith(f"Try: qstash -p dev publish {base}/ -d hello")
    assert err.endswith("Stopped after 1 request(s).\n")
    assert CUR not in out + err


def test_ctrl_c_exits_0(isolated) -> None:
    proc, _, first = start_listen(env={"QSTASH_CONFIG": str(isolated / "c.toml")})
    assert first[0].startswith("Warning: no signing keys")
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert out == "" and "Stopped after 0 request(s)." in err and "Traceback" not in err
