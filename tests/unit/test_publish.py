"""`qstash publish` in both dialects: exact method, raw path, headers and body for every seed header; outputs in
table / plain / json / quiet; --cron schedules; --queue; invalid input rejected before anything is sent."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import MOCK_TOKEN
from tests.unit.helpers import assert_one_error

DEST = "https://example.com/hook"
MSG = {"messageId": "msg_1", "url": DEST}


def sent(request) -> dict[str, str]:
    """The Content-Type and Upstash-* headers of a request, with the exact name casing that went on the wire."""
    out = {}
    for name, value in request.headers.raw:
        text = name.decode()
        if text.lower().startswith("upstash-") or text.lower() == "content-type":
            out[text] = value.decode()
    return out


def plain_text(text: str) -> str:
    """Terminal output without ANSI styling."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def route(mock_api, api: str, dest: str = DEST, answer=None, status: int = 200) -> None:
    answer = MSG if answer is None else answer
    mock_api.add("POST", f"/{api}/publish/{dest}", answer, status=status)


# -- every seed header, both dialects -------------------------------------------------------------------------------

HEADER_CASES = [
    (["-d", "hello"], {}, b"hello"),
    (["--body", '{"a":1}', "-t", "application/json"], {"Content-Type": "application/json"}, b'{"a":1}'),
    (["--content-type", "text/plain"], {"Content-Type": "text/plain"}, b""),
    (["--method", "put"], {"Upstash-Method": "PUT"}, b""),
    (
        ["-H", "X-Team: data", "--header", "Authorization: Bearer abc"],
        {"Upstash-Forward-X-Team": "data", "Upstash-Forward-Authorization": "Bearer abc"},
        b"",
    ),
    (["--delay", "1h30m"], {"Upstash-Delay": "5400s"}, b""),
    (["--delay", "50s"], {"Upstash-Delay": "50s"}, b""),
    (["--not-before", "1893456000"], {"Upstash-Not-Before": "1893456000"}, b""),
    (["--not-before", "2030-01-01T00:00:00Z"], {"Upstash-Not-Before": "1893456000"}, b""),
    (["--retries", "5"], {"Upstash-Retries": "5"}, b""),
    (["--callback", "https://example.com/cb"], {"Upstash-Callback": "https://example.com/cb"}, b""),
    (["--dedup-id", "order-42"], {"Upstash-Deduplication-Id": "order-42"}, b""),
    (["--content-dedup"], {"Upstash-Content-Based-Deduplication": "true"}, b""),
]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(("args", "headers", "body"), HEADER_CASES)
def test_seed_header_sent_exactly(cli, mock_api, api, args, headers, body) -> None:
    route(mock_api, api)
    r = cli("--api", api, "publish", DEST, *args)
    assert r.exit_code == 0, r.stderr
    [req] = mock_api.requests
    assert req.method == "POST"
    assert mock_api.path(req) == f"/{api}/publish/{DEST}"
    assert req.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    assert sent(req) == headers
    assert req.content == body


V2_ONLY = [
    (["--timeout", "30s"], {"Upstash-Timeout": "30s"}),
    (["--timeout", "2m"], {"Upstash-Timeout": "120s"}),
    (["--failure-callback", "https://example.com/f"], {"Upstash-Failure-Callback": "https://example.com/f"}),
    (["--label", "billing"], {"Upstash-Label": "billing"}),
]


@pytest.mark.parametrize(("args", "headers"), V2_ONLY)
def test_v2_only_headers(cli, mock_api, args, headers) -> None:
    route(mock_api, "v2")
    r = cli("publish", DEST, *args)
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == headers


@pytest.mark.parametrize("args", [a for a, _ in V2_ONLY] + [["--queue", "q1"]])
def test_v1_lacks_v2_settings_exit_2_naming_the_alternative(cli, mock_api, args) -> None:
    r = cli("--api", "v1", "publish", DEST, *args)
    assert_one_error(r, 2, "v1 API has no", "--api v2")
    assert mock_api.requests == []


def test_all_headers_together_v2(cli, mock_api) -> None:
    route(mock_api, "v2")
    r = cli(
        "publish", DEST, "-d", "x", "-t", "text/plain", "--method", "PATCH", "-H", "A: 1", "--delay", "3m",
        "--retries", "0", "--timeout", "1m", "--callback", "https://e.com/c", "--failure-callback", "https://e.com/f",
        "--dedup-id", "d1", "--content-dedup", "--label", "l",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {
        "Content-Type": "text/plain",
        "Upstash-Method": "PATCH",
        "Upstash-Forward-A": "1",
        "Upstash-Delay": "180s",
        "Upstash-Retries": "0",
        "Upstash-Timeout": "60s",
        "Upstash-Callback": "https://e.com/c",
        "Upstash-Failure-Callback": "https://e.com/f",
        "Upstash-Deduplication-Id": "d1",
        "Upstash-Content-Based-Deduplication": "true",
        "Upstash-Label": "l",
    }


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_not_before_wins_over_delay_and_says_so(cli, mock_api, api) -> None:
    route(mock_api, api)
    r = cli("--api", api, "publish", DEST, "--delay", "10m", "--not-before", "1893456000")
    assert r.exit_code == 0, r.stderr
    assert sent(mock_api.last) == {"Upstash-Not-Before": "1893456000"}
    assert "--not-before wins over --delay" in r.stderr


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_topic_destination_path(cli, mock_api, api) -> None:
    route(mock_api, api, "orders", {"messageId": "msg_9"})
    r = cli("--api", api, "publish", "orders", "-d", "x", "-q")
    assert r.exit_code == 0, r.stderr
    assert mock_api.path() == f"/{api}/publish/orders"
    assert r.stdout == "msg_9\n"


def test_destination_with_query_is_appended_raw(cli, mock_api) -> None:
    mock_api.add("POST", "/v2/publish/https://example.com/a", MSG)
    r = cli("publish", "https://example.com/a?x=1&y=2")
    assert r.exit_code == 0, r.stderr
    assert mock_api.path() == "/v2/publish/https://example.com/a?x=1&y=2"


def test_body_from_file_and_from_stdin_only_when_asked(cli, mock_api, tmp_path) -> None:
    route(mock_api, "v2")
    f = tmp_path / "body.bin"
    f.write_bytes(b"\x00\x01binary")
    assert cli("publish", DEST, "-d", f"@{f}").exit_code == 0
    assert mock_api.last.content == b"\x00\x01binary"
    assert cli("publish", DEST, "-d", "@-", stdin=b"from stdin").exit_code == 0
    assert mock_api.last.content == b"from stdin"
    assert cli("publish", DEST, stdin=b"ignored").exit_code == 0
    assert mock_api.last.content == b""


def test_queue_uses_v2_enqueue(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/enqueue/jobs/{DEST}", MSG)
    r = cli("publish", DEST, "--queue", "jobs", "-d", "x", "--retries", "1")
    assert r.exit_code == 0, r.stderr
    assert mock_api.path() == f"/v2/enqueue/jobs/{DEST}"
    assert sent(mock_api.last) == {"Upstash-Retries": "1"}


# -- outputs --------------------------------------------------------------------------------------------------------


def test_outputs_plain_table_json_quiet(cli, mock_api) -> None:
    route(mock_api, "v2")
    plain = cli("publish", DEST)
    assert plain.stdout == f"messageId\tmsg_1\nurl\t{DEST}\n"
    table = plain_text(cli("publish", DEST, tty=True).stdout)
    assert re.search(r"messageId\s+msg_1", table) and "\t" not in table
    js = cli("publish", DEST, "--json")
    assert js.json == MSG
    quiet = cli("publish", DEST, "-q")
    assert quiet.stdout == "msg_1\n" and quiet.stderr == ""


def test_url_group_answer_is_one_row_per_endpoint(cli, mock_api) -> None:
    answer = [{"messageId": "msg_a", "url": "https://a.com"}, {"messageId": "msg_b", "url": "https://b.com"}]
    route(mock_api, "v2", "orders", answer)
    plain = cli("publish", "orders")
    assert plain.stdout.splitlines() == [
        "messageId\turl\tdeduplicated",
        "msg_a\thttps://a.com\t",
        "msg_b\thttps://b.com\t",
    ]
    assert cli("publish", "orders", "--json").json == answer
    assert cli("publish", "orders", "-q").stdout == "msg_a\nmsg_b\n"
    table = cli("publish", "orders", tty=True).stdout
    assert "msg_a" in table and "https://b.com" in table


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_duplicate_publish_202_shows_deduplicated(cli, mock_api, api) -> None:
    route(mock_api, api, answer={"messageId": "msg_1"}, status=202)
    r = cli("--api", api, "publish", DEST, "--dedup-id", "d1")
    assert r.exit_code == 0
    assert "deduplicated\ttrue" in r.stdout
    assert "deduplicated" in r.stderr
    assert cli("--api", api, "publish", DEST, "--dedup-id", "d1", "--json").json == {
        "messageId": "msg_1",
        "deduplicated": True,
    }


def test_publish_is_retried_only_with_a_dedup_id(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/publish/{DEST}", {"error": "unavailable"}, status=503, times=1)
    mock_api.add("POST", f"/v2/publish/{DEST}", MSG)
    r = cli("publish", DEST, "--dedup-id", "once")
    assert r.exit_code == 0 and len(mock_api.requests) == 2
    mock_api.requests.clear()
    mock_api.routes.clear()
    mock_api.add("POST", f"/v2/publish/{DEST}", {"error": "unavailable"}, status=503, times=1)
    mock_api.add("POST", f"/v2/publish/{DEST}", MSG)
    r = cli("publish", DEST)
    assert r.exit_code == 1 and len(mock_api.requests) == 1
    assert "HTTP 503" in r.stderr


# -- --cron -----------------------------------------------------------------------------------------------------------


def test_cron_v2_creates_a_schedule(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/schedules/{DEST}", {"scheduleId": "scd_1"})
    r = cli("publish", DEST, "--cron", "*/5 * * * *", "-d", "tick", "--retries", "2", "--schedule-id", "tick")
    assert r.exit_code == 0, r.stderr
    req = mock_api.last
    assert (req.method, mock_api.path(req)) == ("POST", f"/v2/schedules/{DEST}")
    assert sent(req) == {"Upstash-Retries": "2", "Upstash-Cron": "*/5 * * * *", "Upstash-Schedule-Id": "tick"}
    assert req.content == b"tick"
    assert r.stdout == "scheduleId\tscd_1\n"
    note = [line for line in r.stderr.splitlines() if line.startswith("next fire times")]
    assert len(note) == 1 and len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", note[0])) == 3


def test_cron_v1_is_a_publish_with_upstash_cron(cli, mock_api) -> None:
    mock_api.add("POST", f"/v1/publish/{DEST}", {"scheduleId": "scd_1"})
    r = cli("--api", "v1", "publish", DEST, "--cron", "CRON_TZ=Europe/Berlin 0 9 * * *", "--delay", "5s")
    assert r.exit_code == 0, r.stderr
    assert mock_api.path() == f"/v1/publish/{DEST}"
    assert sent(mock_api.last) == {"Upstash-Delay": "5s", "Upstash-Cron": "CRON_TZ=Europe/Berlin 0 9 * * *"}
    assert r.stdout == "scheduleId\tscd_1\n"


def test_cron_quiet_and_json(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/schedules/{DEST}", {"scheduleId": "scd_1"})
    q = cli("publish", DEST, "--cron", "0 * * * *", "-q")
    assert q.stdout == "scd_1\n" and q.stderr == ""
    assert cli("publish", DEST, "--cron", "0 * * * *", "--json").json == {"scheduleId": "scd_1"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--not-before", "1893456000"], "--not-before"),
        (["--dedup-id", "x"], "deduplication"),
        (["--content-dedup"], "deduplication"),
    ],
)
def test_cron_v2_rejects_settings_schedules_lack(cli, mock_api, args, needle) -> None:
    r = cli("publish", DEST, "--cron", "0 * * * *", *args)
    assert_one_error(r, 2, needle)
    assert mock_api.requests == []


# -- invalid input: exit 2, one line, nothing sent ----------------------------------------------------------------

INVALID = [
    (["ftp://example.com"], "destination"),
    (["http://"], "destination URL"),
    (["https://exa mple.com"], "destination URL"),
    (["bad topic!"], "destination"),
    (["orders/x"], "destination"),
    ([DEST, "--delay", "5 minutes"], "--delay"),
    ([DEST, "--delay", "10x"], "--delay"),
    ([DEST, "--timeout", "abc"], "--timeout"),
    ([DEST, "--not-before", "tomorrow"], "--not-before"),
    ([DEST, "--not-before", "1893456000000"], "milliseconds"),
    ([DEST, "--cron", "61 * * * *"], "cron"),
    ([DEST, "--cron", "* * *"], "cron"),
    ([DEST, "--cron", "CRON_TZ=Mars/Base 0 * * * *"], "time zone"),
    ([DEST, "--dedup-id", "a:b"], "deduplication id"),
    ([DEST, "--dedup-id", "a b"], "deduplication id"),
    ([DEST, "-H", "NoColon"], "header"),
    ([DEST, "-H", "Bad Name: x"], "header"),
    ([DEST, "-d", "@/nonexistent/body.json"], "body file not found"),
    ([DEST, "--callback", "not-a-url"], "--callback"),
    ([DEST, "--failure-callback", "ftp://x"], "--failure-callback"),
    ([DEST, "--method", "FETCH"], "method"),
    ([DEST, "--retries", "-1"], "--retries"),
    ([DEST, "--retries", "many"], "--retries"),
    ([DEST, "--queue", "bad/queue"], "queue name"),
    ([DEST, "--schedule-id", "x"], "--schedule-id needs --cron"),
    ([], "DESTINATION"),
]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(("args", "needle"), INVALID)
def test_invalid_input_exits_2_and_sends_nothing(cli, mock_api, api, args, needle) -> None:
    r = cli("--api", api, "publish", *args, stdin=b"must not be read")
    assert_one_error(r, 2, needle)
    assert mock_api.requests == []


def test_bad_flag_does_not_consume_stdin(cli, mock_api) -> None:
    r = cli("publish", DEST, "-d", "@-", "--delay", "bad", stdin=b"data")
    assert r.exit_code == 2 and mock_api.requests == []


def test_missing_token_exits_4(cli, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_URL", "https://qstash.mock")
    r = cli("publish", DEST, "-d", "x")
    assert_one_error(r, 4, "no QStash token")


def test_api_error_is_one_line(cli, mock_api) -> None:
    route(mock_api, "v2", answer={"error": "invalid destination url"}, status=400)
    r = cli("publish", DEST)
    assert_one_error(r, 1, "HTTP 400", "invalid destination url")


def test_token_never_in_debug_output(cli, mock_api) -> None:
    route(mock_api, "v2")
    r = cli("publish", DEST, "--debug", "-d", "x")
    assert r.exit_code == 0
    assert MOCK_TOKEN not in r.stderr + r.stdout and "POST" in r.stderr


def test_fire_times_are_in_the_future(cli, mock_api) -> None:
    mock_api.add("POST", f"/v2/schedules/{DEST}", {"scheduleId": "scd_1"})
    r = cli("publish", DEST, "--cron", "* * * * *")
    stamps = re.findall(r"(\d{4}-\d\d-\d\dT\d\d:\d\d):00Z", r.stderr)
    assert len(stamps) == 3
    now = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    assert all(s > now for s in stamps) and stamps == sorted(stamps)
