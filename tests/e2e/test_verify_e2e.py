"""`qstash verify` on signatures `qstash dev` put on real deliveries: valid, each kind of invalid, and after
`qstash keys rotate` (the next key verifies new deliveries; the retired key no longer does)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def live(dev_server, cli, monkeypatch):
    """Run the CLI against the dev server (token and URL in env, signing keys too) and check the exit code."""
    for name, value in dev_server.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str, code: int = 0, **kwargs):
        r = cli(*args, **kwargs)
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        return r

    return run


def deliver(live, sink, path: str, body: str) -> tuple[str, bytes, str]:
    """Publish through the CLI; the delivery's signature, raw body and URL as the sink saw them."""
    url = f"{sink.url}{path}"
    before = len(sink.requests)
    live("publish", url, "-d", body, "-t", "application/json", "-q")
    request = sink.wait_for(before + 1)[before]
    return request.header("upstash-signature"), request.body, url


def test_verify_a_real_delivery_and_each_failure(live, dev_server, sink, tmp_path) -> None:
    token, body, url = deliver(live, sink, "/hooks/orders?v=1", '{"order":7,"items":["a","b"]}')
    raw = tmp_path / "body.json"
    raw.write_bytes(body)
    ok = live("verify", token, "--body", f"@{raw}", "--url", url, "--json")
    assert ok.json["valid"] is True and ok.json["claims"]["sub"] == url
    assert [c["ok"] for c in ok.json["checks"]] == [True, False]  # current signs; next does not

    tampered = live("verify", token, "-d", body.decode().replace("7", "8"), "--url", url, code=1)
    assert "current: body" in tampered.stderr.splitlines()[0]

    pretty = json.dumps(json.loads(body), indent=2)
    reserialised = live("verify", token, "-d", pretty, "--url", url, code=1)
    assert "the signed body is the compact form of your JSON" in reserialised.stderr

    wrong_url = live("verify", token, "-d", f"@{raw}", "--url", url.replace("orders", "users"), "--json", code=1)
    assert wrong_url.json["checks"][0]["failure"] == "subject"

    wrong_key = live("verify", token, "-d", f"@{raw}", "--current-key", "sig_not_the_key", code=1)
    assert "current: signature" in wrong_key.stderr

    assert 250 <= ok.json["claims"]["exp"] - ok.json["claims"]["iat"] <= 3600  # a bounded lifetime


def test_verify_after_keys_rotate(live, dev_server, sink, tmp_path, monkeypatch) -> None:
    old = live("keys", "get", "--json").json
    assert old == {"current": dev_server.current_key, "next": dev_server.next_key}
    before_token, before_body, before_url = deliver(live, sink, "/r", '{"n":1}')

    new = live("keys", "rotate", "--yes", "--json").json
    assert new["current"] == old["next"]
    after_token, after_body, after_url = deliver(live, sink, "/r", '{"n":2}')

    # receivers still configured with the old pair: the next key verifies the new deliveries
    r = live("verify", after_token, "-d", after_body.decode(), "--url", after_url, "--json")
    assert r.json["valid"] is True
    assert [(c["key"], c["failure"]) for c in r.json["checks"]] == [("current", "signature"), ("next", None)]
    assert "signed with the next key" in live("verify", after_token, "-d", after_body.decode()).stderr
    # ...but only with both keys configured
    only_current = live("verify", after_token, "-d", after_body.decode(), "--current-key", old["current"], code=1)
    assert "current: signature" in only_current.stderr and "keys rotate" in only_current.stderr

    # receivers updated to the new pair: new deliveries verify with the current key, old ones no longer do
    monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", new["current"])
    monkeypatch.setenv("QSTASH_NEXT_SIGNING_KEY", new["next"])
    assert live("verify", after_token, "-d", after_body.decode(), "--json").json["checks"][0]["ok"] is True
    retired = live("verify", before_token, "-d", before_body.decode(), "--url", before_url, "--json", code=1)
    assert [c["failure"] for c in retired.json["checks"]] == ["signature", "signature"]
