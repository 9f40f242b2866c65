"""Parsing and validation of user input. Every parser raises InputError with one clear sentence."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import SplitResult, urlsplit, urlunsplit

from qstash_cli.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = re.compile(r"([0-9]{1,15})([smhd])")
_TOPIC_RE = re.compile(r"[a-zA-Z0-9\-_.]+")  # used with fullmatch: `$` would accept a trailing newline
_ID_RE = re.compile(r"[A-Za-z0-9\-_.]+")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SPACE_RE = re.compile(r"\s")
MAX_TIMESTAMP = 253402300799  # 9999-12-31
# The largest values any QStash plan accepts (current pricing: Pro / fixed plans); past them the API refuses anyway.
MAX_MESSAGE_SIZE = 50 * 1024 * 1024  # bytes: bodies (-d @FILE, -d @-), one --batch line
MAX_CONFIG_SIZE = 1024 * 1024  # bytes: config and schedule files
MAX_RETRIES = 20
MAX_DELAY = 365 * 86400  # seconds (PAYG and Pro: one year)


def parse_duration(text: str, *, what: str = "duration") -> int:
    """`50s`, `3m`, `10h`, `1d`, compounds like `1h30m`, or bare seconds → seconds."""
    raw = text.strip().lower()
    if _is_number(raw):
        return int(raw)
    pos, total, seen = 0, 0, ""
    for match in _DURATION_RE.finditer(raw):
        if match.start() != pos or match.group(2) in seen:
            break
        seen += match.group(2)
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise InputError(f"invalid {what} {text!r}: use a number and a unit s|m|h|d, e.g. 50s, 3m, 1h30m, 1d")
    return total


def _is_number(raw: str) -> bool:
    """ASCII digits only (str.isdigit() also accepts '²', which int() rejects), and of a sane length."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 15


def format_duration(seconds: int) -> str:
    """Seconds as the header form QStash documents (`90s`)."""
    return f"{seconds}s"


def parse_not_before(text: str) -> int:
    """Unix seconds, or an ISO-8601 date/time (UTC unless it carries an offset) → unix seconds."""
    raw = text.strip()
    if raw.isascii() and raw.isdigit():
        if not _is_number(raw):
            raise InputError(f"invalid --not-before {text!r}: expected unix seconds")
        value = int(raw)
        if value > MAX_TIMESTAMP:
            raise InputError(f"invalid --not-before {text!r}: expected unix seconds (this looks like milliseconds)")
        return value
    dt = _iso_time(raw, f"invalid --not-before {text!r}: use unix seconds or ISO-8601 such as 2026-01-31T12:00:00Z")
    try:
        value = int(dt.timestamp())
    except (OverflowError, ValueError, OSError):
        value = -1
    if not 0 <= value <= MAX_TIMESTAMP:
        raise InputError(f"invalid --not-before {text!r}: the time must lie between 1970 and 9999")
    return value


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` → (name, value)."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or not _HEADER_NAME_RE.fullmatch(name):
        raise InputError(f"invalid header {text!r}: use 'Name: value' with a name of letters, digits or -")
    if "\n" in value or "\r" in value:
        raise InputError(f"invalid header {name!r}: the value must be one line")
    if _CONTROL_RE.search(value):
        raise InputError(f"invalid header {name!r}: the value must not contain control characters")
    if not _encodable(value):
        raise InputError(f"invalid header {name!r}: the value is not valid text (undecodable bytes)")
    return name, value.strip()


def validate_header_value(value: str, what: str) -> str:
    """A value sent as a header (a label, a content type): one non-empty line of text, no control characters."""
    if not value.strip() or _CONTROL_RE.search(value) or not _encodable(value):
        raise InputError(f"invalid {what} {value!r}: it must be one non-empty line of text, without control characters")
    return value.strip()


def _encodable(text: str) -> bool:
    """No lone surrogates (undecodable argv bytes come back as U+DC80..U+DCFF): the text encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_body(spec: str | None, *, stdin: object = None) -> bytes | None:
    """`TEXT`, `@file`, or `@-` (stdin, only when asked) → bytes. `@@x` sends the literal text `@x`."""
    if spec is None:
        return None
    if spec.startswith("@@"):
        return _to_bytes(spec[1:])
    if spec == "@-":
        stream = stdin or sys.stdin
        if hasattr(stream, "buffer"):
            return read_bounded(stream.buffer, "the body on stdin")
        return _to_bytes(stream.read(MAX_MESSAGE_SIZE + 1))[: MAX_MESSAGE_SIZE + 1]
    if spec.startswith("@"):
        if not spec[1:]:
            raise InputError("invalid body '@': name a file after @, or use @- for stdin")
        try:
            path = Path(spec[1:]).expanduser()
            with open(path, "rb") as fh:
                return read_bounded(fh, f"body file {_shown(path)}")
        except RuntimeError:  # `~nosuchuser/...`: no such home directory
            raise InputError(f"body file not found: {spec[1:]!r} (no such user's home directory)") from None
        except FileNotFoundError:
            raise InputError(f"body file not found: {_shown(path)}") from None
        except IsADirectoryError:
            raise InputError(f"body file is a directory: {_shown(path)}") from None
        except OSError as exc:
            raise InputError(f"cannot read body file {_shown(path)}: {exc.strerror}") from None
        except ValueError:  # e.g. an embedded NUL byte in the name
            raise InputError(f"invalid body file name {spec[1:]!r}") from None
    return _to_bytes(spec)


def read_bounded(stream: BinaryIO, what: str, limit: int = MAX_MESSAGE_SIZE) -> bytes:
    """All of `stream`, at most `limit` bytes (`-d @/dev/zero` ends with an error, not memory growth)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(
            f"{what} is larger than {limit // (1024 * 1024)} MiB ({limit} bytes)",
            hint="that is the largest message QStash accepts on any plan",
        )
    return data


def _to_bytes(text: str) -> bytes:
    """Text from argv as the bytes the user typed (undecodable bytes come back via surrogateescape)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


@lru_cache(maxsize=1024)
def validate_url(url: str, *, what: str = "URL") -> str:
    """An absolute http(s) URL with a host (cached: a batch repeats the same few destinations). A password in it
    (`http://user:pass@host`) is never echoed in the error."""
    try:
        return _validate_url(url, what)
    except InputError as exc:
        from qstash_cli.safe_text import redact

        secret = url.partition("//")[2].rpartition("@")[0].partition(":")[2]
        if secret:
            exc.message = redact(exc.message, [secret, repr(secret)[1:-1]])
            exc.args = (exc.message,)
        raise


def _validate_url(url: str, what: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InputError(f"invalid {what} {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"invalid {what} {url!r}: it must start with http:// or https:// and name a host")
    if _SPACE_RE.search(url):
        raise InputError(f"invalid {what} {url!r}: it must not contain whitespace")
    if _CONTROL_RE.search(url) or not url.isprintable():
        raise InputError(f"invalid {what} {url!r}: it must not contain control characters")
    if parts.port == 0:
        raise InputError(f"invalid {what} {url!r}: port 0 is not a port to send to (use 1-65535)")
    if "\\" in url:  # browsers and WHATWG parsers read `\` as `/`: `http://a\@b` would name host a, not b
        raise InputError(f"invalid {what} {url!r}: it must not contain a backslash (use /, or %5C in a path)")
    if parts.netloc.count("@") > 1:  # parsers disagree on which `@` ends the user info: which host is meant?
        raise InputError(f"invalid {what} {url!r}: more than one '@' before the host (write '@' as %40 in a password)")
    return _idna_host(url, parts, what)


def _idna_host(url: str, parts: SplitResult, what: str) -> str:
    """The URL with a non-ASCII host (`https://☕.example/`) written as IDNA (`https://xn--53h.example/`), which is
    what DNS and the API know; everything else as given."""
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.isascii():
        return url
    host, colon, port = hostport.rpartition(":") if hostport.rsplit(":", 1)[-1].isdigit() else (hostport, "", "")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InputError(f"invalid {what} {url!r}: the host is not a valid internationalised domain name") from None
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{ascii_host}{colon}{port}"))


def is_url(destination: str) -> bool:
    return destination.startswith(("http://", "https://"))


def validate_destination(destination: str) -> str:
    """A URL, or a topic (URL group) name/id."""
    if is_url(destination):
        return validate_url(destination, what="destination URL")
    if "://" in destination:
        raise InputError(f"invalid destination {destination!r}: only http:// and https:// URLs are supported")
    return validate_topic_name(destination, what="destination")


def validate_topic_name(name: str, *, what: str = "topic name") -> str:
    if not _TOPIC_RE.fullmatch(name) or name in (".", ".."):
        raise InputError(
            f"invalid {what} {name!r}: use only letters, digits, '-', '_' and '.'",
            hint="a URL destination must start with http:// or https://" if what == "destination" else None,
        )
    return name


def validate_id(value: str, *, what: str = "id") -> str:
    """Message, task, schedule, endpoint, DLQ ids: letters, digits, `-`, `_`, `.`."""
    if not _ID_RE.fullmatch(value) or value in (".", ".."):
        raise InputError(f"invalid {what} {value!r}: use only letters, digits, '-', '_' and '.'")
    return value


def validate_dedup_id(value: str) -> str:
    if not value or ":" in value or any(c.isspace() for c in value):
        raise InputError(f"invalid deduplication id {value!r}: it must be non-empty, without ':' or whitespace")
    if not value.isascii() or not value.isprintable():
        raise InputError(f"invalid deduplication id {value!r}: use printable ASCII characters")
    return value


def validate_method(method: str) -> str:
    upper = method.upper()
    if upper not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        raise InputError(f"invalid method {method!r}: use GET, POST, PUT, PATCH or DELETE")
    return upper


def validate_retries(value: int) -> int:
    if not 0 <= value <= MAX_RETRIES:
        raise InputError(f"invalid --retries {value}: use 0 to {MAX_RETRIES} (the most any QStash plan allows)")
    return value


def parse_count(text: str, *, what: str) -> int:
    """A whole number of ASCII digits (int() also takes '٣' and '1_0'), of sane length."""
    raw = text.strip()
    if not _is_number(raw):
        raise InputError(f"invalid {what} {text!r}: expected a whole number such as 3")
    return int(raw)


def validate_delay(seconds: int, *, what: str = "--delay") -> int:
    if seconds > MAX_DELAY:
        raise InputError(f"invalid {what} {seconds}s: at most {MAX_DELAY // 86400}d (the most any QStash plan allows)")
    return seconds


def split_cron(expr: str) -> tuple[str | None, str]:
    """`CRON_TZ=Zone 0 9 * * *` → ("Zone", "0 9 * * *")."""
    text = " ".join(expr.split())
    if text.startswith("CRON_TZ="):
        zone, _, rest = text[len("CRON_TZ=") :].partition(" ")
        return zone, rest
    return None, text


def validate_cron(expr: str) -> str:
    """A 5-field cron expression, optionally prefixed by `CRON_TZ=Zone `; returns it normalised."""
    zone, fields = split_cron(expr)
    if zone is not None:
        _zone(zone)
    if len(fields.split()) != 5:
        raise InputError(f"invalid cron {expr!r}: expected 5 fields (minute hour day month weekday)")
    _check_cron_fields(expr, fields.split())
    from croniter import croniter

    if not croniter.is_valid(fields):
        raise InputError(f"invalid cron {expr!r}: see https://crontab.guru for the syntax")
    try:
        croniter(fields, datetime.now(tz=UTC)).get_next(datetime)
    except (ValueError, KeyError, OverflowError):  # CroniterBadDateError is a ValueError
        raise InputError(f"invalid cron {expr!r}: it never fires (e.g. February 31st)") from None
    return f"CRON_TZ={zone} {fields}" if zone else fields


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec"
_CRON_NAMES = {
    3: {m: i for i, m in enumerate(_MONTHS.split(" "), start=1)},
    4: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_CRON_PART_RE = re.compile(r"(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?")


def _check_cron_fields(expr: str, fields: list[str]) -> None:
    """What croniter lets through: a step larger than the field's range (`*/100`) and a reversed range (`30-10`)."""
    for index, text in enumerate(fields):
        name, low, high = _CRON_FIELDS[index]
        for part in text.lower().split(","):
            match = _CRON_PART_RE.fullmatch(part)
            if not match:
                continue  # croniter judges the rest (L, W, #, ...)
            base, step = match.groups()
            if step is not None and not 1 <= int(step[:6]) <= high - low:
                raise InputError(f"invalid cron {expr!r}: step /{step} in the {name} field is outside 1-{high - low}")
            if "-" in base:
                first, last = base.split("-")
                start, end = (str(_CRON_NAMES.get(index, {}).get(v, v)) for v in (first, last))
                if start.isdigit() and end.isdigit() and int(start[:6]) > int(end[:6]):
                    raise InputError(
                        f"invalid cron {expr!r}: the {name} range {base} runs backwards (write {last}-{first}?)"
                    )


def next_fire_times(expr: str, count: int = 3, *, start: datetime | None = None) -> list[datetime]:
    """The next `count` fire times of a (validated) cron expression, as aware datetimes in its zone."""
    from croniter import croniter

    zone, fields = split_cron(validate_cron(expr))
    tz = _zone(zone) if zone else UTC
    base = (start or datetime.now(tz=UTC)).astimezone(tz)
    it = croniter(fields, base)
    return [it.get_next(datetime) for _ in range(count)]


def _zone(name: str):  # noqa: ANN202 - returns a tzinfo
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        raise InputError(f"unknown time zone {name!r} in CRON_TZ: use an IANA name such as Europe/Berlin") from None


def parse_time_ms(text: str, *, what: str = "time", now_ms: int | None = None) -> int:
    """A point in time → unix ms: unix ms (or seconds, below 1e11), ISO-8601 (UTC unless it has an offset),
    or a duration meaning that long ago (`90s`, `15m`, `2h`, `1d`, `1h30m`)."""
    raw = text.strip()
    if _is_number(raw):
        value = int(raw)
        return value * 1000 if value < 10**11 else value
    if raw and raw[0].isdigit() and raw[-1].lower() in _UNITS and "-" not in raw and ":" not in raw:
        seconds = parse_duration(raw, what=what)
        now = int(datetime.now(tz=UTC).timestamp() * 1000) if now_ms is None else now_ms
        return max(now - seconds * 1000, 0)
    dt = _iso_time(
        raw, f"invalid {what} {text!r}: use unix ms, ISO-8601 such as 2026-01-31T12:00:00Z, or an age such as 15m"
    )
    try:
        return int(dt.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        raise InputError(f"invalid {what} {text!r}: the time is out of range") from None


def _shown(path: Path) -> str:
    """A path as typed, or quoted when it holds characters that would break the one-line error."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _iso_time(raw: str, error: str) -> datetime:
    """An ISO-8601 date/time (`Z` allowed; UTC unless it carries an offset), else InputError(error)."""
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(error) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
