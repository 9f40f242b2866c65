"""Deliveries on the wire as QStash makes them: read as raw bytes, forwarded headers never break the framing nor
replace QStash's own; callback settings map to the right names and callback bodies survive a JSON round trip."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from qstash import QStash, Receiver

from tests.live import read_request
from tests.server.helpers import wait_until


class RawSink:
    """A TCP server on 127.0.0.1 keeping each request's bytes exactly as they arrived; answers 200 and closes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                head, body = read_request(conn)
                self.requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def _fields(head: bytes) -> list[tuple[str, str]]:
    """(lower-case name, value) for every header line, in order, duplicates kept."""
    out = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        out.append((name.strip().lower(), value.strip()))
    return out


@pytest.fixture
def raw_sink() -> Iterator[RawSink]:
    s = RawSink()
    yield s
    s.sock.close()


def test_forwarded_headers_never_break_the_request_or_replace_qstash_own(dev_server, raw_sink):
    qs = QStash(dev_server.token, base_url=dev_server.url)
    body = "the body"
    forged = {
        "Host": "evil.example",
        "Content-Length": "999",
        "Transfer-Encoding": "chunked",
        "Connection": "upgrade",
        "Upstash-Signature": "forged",
        "Upstash-Message-Id": "msg_forged",
        "Upstash-Retried": "7",
        "User-Agent": "forged-agent",
        "X-Kept": "yes",
    }
    mid = qs.message.publish(url=f"{raw_sink.url}/raw", body=body, headers=forged).message_id
    [raw] = wait_until(lambda: raw_sink.requests)
    head, _, sent_body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /raw HTTP/1.1"
    fields = _fields(head)
    names = [k for k, _ in fields]
    value = dict(fields)
    assert names.count("host") == 1 and value["host"] == raw_sink.url.removeprefix("http://")
    assert names.count("content-length") == 1 and value["content-length"] == str(len(body))
    assert "transfer-encoding" not in names and value.get("connection") != "upgrade"
    for own in ("upstash-signature", "upstash-message-id", "upstash-retried", "user-agent"):
        assert names.count(own) == 1, own
    assert value["upstash-message-id"] == mid and value["upstash-retried"] == "0"
    assert value["user-agent"] == "Upstash-QStash"
    assert value["x-kept"] == "yes" and sent_body == body.encode()
    Receiver(dev_server.current_key, dev_server.next_key).verify(
        signature=value["upstash-signature"], body=body, url=f"{raw_sink.url}/raw"
    )


def test_callback_settings_map_to_upstash_names_and_bodies_survive_reserialisation(dev_server, sink):
    """The Workflow SDKs put `Upstash-Callback-Workflow-*` / `Upstash-Failure-Callback-Workflow-*` on a publish:
    the callbacks must carry them as `Upstash-Workflow-*`; a framework that parses the callback's JSON body and
    writes it again (JSON.parse → JSON.stringify) must still get the bytes the signature's body hash covers."""
    sink.respond(status=500, path="/fail", headers={"X-Reply": "\u00e9t\u00e9"}, body="caf\u00e9 \u2603")
    headers = {
        "Upstash-Retries": "0",
        "Upstash-Callback": f"{sink.url}/cb",
        "Upstash-Callback-Workflow-RunId": "wfr_cb",
        "Upstash-Callback-Workflow-Url": "https://app.example/wf",
        "Upstash-Callback-Feature-Set": "LazyFetch,InitialBody",
        "Upstash-Callback-Forward-X-Cb": "cb-value",
        "Upstash-Failure-Callback": f"{sink.url}/fcb",
        "Upstash-Failure-Callback-Workflow-RunId": "wfr_fail",
        "Upstash-Failure-Callback-Workflow-Calltype": "failureCall",
        "Upstash-Failure-Callback-Forward-X-Fcb": "fcb-value",
        "Upstash-Forward-X-Note": 'a "quoted" </value> & more',
    }
    with dev_server.client() as c:
        r = c.post(f"/v2/publish/{sink.url}/fail", content="caf\u00e9 \u2603 /path".encode(), headers=headers)
        assert r.status_code == 200, r.text
    sink.wait_for(1, path="/cb")
    sink.wait_for(1, path="/fcb")
    cb = next(x for x in sink.requests if x.path == "/cb")
    fcb = next(x for x in sink.requests if x.path == "/fcb")
    assert cb.header("upstash-workflow-runid") == "wfr_cb"
    assert cb.header("upstash-workflow-url") == "https://app.example/wf"
    assert cb.header("upstash-feature-set") == "LazyFetch,InitialBody"
    assert cb.header("x-cb") == "cb-value" and cb.header("workflow-runid") is None
    assert fcb.header("upstash-workflow-runid") == "wfr_fail"
    assert fcb.header("upstash-workflow-calltype") == "failureCall"
    assert fcb.header("x-fcb") == "fcb-value" and fcb.header("workflow-runid") is None
    receiver = Receiver(dev_server.current_key, dev_server.next_key)
    for req in (cb, fcb):
        again = json.dumps(json.loads(req.body), separators=(",", ":"), ensure_ascii=False).encode()
        assert again == req.body  # what JSON.stringify(JSON.parse(body)) gives back
        receiver.verify(signature=req.header("upstash-signature"), body=again.decode(), url=f"{sink.url}{req.path}")
        payload = json.loads(req.body)
        assert payload["status"] == 500 and payload["sourceMessageId"]
        assert payload["header"]["X-Reply"] == ["\u00e9t\u00e9"] and b"\\u00e9" not in req.body  # UTF-8, unescaped
        assert payload["sourceHeader"]["X-Note"] == ['a "quoted" </value> & more']
    assert json.loads(fcb.body)["dlqId"]
