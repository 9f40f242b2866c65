"""`qstash publish --batch FILE.jsonl`: validation per line, chunks through /v2/batch, v1 line-by-line publishes,
per-line results in every output mode, and exit codes listing the failed lines."""

from __future__ import annotations

import json

import httpx
import pytest

DEST = "https://example.com/hook"


def echo(mock_api, *, fail_items: set[str] = frozenset()) -> None:
    """Answer /v2/batch with one `msg_<body>` per item and /v1/publish/* with `msg_<body>` (recording requests)."""
    fallback = mock_api.handler

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        if request.method == "POST" and path == "/v2/batch":
            mock_api.requests.append(request)
            items = json.loads(request.content)
            return httpx.Response(
                200,
                json=[
                    {"error": "boom"} if i.get("body") in fail_items else {"messageId": f"msg_{i.get('body')}"}
                    for i in items
                ],
            )
        if request.method == "POST" and path.startswith("/v1/publish/"):
            mock_api.requests.append(request)
            body = request.content.decode()
            if body in fail_items:
                return httpx.Response(400, json={"error": "boom"})
            return httpx.Response(200, json={"messageId": f"msg_{body}"})
        return fallback(request)

    mock_api.handler = handler


def jsonl(tmp_path, *lines: object, name: str = "batch.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


def batch_items(mock_api) -> list[list[dict]]:
    return [json.loads(r.content) for r in mock_api.requests if r.url.path == "/v2/batch"]


def test_v2_bad_line_is_reported_and_the_rest_sent(cli, mock_api, tmp_path) -> None:
    echo(mock_api)
    f = jsonl(
        tmp_path,
        {"destination": DEST, "body": "a"},
        {"destination": "ftp://nope", "body": "b"},
        "",
        "{not json",
        {"destination": DEST, "body": "c", "headers": {"X-Team": "data"}},
    )
    r = cli("publish", "--batch", f)
    assert r.exit_code == 2, r.stderr  # only validation failures
    [req] = mock_api.requests
    assert (req.method, mock_api.path(req)) == ("POST", "/v2/batch")
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.content) == [
        {"destination": DEST, "headers": {}, "body": "a"},
        {"destination": DEST, "headers": {"Upstash-Forward-X-Team": "data"}, "body": "c"},
    ]
    lines = r.stdout.splitlines()
    assert lines[0] == "1\tmsg_a" and lines[3] == "5\tmsg_c"
    assert lines[1].startswith("2\terror: invalid destination") and lines[2].startswith("4\terror: not valid JSON")
    err = r.stderr.splitlines()
    assert "line 2: invalid destination" in r.stderr and "line 4: not valid JSON" in r.stderr
    assert [e for e in err if e.startswith("Error:")] == [
        "Error: 2 of 4 line(s) failed: 2, 4 (invalid; nothing was sent for them)"
    ]


def test_v2_items_carry_every_shortcut_and_raw_headers(cli, mock_api, tmp_path) -> None:
    echo(mock_api)
    f = jsonl(
        tmp_path,
        {
            "destination": "orders",
            "body": {"k": 1},
            "headers": {"Upstash-Retries": "7", "X-A": 1},
            "method": "put",
            "delay": "1m",
            "timeout": 30,
            "callback": "https://e.com/c",
            "failureCallback": "https://e.com/f",
            "dedupId": "d-1",
            "contentDedup": True,
            "label": "l1",
            "queue": "jobs",
        },
        {"destination": DEST, "body": "x", "contentType": "text/plain", "notBefore": 1893456000, "retries": 0},
    )
    r = cli("publish", "--batch", f)
    assert r.exit_code == 0, r.stderr
    [items] = batch_items(mock_api)
    assert items[0] == {
        "destination": "orders",
        "body": '{"k":1}',
        "queue": "jobs",
        "headers": {
            "Content-Type": "application/json",
            "Upstash-Method": "PUT",
            "Upstash-Forward-X-A": "1",
            "Upstash-Delay": "60s",
            "Upstash-Timeout": "30s",
            "Upstash-Callback": "https://e.com/c",
            "Upstash-Failure-Callback": "https://e.com/f",
            "Upstash-Deduplication-Id": "d-1",
            "Upstash-Content-Based-Deduplication": "true",
            "Upstash-Label": "l1",
            "Upstash-Retries": "7",
        },
    }
    assert items[1] == {
        "destination": DEST,
        "body": "x",
        "headers": {"Content-Type": "text/plain", "Upstash-Not-Before": "1893456000", "Upstash-Retries": "0"},
    }


def test_flags_and_destination_are_line_defaults(cli, mock_api, tmp_path) -> None:
    echo(mock_api)
    f = jsonl(tmp_path, {"body": "a"}, {"body": "b", "destination": "other", "retries": 1, "headers": {"x-t": "2"}})
    r = cli("publish", DEST, "--batch", f, "--retries", "4", "-H", "X-T: 1", "-t", "text/plain", "--delay", "5s")
    assert r.exit_code == 0, r.stderr
    [items] = batch_items(mock_api)
    base = {"Content-Type": "text/plain", "Upstash-Delay": "5s"}
    assert items[0] == {
        "destination": DEST,
        "body": "a",
        "headers": {**base, "Upstash-Forward-X-T": "1", "Upstash-Retries": "4"},
    }
    assert items[1] == {
        "destination": "other",
        "body": "b",
        "headers": {**base, "Upstash-Forward-x-t": "2", "Upstash-Retries": "1"},
    }


def test_chunks_keep_line_order(cli, mock_api, tmp_path) -> None:
    echo(mock_api)
    f = jsonl(tmp_path, *({"destination": DEST, "body": str(i)} for i in range(1, 251)))
    r = cli("publish", "--batch", f, "--chunk-size", "100")
    assert r.exit_code == 0, r.stderr
    assert sorted(len(items) for items in batch_items(mock_api)) == [50, 100, 100]
    assert r.stdout.splitlines() == [f"{i}\tmsg_{i}" for i in range(1, 251)]
    assert "sent 250 of 250" in r.stderr


def test_json_and_quiet_modes(cli, mock_api, tmp_path) -> None:
    echo(mock_api)
    f = jsonl(tmp_path, {"destination": DEST, "body": "a"}, {"destination": DEST, "delay": "soon"})
    js = cli("publish", "--batch", f, "--json")
    assert js.exit_code == 2
    rows = [json.loads(line) for line in js.stdout.splitlines()]
    assert rows[0] == {"line": 1, "destination": DEST, "messageId": "msg_a"}
    assert rows[1]["line"] == 2 and rows[1]["error"].startswith("invalid delay")
    q = cli("publish", "--batch", f, "-q")
    assert q.stdout == "msg_a\n" and q.exit_code == 2
    assert "line 2: invalid delay" in q.stderr


def test_url_group_items_and_item_errors(cli, mock_api, tmp_path) -> None:
    mock_api.add(
        "POST",
        "/v2/batch",
        [[{"messageId": "m1", "url": "https://a"}, {"messageId": "m2", "url": "https://b"}], {"error": "nope"}],
    )
    f = jsonl(tmp_path, {"destination": "group"}, {"destination": DEST})
    r = cli("publish", "--batch", f)
    assert r.exit_code == 1
    assert r.stdout.splitlines() == ["1\tm1,m2", "2\terror: nope"]
    assert "Error: 1 of 2 line(s) failed: 2" in r.stderr
    js = cli("publish", "--batch", f, "--json")
    assert json.loads(js.stdout.splitlines()[0])["messages"][1] == {"messageId": "m2", "url": "https://b"}


def test_rejected_chunk_fails_its_lines_and_exit_1(cli, mock_api, tmp_path) -> None:
    mock_api.add("POST", "/v2/batch", {"error": "bad item"}, status=400)
    f = jsonl(tmp_path, {"destination": DEST}, {"destination": "ftp://x"}, {"destination": DEST})
    r = cli("publish", "--batch", f)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == "1\terror: HTTP 400: bad item"
    assert "Error: 3 of 3 line(s) failed: 1, 2, 3" in r.stderr


def test_auth_failure_stops_with_exit_4(cli, mock_api, tmp_path) -> None:
    mock_api.add("POST", "/v2/batch", {"error": "unauthorized"}, status=401)
    r = cli("publish", "--batch", jsonl(tmp_path, {"destination": DEST}))
    assert r.exit_code == 4 and "HTTP 401" in r.stderr


def test_stdin_batch(cli, mock_api) -> None:
    echo(mock_api)
    data = "\n".join(json.dumps({"destination": DEST, "body": b}) for b in "xyz") + "\n"
    r = cli("publish", "--batch", "-", stdin=data)
    assert r.exit_code == 0 and r.stdout.splitlines() == ["1\tmsg_x", "2\tmsg_y", "3\tmsg_z"]


def test_v1_publishes_each_line_in_order(cli, mock_api, tmp_path) -> None:
    echo(mock_api, fail_items={"3"})
    f = jsonl(
        tmp_path,
        *({"destination": DEST, "body": str(i), "headers": {"X-N": str(i)}} for i in range(1, 41)),
        {"destination": DEST, "queue": "q"},
    )
    r = cli("--api", "v1", "publish", "--batch", f, "--retries", "2")
    assert r.exit_code == 1
    publishes = [req for req in mock_api.requests if req.url.path.startswith("/v1/publish/")]
    assert len(publishes) == 40
    assert {mock_api.path(req) for req in publishes} == {f"/v1/publish/{DEST}"}
    one = next(req for req in publishes if req.content == b"7")
    assert one.headers["upstash-forward-x-n"] == "7" and one.headers["upstash-retries"] == "2"
    lines = r.stdout.splitlines()
    assert lines[0] == "1\tmsg_1" and lines[2] == "3\terror: HTTP 400: boom" and lines[39] == "40\tmsg_40"
    assert lines[40].startswith("41\terror: the v1 API has no --queue")
    assert "Error: 2 of 41 line(s) failed: 3, 41" in r.stderr


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ([1, 2], "expected a JSON object"),
        ({"destination": DEST, "colour": "red"}, "unknown key 'colour'"),
        ({"body": "x"}, 'missing "destination"'),
        ({"destination": DEST, "headers": {"Bad Name": "x"}}, "invalid header"),
        ({"destination": DEST, "headers": ["x"]}, "invalid headers"),
        ({"destination": DEST, "retries": "3"}, "invalid retries"),
        ({"destination": DEST, "retries": -1}, "--retries"),
        ({"destination": DEST, "dedupId": "a b"}, "deduplication id"),
        ({"destination": DEST, "notBefore": "later"}, "--not-before"),
        ({"destination": DEST, "callback": "nope"}, "callback URL"),
        ({"destination": DEST, "method": "BREW"}, "invalid method"),
        ({"destination": DEST, "contentDedup": "yes"}, "contentDedup"),
        ({"destination": "a b"}, "invalid destination"),
    ],
)
def test_line_validation(cli, mock_api, tmp_path, line, needle) -> None:
    r = cli("publish", "--batch", jsonl(tmp_path, line))
    assert r.exit_code == 2
    assert needle in r.stdout and "line 1:" in r.stderr
    assert mock_api.requests == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--batch", "/nonexistent.jsonl"], "batch file not found"),
        (["--batch", "-", "-d", "@-"], "both read stdin"),
        (["--batch", "x.jsonl", "--cron", "* * * * *"], "--cron cannot be used with --batch"),
        (["--batch", "x.jsonl", "--delay", "zz"], "--delay"),
    ],
)
def test_batch_invalid_usage(cli, mock_api, args, needle) -> None:
    r = cli("publish", *args)
    assert r.exit_code == 2 and needle in r.stderr.splitlines()[0]
    assert "Traceback" not in r.stderr and mock_api.requests == []


def test_empty_file(cli, mock_api, tmp_path) -> None:
    r = cli("publish", "--batch", jsonl(tmp_path, ""))
    assert r.exit_code == 0 and r.stdout == "" and "no messages" in r.stderr
    assert mock_api.requests == []


def test_dedup_only_chunk_is_retried(cli, mock_api, tmp_path) -> None:
    mock_api.add("POST", "/v2/batch", {"error": "down"}, status=503, times=1)
    mock_api.add("POST", "/v2/batch", [{"messageId": "m1"}])
    r = cli("publish", "--batch", jsonl(tmp_path, {"destination": DEST, "dedupId": "k1"}))
    assert r.exit_code == 0 and len(mock_api.requests) == 2


def test_progress_bar_only_on_a_terminal(monkeypatch) -> None:
    import io

    from qstash_cli import batch as B

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert B._progress(10) is None
    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.setattr("sys.stderr", Tty())
    assert B._progress(10) is None  # both on the terminal: the result lines are the progress
    monkeypatch.setattr("sys.stdout", io.StringIO())
    err = Tty()
    monkeypatch.setattr("sys.stderr", err)
    step = B._progress(2)
    assert step is not None
    step(1)
    step(1)
    step(None)
    assert "publishing" in err.getvalue()


def test_chunk_rejected_whole_is_split_until_the_bad_line_is_isolated(cli, mock_api, tmp_path) -> None:
    accepted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        items = json.loads(request.content)
        if any(i["destination"] == "missing-group" for i in items):
            return httpx.Response(404, json={"error": "url group 'missing-group' not found"})
        accepted.extend(i["body"] for i in items)
        return httpx.Response(200, json=[{"messageId": f"msg_{i['body']}"} for i in items])

    mock_api.handler = handler
    lines = [{"destination": DEST, "body": str(i)} for i in range(1, 11)]
    lines[6] = {"destination": "missing-group", "body": "7"}
    r = cli("publish", "--batch", jsonl(tmp_path, *lines))
    assert r.exit_code == 1
    out = r.stdout.splitlines()
    assert out[6] == "7\terror: HTTP 404: url group 'missing-group' not found"
    assert [line for i, line in enumerate(out) if i != 6] == [f"{i}\tmsg_{i}" for i in range(1, 11) if i != 7]
    assert sorted(accepted, key=int) == [str(i) for i in range(1, 11) if i != 7]  # each good line accepted once
    assert "Error: 1 of 10 line(s) failed: 7" in r.stderr


def test_a_lines_own_destination_and_body_win_over_destination_and_d(cli, mock_api, tmp_path) -> None:
    """Documented precedence: DESTINATION and -d are defaults; a line's own destination / body win."""
    echo(mock_api)
    f = jsonl(tmp_path, {}, {"body": "mine"}, {"destination": "other"}, {"destination": "other", "body": None})
    r = cli("publish", DEST, "--batch", f, "-d", "default")
    assert r.exit_code == 0, r.stderr
    [items] = batch_items(mock_api)
    assert [(i["destination"], i.get("body")) for i in items] == [
        (DEST, "default"),
        (DEST, "mine"),
        ("other", "default"),
        ("other", None),
    ]
