"""Publish → delivery through the subprocess server to a real sink, with every delivery header checked."""

from __future__ import annotations

import time

from qstash import Receiver

from qstash_cli import signing


def test_publish_to_url_is_delivered_signed(dev_server, sink):
    with dev_server.client() as c:
        r = c.post(
            f"/v2/publish/{sink.url}/hook?a=1",
            content=b'{"hello": "world"}',
            headers={"Content-Type": "application/json", "Upstash-Forward-X-Custom": "yes"},
        )
    assert r.status_code == 200, r.text
    mid = r.json()["messageId"]
    assert mid.startswith("msg_")
    [req] = sink.wait_for(1)
    assert req.method == "POST" and req.path == "/hook?a=1"
    assert req.body == b'{"hello": "world"}'
    assert req.header("content-type") == "application/json"
    assert req.header("x-custom") == "yes"
    assert req.header("user-agent") == "Upstash-QStash"
    assert req.header("upstash-message-id") == mid
    assert req.header("upstash-retried") == "0"
    assert req.header("upstash-caller-ip")
    url = f"{sink.url}/hook?a=1"
    Receiver(dev_server.current_key, dev_server.next_key).verify(
        signature=req.header("upstash-signature"), body=req.text, url=url
    )
    verdict = signing.verify(
        req.header("upstash-signature"),
        req.body,
        [("current", dev_server.current_key), ("next", dev_server.next_key)],
        url=url,
    )
    assert verdict.valid and verdict.checks[0].ok
    assert "aud" not in verdict.claims and verdict.claims["exp"] - verdict.claims["nbf"] == 300


def test_method_and_timeout_headers(dev_server, sink):
    with dev_server.client() as c:
        r = c.post(f"/v2/publish/{sink.url}/put", content=b"x", headers={"Upstash-Method": "PUT"})
    assert r.status_code == 200
    [req] = sink.wait_for(1)
    assert req.method == "PUT"


def test_latency_is_small(dev_server, sink):
    with dev_server.client() as c:
        start = time.time()
        c.post(f"/v2/publish/{sink.url}/fast", content=b"x")
        [req] = sink.wait_for(1)
    assert req.time - start < 2.0
