"""`qstash publish` (single, --cron, --queue, URL group, --batch) against a real `qstash dev` and a recording sink."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest


def assert_signed(dev_server, request, url: str) -> None:
    """The delivery carries a valid Upstash-Signature for this URL and body (current dev key)."""
    claims = jwt.decode(
        request.header("upstash-signature"),
        dev_server.current_key,
        algorithms=["HS256"],
        options={"verify_aud": False},
        issuer="Upstash",
    )
    assert claims["sub"] == url
    digest = base64.urlsafe_b64encode(hashlib.sha256(request.body).digest()).decode()
    assert claims["body"].rstrip("=") == digest.rstrip("=")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_publish_delivers_body_method_headers_and_signature(live, dev_server, sink, api) -> None:
    url = f"{sink.url}/hook/{api}"
    r = live(
        "--api", api, "publish", url, "-d", '{"n":1}', "-t", "application/json", "--method", "PUT",
        "-H", "X-Team: data", "-H", "X-Trace: abc 123", "--retries", "1", "-q",
    )  # fmt: skip
    message_id = r.stdout.strip()
    assert message_id.startswith("msg_")
    [req] = sink.wait_for(1)
    assert (req.method, req.path, req.body) == ("PUT", f"/hook/{api}", b'{"n":1}')
    assert req.header("content-type") == "application/json"
    assert req.header("x-team") == "data" and req.header("x-trace") == "abc 123"
    assert req.header("upstash-message-id") == message_id
    assert_signed(dev_server, req, url)


def test_dedup_id_second_publish_is_deduplicated(live, sink) -> None:
    first = live("publish", f"{sink.url}/d", "-d", "once", "--dedup-id", "order-1", "--json").json
    second = live("publish", f"{sink.url}/d", "-d", "once", "--dedup-id", "order-1", "--json").json
    assert second["messageId"] == first["messageId"] and second.get("deduplicated") is True
    plain = live("publish", f"{sink.url}/d", "-d", "once", "--dedup-id", "order-1")
    assert "deduplicated\ttrue" in plain.stdout
    [req] = sink.wait_for(1)
    assert req.body == b"once"


def test_url_group_publish_fans_out(live, dev_server, sink) -> None:
    with dev_server.client() as http:
        r = http.post(
            "/v2/topics/fan/endpoints", json={"endpoints": [{"url": f"{sink.url}/a"}, {"url": f"{sink.url}/b"}]}
        )
        assert r.status_code == 200, r.text
    out = live("publish", "fan", "-d", "hi")
    lines = out.stdout.splitlines()
    assert lines[0] == "messageId\turl\tdeduplicated" and len(lines) == 3
    assert sorted(line.split("\t")[1] for line in lines[1:]) == [f"{sink.url}/a", f"{sink.url}/b"]
    assert sorted(r.path for r in sink.wait_for(2)) == ["/a", "/b"]


def test_queue_publish_is_delivered(live, sink) -> None:
    mid = live("publish", f"{sink.url}/q", "--queue", "jobs", "-d", "queued", "-q").stdout.strip()
    [req] = sink.wait_for(1)
    assert req.body == b"queued" and req.header("upstash-message-id") == mid


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_cron_publish_creates_a_listed_schedule(live, sink, api) -> None:
    r = live("--api", api, "publish", f"{sink.url}/tick", "--cron", "*/5 * * * *", "-d", "tick")
    sid = r.stdout.strip().split("\t")[1]
    assert r.stderr.count("Z") >= 3 and "next fire times" in r.stderr
    listed = live("--api", api, "schedules", "list", "-q").stdout.split()
    assert sid in listed
    detail = live("--api", api, "schedules", "get", sid, "--json").json
    assert detail["cron"] == "*/5 * * * *"


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_batch_with_a_bad_line_reports_it_and_delivers_the_rest(live, sink, tmp_path, api) -> None:
    lines = [
        {"destination": f"{sink.url}/b/1", "body": "one", "headers": {"X-N": "1"}},
        {"destination": f"{sink.url}/b/2", "body": {"two": 2}},
        {"destination": "not a url", "body": "bad"},
        {"destination": f"{sink.url}/b/4", "body": "four", "method": "PUT"},
    ]
    path = tmp_path / "msgs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    r = live("--api", api, "publish", "--batch", str(path), code=2)
    out = r.stdout.splitlines()
    assert out[2].startswith("3\terror: invalid destination")
    assert [line.split("\t")[0] for line in out] == ["1", "2", "3", "4"]
    assert all(line.split("\t")[1].startswith("msg_") for line in (out[0], out[1], out[3]))
    assert "Error: 1 of 4 line(s) failed: 3" in r.stderr
    got = {req.path: req for req in sink.wait_for(3)}
    assert sorted(got) == ["/b/1", "/b/2", "/b/4"]
    assert got["/b/1"].body == b"one" and got["/b/1"].header("x-n") == "1"
    assert got["/b/2"].body == b'{"two":2}' and got["/b/2"].header("content-type") == "application/json"
    assert got["/b/4"].method == "PUT"


def test_batch_of_many_lines_all_delivered(live, sink, tmp_path) -> None:
    n = 1200
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"destination": f"{sink.url}/m", "body": str(i)}) + "\n" for i in range(n)))
    r = live("publish", "--batch", str(path), "--json", "--chunk-size", "250")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["line"] for row in rows] == list(range(1, n + 1))
    assert len({row["messageId"] for row in rows}) == n
    assert sorted(int(req.body) for req in sink.wait_for(n, timeout=30)) == list(range(n))


def test_publish_to_unreachable_server_is_one_line(cli, monkeypatch) -> None:
    from tests.live import free_port

    monkeypatch.setenv("QSTASH_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("QSTASH_TOKEN", "x")
    r = cli("publish", "https://example.com", "-d", "x")
    assert r.exit_code == 1 and r.stderr.startswith("Error: cannot connect") and "Traceback" not in r.stderr


def test_batch_line_the_server_rejects_fails_alone(live, sink, tmp_path) -> None:
    lines = [{"destination": f"{sink.url}/s/{i}", "body": str(i)} for i in range(1, 9)]
    lines[4] = {"destination": "no-such-group", "body": "5"}
    path = tmp_path / "msgs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    r = live("publish", "--batch", str(path), code=1)
    out = r.stdout.splitlines()
    assert out[4].startswith("5\terror: HTTP 404") and "Error: 1 of 8 line(s) failed: 5" in r.stderr
    got = sink.wait_for(7)
    assert sorted(req.path for req in got) == sorted(f"/s/{i}" for i in range(1, 9) if i != 5)
