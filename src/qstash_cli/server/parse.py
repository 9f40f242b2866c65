"""Parsers for header values: durations, Retry-After, retry-delay expressions, cron with CRON_TZ."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from qstash_cli import retry_delay

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class BadValue(ValueError):
    """A header or field value that cannot be parsed; the message is shown to the client."""


_durations: dict[str, float] = {}  # spelling → seconds, for the few spellings a client repeats on every publish


def duration(value: str, *, name: str = "duration") -> float:
    """Seconds in `50s`, `3m`, `1h30m`, `1d10h30m`, `500ms` or a bare number of seconds."""
    seconds = _durations.get(value)
    if seconds is not None:
        return seconds
    seconds = _duration(value, name)
    if len(_durations) < 1024:
        _durations[value] = seconds
    return seconds


def _duration(value: str, name: str) -> float:
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise BadValue(f"invalid {name} {value!r}: use a number followed by s, m, h or d, e.g. 50s, 3m, 1h30m")
    return total


def retry_after(headers: dict[str, str], now: float) -> float | None:
    """Seconds to wait from Retry-After / X-RateLimit-Reset* (seconds, HTTP date, Go duration); None if absent
    or beyond one day."""
    for name in ("retry-after", "x-ratelimit-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        raw = headers.get(name)
        if not raw:
            continue
        raw = raw.strip()
        seconds: float | None = None
        try:
            seconds = duration(raw)
        except BadValue:
            try:
                seconds = parsedate_to_datetime(raw).timestamp() - now
            except (TypeError, ValueError, IndexError):
                seconds = None
        if seconds is None:
            continue
        if seconds > 86400 * 365:  # a unix timestamp rather than a delta
            seconds -= now
        if 0 <= seconds <= 86400:
            return seconds
        return None
    return None


def check_retry_delay(expr: str) -> None:
    """Reject anything but arithmetic over `retried` and the documented functions (`qstash_cli.retry_delay`)."""
    found = retry_delay.problem(expr)
    if found is not None:
        raise BadValue(f"invalid retry delay expression {expr!r}: {found}")


def retry_delay_ms(expr: str, retried: int) -> float | None:
    """Evaluate a checked retry-delay expression (milliseconds); None when it fails."""
    return retry_delay.milliseconds(expr, retried)


def split_cron(expr: str) -> tuple[str, ZoneInfo | timezone]:
    """(`5-field expression`, zone) from `[CRON_TZ=Zone ]expr`; UTC by default."""
    text = expr.strip()
    zone: ZoneInfo | timezone = UTC
    if text.startswith(("CRON_TZ=", "TZ=")):
        head, _, text = text.partition(" ")
        try:
            zone = ZoneInfo(head.split("=", 1)[1])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadValue(f"unknown time zone in {expr!r}") from exc
        text = text.strip()
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise BadValue(f"invalid cron expression {expr!r}: use 5 fields, e.g. '*/5 * * * *'")
    return text, zone


def next_fire(expr: str, after_ms: int) -> int:
    """The first fire time (ms) strictly after `after_ms`."""
    text, zone = split_cron(expr)
    start = datetime.fromtimestamp(after_ms / 1000, tz=zone)
    nxt = croniter(text, start).get_next(datetime)
    return int(nxt.timestamp() * 1000)
