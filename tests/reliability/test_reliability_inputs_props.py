"""Property-based tests (Hypothesis) for every parser in qstash_cli.inputs: each one either returns a valid value or
raises InputError — never any other exception — and what it returns can really be sent by httpx."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qstash_cli import inputs
from qstash_cli.api import transport
from qstash_cli.batch import LINE_KEYS
from qstash_cli.errors import InputError

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that includes the nasty parts: control characters, unicode digits ('²', '٣'), lone surrogates as they come
# from undecodable argv bytes (surrogateescape), and the characters every parser cares about.
nasty = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("0123456789smhdSMHD:/.-_ \t\n\r\x00\x7f²٣@*?,#LWZT+") + ["\udcff", "\udc80"]),
    ),
    max_size=40,
)


def outcome(fn, *args, **kwargs):
    """Call a parser: its value, or None when it raised InputError. Any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except InputError as exc:
        assert exc.message and "\n" not in exc.message  # one line
        assert exc.exit_code == 2
        return None


# -- durations -------------------------------------------------------------------------------------------------------


@PROPS
@given(nasty)
@example("²")
@example("1" * 5000)
@example("٣s")
@example("1h30m1h")
def test_parse_duration_total(text: str) -> None:
    value = outcome(inputs.parse_duration, text)
    if value is not None:
        assert isinstance(value, int) and value >= 0


@PROPS
@given(
    st.fixed_dictionaries(
        {},
        optional={u: st.integers(0, 10**6) for u in "dhms"},
    ).filter(bool)
)
def test_duration_compounds_round_trip(parts: dict[str, int]) -> None:
    text = "".join(f"{parts[u]}{u}" for u in "dhms" if u in parts)
    expected = sum(n * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u] for u, n in parts.items())
    assert inputs.parse_duration(text) == expected
    assert inputs.parse_duration(text.upper()) == expected
    assert inputs.parse_duration(inputs.format_duration(expected)) == expected


@PROPS
@given(st.integers(0, 10**12))
def test_duration_bare_seconds_round_trip(n: int) -> None:
    assert inputs.parse_duration(str(n)) == n
    assert inputs.parse_duration(inputs.format_duration(n)) == n


# -- not-before ------------------------------------------------------------------------------------------------------


@PROPS
@given(nasty)
@example("²")
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-12:00")
@example("9" * 5000)
def test_parse_not_before_total(text: str) -> None:
    value = outcome(inputs.parse_not_before, text)
    if value is not None:
        assert isinstance(value, int) and 0 <= value <= inputs.MAX_TIMESTAMP


@PROPS
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
def test_not_before_iso_round_trip(dt: datetime, tz) -> None:  # noqa: ANN001
    dt = dt.replace(microsecond=0, tzinfo=tz)
    expected = int((dt if tz else dt.replace(tzinfo=UTC)).timestamp())
    assert inputs.parse_not_before(dt.isoformat()) == expected
    if tz is UTC:
        assert inputs.parse_not_before(dt.strftime("%Y-%m-%dT%H:%M:%SZ")) == expected
    assert inputs.parse_not_before(str(expected)) == expected


# -- headers ---------------------------------------------------------------------------------------------------------


@PROPS
@given(nasty)
@example("X: a\x00b")
@example("X: café")
@example("X-Trace: a\rb")
def test_parse_header_total_and_sendable(text: str) -> None:
    value = outcome(inputs.parse_header, text)
    if value is not None:
        name, val = value
        assert name and ":" not in name
        # what the parser accepts, the transport can send (non-ASCII values go as UTF-8)
        headers = httpx.Headers({f"Upstash-Forward-{name}": val}, encoding="utf-8")
        httpx.Request("POST", "http://127.0.0.1/", headers=headers)


HEADER_TEXT = st.text(string.printable.strip("\r\n\x0b\x0c"), max_size=30)


@PROPS
@given(st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True), HEADER_TEXT)
def test_parse_header_round_trip(name: str, value: str) -> None:
    assert inputs.parse_header(f"{name}: {value}") == (name, value.strip())


# -- bodies ----------------------------------------------------------------------------------------------------------


@PROPS
@given(nasty)
@example("@a\x00b")
@example("\udcff")
@example("@" + "a" * 5000)
@example("@")
@example("@/")
def test_read_body_total(spec: str) -> None:
    value = outcome(inputs.read_body, spec)
    assert value is None or isinstance(value, bytes)


@PROPS
@given(st.binary(max_size=2000))
def test_read_body_file_is_byte_exact(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("body") / "b.bin"
    path.write_bytes(data)
    assert inputs.read_body(f"@{path}") == data


@PROPS
@given(st.binary(max_size=2000))
def test_read_body_stdin_is_byte_exact(data: bytes) -> None:
    import io

    class Stdin(io.StringIO):
        buffer = io.BytesIO(data)

    assert inputs.read_body("@-", stdin=Stdin()) == data


@PROPS
@given(st.binary(min_size=1, max_size=200))
def test_read_body_literal_keeps_undecodable_argv_bytes(raw: bytes) -> None:
    # argv text as Python decodes it on POSIX (utf-8 + surrogateescape) comes back as the very same bytes
    text = raw.decode("utf-8", "surrogateescape")
    if text.startswith("@"):
        return
    assert inputs.read_body(text) == raw


# -- URLs and destinations ---------------------------------------------------------------------------------------------

url_like = st.one_of(
    nasty,
    st.builds(lambda s, rest: s + rest, st.sampled_from(["http://", "https://", "ftp://", "http:/", "HTTP://"]), nasty),
)


@PROPS
@given(url_like)
@example("http://a\x00b/")
@example("http://[::1")
@example("http://a:99999/")
@example("http://ex\u00e4mple.com/x")
def test_validate_url_total_and_sendable(url: str) -> None:
    value = outcome(inputs.validate_url, url)
    if value is not None:
        assert value.lower().startswith(("http://", "https://"))
        # a URL we accept must be one httpx can build a request for (callbacks go as header values)
        httpx.Request("POST", "http://127.0.0.1/v2/publish/" + value)
        httpx.Request("POST", "http://127.0.0.1/", headers=httpx.Headers({"Upstash-Callback": value}, encoding="utf-8"))


@PROPS
@given(url_like)
def test_validate_destination_total(dest: str) -> None:
    value = outcome(inputs.validate_destination, dest)
    if value is not None and not inputs.is_url(value):
        assert inputs.validate_topic_name(value) == value


# -- names and ids ---------------------------------------------------------------------------------------------------


@PROPS
@given(nasty)
@example("orders\n")
@example("..")
@example(".")
@example("a/b")
def test_topic_name_total(name: str) -> None:
    value = outcome(inputs.validate_topic_name, name)
    if value is not None:
        assert value not in (".", "..") and "/" not in value
        assert all(c in string.ascii_letters + string.digits + "-_." for c in value)


@PROPS
@given(nasty)
@example("msg_1\n")
@example("..")
@example("../keys")
@example("a b")
def test_validate_id_total(value: str) -> None:
    got = outcome(inputs.validate_id, value)
    if got is not None:
        assert got not in (".", "..") and all(c in string.ascii_letters + string.digits + "-_." for c in got)
        # as a path segment it stays one segment
        url = httpx.URL("http://127.0.0.1/v2/messages/" + got)
        assert url.path == "/v2/messages/" + got


@PROPS
@given(nasty)
@example("café")
@example("a\x00")
def test_dedup_id_total_and_sendable(value: str) -> None:
    got = outcome(inputs.validate_dedup_id, value)
    if got is not None:
        assert got and ":" not in got and not any(c.isspace() for c in got)
        httpx.Request("POST", "http://127.0.0.1/", headers={"Upstash-Deduplication-Id": got})


@PROPS
@given(st.one_of(nasty, st.sampled_from(["get", "Post", "PUT", "patch", "delete", "HEAD", "options", "poſt"])))
def test_validate_method_total(method: str) -> None:
    got = outcome(inputs.validate_method, method)
    if got is not None:
        assert got in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@PROPS
@given(st.integers(-(10**6), 10**6))
def test_validate_retries_total(n: int) -> None:
    got = outcome(inputs.validate_retries, n)
    assert (got is None) == (n < 0 or n > inputs.MAX_RETRIES)


# -- cron ------------------------------------------------------------------------------------------------------------

cron_field = st.one_of(
    st.sampled_from(["*", "*/5", "0", "59", "60", "1-5", "5-1", "1,2,3", "L", "?", "MON", "JAN", "5#3", "5#9", "*/0"]),
    st.from_regex(r"[0-9*/,\-LW#A-Za-z?]{1,6}", fullmatch=True),
)
cron_expr = st.builds(
    lambda zone, fields: (f"CRON_TZ={zone} " if zone is not None else "") + " ".join(fields),
    st.one_of(
        st.none(), st.sampled_from(["UTC", "Europe/Berlin", "America", "Nope/Zone", "", "../etc/passwd", "a\x00b"])
    ),
    st.lists(cron_field, min_size=3, max_size=7),
)


@PROPS
@given(st.one_of(cron_expr, nasty))
@example("0 0 31 2 *")
@example("CRON_TZ=America 0 0 * * *")
@example("CRON_TZ= * * * * *")
@example("CRON_TZ=UTC")
@example("@daily")
@example("* * * * * *")
def test_validate_cron_total(expr: str) -> None:
    got = outcome(inputs.validate_cron, expr)
    if got is not None:
        zone, fields = inputs.split_cron(got)
        assert len(fields.split()) == 5
        # a validated expression always yields fire times, in order
        times = inputs.next_fire_times(got, 3)
        assert len(times) == 3 and times == sorted(times)
        assert inputs.validate_cron(got) == got  # normalised form is stable


@PROPS
@given(
    st.sampled_from([None, "UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"]),
    st.integers(0, 59),
    st.integers(0, 23),
)
def test_cron_tz_next_times_are_in_zone(zone: str | None, minute: int, hour: int) -> None:
    expr = (f"CRON_TZ={zone} " if zone else "") + f"{minute} {hour} * * *"
    assert inputs.validate_cron("  " + expr.replace(" ", "   ") + " ") == expr
    times = inputs.next_fire_times(expr, 3, start=datetime(2026, 6, 1, tzinfo=UTC))  # no DST switch
    assert all((t.hour, t.minute) == (hour, minute) for t in times)
    assert all(b - a >= timedelta(hours=23) for a, b in zip(times, times[1:], strict=False))


# -- 429 header parsing in the transport -------------------------------------------------------------------------------

header_value = st.one_of(
    st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=20),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "²", "1.5", "-3", "Wed, 21 Oct 2015 07:28:00 GMT", "0", "9999"]),
    st.floats(allow_nan=True).map(str),
    st.integers(-(10**14), 10**14).map(str),
)


@PROPS
@given(
    st.dictionaries(
        st.sampled_from(["retry-after", "burst-ratelimit-reset", "ratelimit-reset", "ratelimit-limit"]),
        header_value,
    )
)
@example({"ratelimit-reset": "²"})
def test_rate_limit_headers_total(headers: dict[str, str]) -> None:
    wait = transport.rate_limit_wait(headers, now=1_700_000_000)
    assert wait is None or 0 <= wait <= transport.MAX_RATE_LIMIT_WAIT
    response = httpx.Response(
        429, headers=httpx.Headers(headers, encoding="utf-8"), request=httpx.Request("GET", "http://127.0.0.1/v2/x")
    )
    error = transport._rate_limited(response)
    assert error.exit_code == 5 and "limit" in error.message


@pytest.mark.parametrize("bad", ["America", "Europe", "../../etc/passwd", "", "Nope/Zone", "UTC\x00"])
def test_cron_tz_bad_zone_is_input_error(bad: str) -> None:
    with pytest.raises(InputError):
        inputs.validate_cron(f"CRON_TZ={bad} 0 9 * * *")


# -- batch lines (round two): any JSON line is a message or one InputError, never another exception ----------------

_line_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.sampled_from(["https://example.com/a", "orders", "10s", "1h30m", "\udcff", "x\r\ny", "*/5 * * * *"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@PROPS
@given(
    line=st.dictionaries(
        st.one_of(st.sampled_from(sorted(LINE_KEYS)), st.text(max_size=8)),
        _line_value,
        max_size=5,
    ),
    api=st.sampled_from(["v1", "v2"]),
)
@example(line={"label": "\udcff"}, api="v2")  # found by this property: sent, then UnicodeEncodeError
@example(line={"contentType": "a\r\nX-Injected: 1"}, api="v2")
@example(line={"label": "x\ny"}, api="v1")
def test_batch_line_of_any_shape(line: dict, api: str) -> None:
    from qstash_cli import batch, publishing
    from qstash_cli.errors import QstashError

    defaults = publishing.build_message("https://example.com/default", read_body=False)
    try:
        raw = json.dumps(line).encode("utf-8", "surrogatepass")
    except (UnicodeEncodeError, ValueError):
        return
    try:
        msg, _body = batch.parse_line(raw, defaults, None)
        msg.check(api)
        headers = msg.headers(api)
    except QstashError as exc:  # InputError / Unsupported: one line, exit 2
        assert exc.message and exc.exit_code == 2
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    httpx.Headers(headers, encoding="utf-8").raw  # noqa: B018 - what the transport sends must encode
