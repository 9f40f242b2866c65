"""The one-shot wire (api/stdlib_wire.py: a single `qstash publish` to a plain-http server over http.client) behaves
as the httpx wire does: the same request on the wire, the same answer or the same error line for every answer and
fault (redirects, auth errors echoing the token, 429 waits, retries of idempotent publishes, resets, trickles past the
deadline), and it steps aside whenever it could not send a request exactly as httpx would."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qstash_cli.api import transport
from qstash_cli.api.stdlib_wire import Wire
from qstash_cli.api.transport import Transport
from qstash_cli.errors import NetworkError, QstashError
from tests.live import read_request
from tests.reliability.faulty import faulty_server, refused_url

TOKEN = "tok_one_shot_secret_0123456789"


class _Recorder(BaseHTTPRequestHandler):
    """Records each request (line, headers, body) and plays the scripted answers in turn (the last one repeats)."""

    protocol_version = "HTTP/1.1"
    answers: list[tuple[int, dict[str, str], bytes]]
    seen: list[dict]

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(
            {
                "method": self.command,
                "target": self.path,
                "headers": [(k.lower(), v) for k, v in self.headers.raw_items()],
                "body": body,
            }
        )
        status, headers, content = self.answers[min(len(self.seen), len(self.answers)) - 1]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_DELETE = do_PUT = _handle

    def log_message(self, *args) -> None:
        pass


class _Api:
    def __init__(self) -> None:
        handler = type("Handler", (_Recorder,), {"answers": [(200, {}, b"{}")], "seen": []})
        self.handler = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.handler.answers = list(answers)
        self.handler.seen.clear()

    @property
    def seen(self) -> list[dict]:
        return self.handler.seen


@pytest.fixture
def api(monkeypatch) -> Iterator[_Api]:
    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = _Api()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _call(url: str, one_shot: bool, **kwargs) -> tuple[str, object]:
    """Send one request; ("ok", data) or (error class, message, hint, exit code)."""
    t = Transport(url, TOKEN, one_shot=one_shot, quiet=True)
    try:
        method = kwargs.pop("method", "POST")
        path = kwargs.pop("path", "/v2/publish/https://example.com/hook")
        reply = t.send(method, path, **kwargs)
        outcome: tuple = ("ok", reply.status, reply.data)
    except QstashError as exc:
        outcome = (type(exc).__name__, exc.message, exc.hint, exc.exit_code)
    finally:
        t.close()
    used_stdlib = isinstance(t._stdlib_wire, Wire)
    return outcome, used_stdlib


def _both(api: _Api, *answers, **kwargs) -> tuple[tuple, list[dict], tuple, list[dict]]:
    api.script(*answers)
    via_httpx, used = _call(api.url, False, **dict(kwargs))
    assert not used
    seen_httpx = list(api.seen)
    api.script(*answers)
    via_stdlib, used = _call(api.url, True, **dict(kwargs))
    assert used, "the one-shot transport did not use the stdlib wire"
    return via_httpx, seen_httpx, via_stdlib, list(api.seen)


def _comparable(request: dict) -> dict:
    """What both wires must send alike: all but Accept-Encoding and Connection (the stdlib wire asks for identity and
    closes; it never keeps a connection) — and their order."""
    headers = sorted((k, v) for k, v in request["headers"] if k not in ("accept-encoding", "connection"))
    return {**request, "headers": headers}


JSON = {"Content-Type": "application/json"}
ANSWERS = {
    "created": [(201, JSON, b'{"messageId": "msg_1"}')],
    "deduplicated": [(202, JSON, b'{"messageId": "msg_1"}')],
    "url group": [(200, JSON, b'[{"messageId": "msg_1", "url": "https://a"}, {"messageId": "msg_2", "url": "b"}]')],
    "redirect": [(302, {"Location": "https://login.example.com/"}, b"")],
    "moved permanently": [(301, {"Location": "https://login.example.com/" + "x" * 300}, b"<html>moved</html>")],
    "no body": [(200, {}, b"")],
    "204": [(204, {}, b"")],
    "auth echoes the token": [(401, JSON, json.dumps({"error": f"invalid token {TOKEN}"}).encode())],
    "auth echoes part of it": [(403, JSON, json.dumps({"error": f"bad token ...{TOKEN[5:20]}..."}).encode())],
    "not found": [(404, JSON, b'{"error": "topic not found"}')],
    "plan limit": [(412, JSON, b'{"error": "limit"}')],
    "too large": [(413, {}, b"<html>Request Entity Too Large</html>")],
    "server error html": [(500, {"Content-Type": "text/html"}, b"<html><h1>Internal\n Server Error</h1></html>")],
    "503 then ok": [(503, JSON, b'{"error": "down"}'), (201, JSON, b'{"messageId": "msg_2"}')],
    "502 three times": [(502, {}, b"bad gateway")],
    "429 then ok": [(429, {"Retry-After": "0"}, b'{"error": "slow down"}'), (201, JSON, b'{"messageId": "msg_3"}')],
    "429 daily": [(429, {"RateLimit-Limit": "10", "RateLimit-Reset": "99999999999"}, b'{"error": "daily"}')],
    "429 always": [(429, {"Retry-After": "1"}, b'{"error": "burst"}')],
    "non-JSON 200": [(200, {"Content-Type": "text/html"}, b"<html>hi</html>")],
    "truncated JSON": [(200, JSON, b'{"messageId": ')],
    "NaN": [(200, JSON, b'{"n": NaN}')],
    "gzip": [(200, {**JSON, "Content-Encoding": "gzip"}, gzip.compress(b'{"messageId": "msg_gz"}'))],
    "repeated headers": [(429, {"Retry-After": "0", "X-A": "1"}, b"{}"), (200, JSON, b'{"ok": true}')],
    "utf-8 error": [(400, JSON, json.dumps({"error": "ungültig ✗"}, ensure_ascii=False).encode())],
}


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "dedup-id"])
@pytest.mark.parametrize("case", list(ANSWERS))
def test_same_outcome_on_both_wires(api, case: str, idempotent: bool) -> None:
    via_httpx, seen_httpx, via_stdlib, seen_stdlib = _both(
        api, *ANSWERS[case], content=b"hello", headers={"Upstash-Delay": "10s"}, idempotent=idempotent, expect_body=True
    )
    assert via_stdlib == via_httpx
    assert TOKEN not in repr(via_stdlib) and TOKEN[5:20] not in repr(via_stdlib)
    assert len(seen_stdlib) == len(seen_httpx) >= 1  # the same retries (or none)
    assert [_comparable(r) for r in seen_stdlib] == [_comparable(r) for r in seen_httpx]
    assert all(dict(r["headers"])["connection"] == "close" for r in seen_stdlib)


REQUESTS = {
    "publish with query": dict(path="/v2/publish/https://example.com/hook?a=1&b=x%20y", content=b"x"),
    "forward headers, UTF-8 value": dict(
        headers=[("Upstash-Forward-X-Name", "Zoë ✓"), ("Upstash-Forward-X-Name", "second"), ("Content-Type", "a/b")],
        content=b"\x00\xffbinary",
    ),
    "empty body": dict(content=b""),
    "no body (POST)": dict(),
    "GET": dict(method="GET", path="/v2/keys"),
    "DELETE": dict(method="DELETE", path="/v2/topics/orders"),
    "json body": dict(json_body={"a": [1, "ü"]}),
    "IDN destination (goes to httpx)": dict(path="/v2/publish/https://bücher.example/ü?q=ö", content=b"x"),
    "dot segment (goes to httpx)": dict(path="/v2/publish/https://example.com/a/../b", content=b"x"),
    "fragment (goes to httpx)": dict(path="/v2/publish/https://example.com/a#frag", content=b"x"),
    "params (go to httpx)": dict(method="GET", path="/v2/logs", params={"cursor": "a b", "count": 5}),
    "header with blanks (goes to httpx)": dict(headers={"Upstash-Forward-X": " padded "}, content=b"x"),
}


@pytest.mark.parametrize("case", list(REQUESTS))
def test_same_request_on_both_wires(api, case: str) -> None:
    """Byte for byte (but Accept-Encoding and Connection): method, target, headers, body. Requests the stdlib wire
    cannot send exactly as httpx would go to httpx (no `Connection: close`)."""
    api.script((200, JSON, b'{"ok": true}'))
    by_httpx, _ = _call(api.url, False, **dict(REQUESTS[case]))
    sent_by_httpx = list(api.seen)
    api.script((200, JSON, b'{"ok": true}'))
    by_one_shot, _ = _call(api.url, True, **dict(REQUESTS[case]))
    assert by_one_shot == by_httpx
    assert [_comparable(r) for r in api.seen] == [_comparable(r) for r in sent_by_httpx]
    expect_stdlib = "goes to httpx" not in case and "go to httpx" not in case
    assert [dict(r["headers"]).get("connection") == "close" for r in api.seen] == [expect_stdlib] * len(api.seen)
    assert api.seen or "blanks" in case  # (httpx refuses a header value with blanks around it: nothing is sent)


# What httpx leaves alone in a path and in a query, what it percent-encodes, and what it normalises.
TARGET_CHARS = st.sampled_from(
    list("abcXYZ019-._~!$&'()*+,;=:@/?%#[]|^\\\"<>`{} \t\x7fü✓") + ["%2F", "%zz", "/./", "/../"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TARGET_CHARS, max_size=30).map("".join), st.sampled_from(["", "/api", "/api/"]))
def test_a_target_is_either_what_httpx_sends_or_left_to_httpx(tail: str, prefix: str) -> None:
    base = f"http://127.0.0.1:8080{prefix}"
    wire = Wire.serving(base)
    assert wire is not None
    path = "/v2/publish/https://example.com/" + tail
    request = wire.build("POST", path, None, b"", [])
    if request is None:
        return
    try:
        expected = httpx.Client(base_url=base).build_request("POST", path).url.raw_path.decode()
    except httpx.InvalidURL:
        pytest.fail(f"the stdlib wire took {path!r}, which httpx refuses")
    assert request.target == expected


def test_plain_targets_are_taken() -> None:
    """Not vacuous: the usual publish targets do go over the stdlib wire."""
    wire = Wire.serving("http://127.0.0.1:8080")
    for path in ("/v2/publish/https://example.com/hook", "/v2/publish/orders", "/v2/publish/https://a.b/c?d=%2F&e=1"):
        assert wire.build("POST", path, None, b"x", [("Upstash-Delay", "1m")]).target == path


@pytest.mark.parametrize(
    "url", ["https://qstash.upstash.io", "http://bücher.example", "http://127.0.0.1:8080?x=1", "http://127.0.0.1:99999"]
)
def test_stdlib_wire_serves_only_plain_http(url: str) -> None:
    assert Wire.serving(url) is None


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "https_proxy"])
def test_a_proxy_in_the_environment_leaves_it_to_httpx(monkeypatch, name: str) -> None:
    monkeypatch.setenv(name, "http://127.0.0.1:3128")
    assert Wire.serving("http://127.0.0.1:8080") is None
    monkeypatch.setenv(name, "")
    monkeypatch.setenv("NO_PROXY", "*")
    assert Wire.serving("http://127.0.0.1:8080") is not None


def test_a_replaced_http_client_takes_every_request(api, monkeypatch) -> None:
    """Tests (and embedders) install their own httpx client through make_http_client: then even a one-shot request
    goes through it."""
    made: list[str] = []

    def make(base_url: str) -> httpx.Client:
        made.append(base_url)
        return httpx.Client(base_url=base_url)

    monkeypatch.setattr(transport, "make_http_client", make)
    api.script((201, JSON, b'{"messageId": "msg_1"}'))
    outcome, used_stdlib = _call(api.url, True, content=b"x")
    assert outcome == ("ok", 201, {"messageId": "msg_1"}) and not used_stdlib and made == [api.url]


@pytest.fixture
def short_timeouts(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)
    monkeypatch.setattr(transport, "TIMEOUT", transport.Timeout(0.5, connect=0.5))
    return waits


@pytest.mark.parametrize("mode", ["reset", "truncated", "close", "garbage", "hang", "slow_headers", "html"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_faults_end_alike_on_both_wires(short_timeouts, mode: str, method: str) -> None:
    outcomes, connections = [], []
    for one_shot in (False, True):
        with faulty_server(mode) as server:
            path = "/v2/keys" if method == "GET" else "/v2/publish/orders"
            outcome, used_stdlib = _call(server.url, one_shot, method=method, path=path, content=b"x")
            # Whether a peer that closes mid-answer shows as a reset (ReadError) or an early end of the stream
            # (RemoteProtocolError) depends on timing, on either wire: both are "broke off mid-answer".
            message = re.sub(r" \((ReadError|RemoteProtocolError)\)$", "", outcome[1].replace(server.url, "URL"))
            outcomes.append((outcome[0], message, *outcome[2:]))
            connections.append(server.connections)
        assert used_stdlib is one_shot
    assert outcomes[0][0] in ("NetworkError", "ApiError")
    assert outcomes[1] == outcomes[0]
    retried = method == "GET" and outcomes[0][0] == "NetworkError"  # a publish that may have landed is not repeated
    assert connections[1] == connections[0] == (transport.TRANSIENT_TRIES if retried else 1)


@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers"])
def test_a_trickling_server_ends_at_the_deadline(monkeypatch, mode: str) -> None:
    """One byte every 2 s restarts every read timeout: only the deadline ends it (the exchange is abandoned)."""
    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    with faulty_server(mode) as server:
        t = Transport(server.url, TOKEN, one_shot=True, deadline=2.5)
        with pytest.raises(NetworkError) as info:
            t.send("POST", "/v2/publish/orders", content=b"x", expect_body=True)
    assert isinstance(t._stdlib_wire, Wire)
    assert f"no complete answer from {server.url} within 2.5s" in info.value.message


def test_an_endless_answer_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    with faulty_server("endless_body") as server:
        outcome, used_stdlib = _call(server.url, True, method="POST", path="/v2/publish/orders", content=b"x")
    assert used_stdlib and outcome[0] == "ApiError" and "larger than 64 MiB" in outcome[1]


def test_connection_refused_alike(short_timeouts) -> None:
    url = refused_url()
    assert _call(url, True, content=b"x", idempotent=True) == (
        _call(url, False, content=b"x", idempotent=True)[0],
        True,
    )
    outcome, _ = _call(url, True, content=b"x")
    assert outcome[:3] == ("NetworkError", f"cannot connect to {url}", "start it with `qstash dev`")


def test_cli_publish_goes_over_the_stdlib_wire(cli, api) -> None:
    """Through the CLI: `qstash publish` (one message) to a plain-http server uses the stdlib wire; the batch
    (many requests) keeps httpx."""
    api.script((201, JSON, b'{"messageId": "msg_cli"}'))
    r = cli("publish", "https://example.com/hook", "-d", "hi", "--url", api.url, "--token", TOKEN, "-q")
    assert (r.exit_code, r.stdout) == (0, "msg_cli\n"), r.stderr
    [request] = api.seen
    assert dict(request["headers"])["connection"] == "close" and request["body"] == b"hi"
    assert request["target"] == "/v2/publish/https://example.com/hook"
    api.script((401, JSON, json.dumps({"error": f"invalid token {TOKEN}"}).encode()))
    r = cli("publish", "https://example.com/hook", "-d", "hi", "--url", api.url, "--token", TOKEN)
    assert r.exit_code == 4 and TOKEN not in r.stderr and r.stderr.startswith("Error: HTTP 401: invalid token ***")


class _RawServer:
    """Answers every request with the same raw bytes, then closes (what a QStash API double cannot produce: framing
    variants and malformed answers at the byte level)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                read_request(conn)
                with contextlib.suppress(OSError):  # the client may have given up (an endless head)
                    conn.sendall(self.answer)
                    conn.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
BODY = b'{"messageId": "msg_raw"}'
RAW_ANSWERS = {
    "content-length": OK_HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
    "chunked": OK_HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n5\r\n"
    + BODY[:5]
    + b"\r\n13\r\n"
    + BODY[5:]
    + b"\r\n0\r\n\r\n",
    "chunked, extension and trailer": OK_HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n18;name=value\r\n"
    + BODY
    + b"\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "chunked, gzip": OK_HEAD
    + b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
    % (len(gzip.compress(BODY)), gzip.compress(BODY)),
    "until close": OK_HEAD + b"\r\n" + BODY,
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY,
    "100 Continue first": b"HTTP/1.1 100 Continue\r\n\r\n" + OK_HEAD + b"Content-Length: 24\r\n\r\n" + BODY,
    "no reason phrase": b"HTTP/1.1 201\r\nContent-Length: 24\r\n\r\n" + BODY,
    "bare LF": b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 24\n\n" + BODY,
    "folded header": OK_HEAD + b"X-Long: a\r\n  b\r\nContent-Length: 24\r\n\r\n" + BODY,
    "same Content-Length twice": OK_HEAD + b"Content-Length: 24\r\nContent-Length: 24\r\n\r\n" + BODY,
    "empty header value": OK_HEAD + b"X-Empty:\r\nContent-Length: 24\r\n\r\n" + BODY,
    "Latin-1 and UTF-8 header values": b"HTTP/1.1 429 Too Many\r\nRetry-After: 99\r\nX-A: \xe9\r\nX-B: \xc3\xa9\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "redirect": b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
    "204 with a stray body": b"HTTP/1.1 204 No Content\r\n\r\n" + BODY,
    "conflicting Content-Length": OK_HEAD + b"Content-Length: 24\r\nContent-Length: 25\r\n\r\n" + BODY,
    "bad Content-Length": OK_HEAD + b"Content-Length: 2x\r\n\r\n" + BODY,
    "Content-Length cut short": OK_HEAD + b"Content-Length: 99\r\n\r\n" + BODY,
    "unsupported Transfer-Encoding": OK_HEAD + b"Transfer-Encoding: gzip\r\n\r\n" + BODY,
    "chunk cut short": OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n40\r\n" + BODY,
    "bad chunk size": OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY,
    "space before the colon": OK_HEAD + b"Content-Length : 24\r\n\r\n" + BODY,
    "not HTTP": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "head never ends": b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200_000,
    "empty": b"",
}


@pytest.mark.parametrize("case", list(RAW_ANSWERS))
def test_raw_answers_end_alike_on_both_wires(monkeypatch, case: str) -> None:
    monkeypatch.setattr(transport, "_sleep", lambda seconds: None)
    server = _RawServer(RAW_ANSWERS[case])
    try:
        outcomes = []
        for one_shot in (False, True):
            outcome, used_stdlib = _call(server.url, one_shot, content=b"x", expect_body=False)
            assert used_stdlib is one_shot
            outcomes.append(outcome)
    finally:
        server.close()
    assert outcomes[1] == outcomes[0]
    if case in ("content-length", "chunked", "until close", "HTTP/1.0", "100 Continue first", "bare LF"):
        assert outcomes[1][0] == "ok" and outcomes[1][2] == {"messageId": "msg_raw"}  # not vacuous
