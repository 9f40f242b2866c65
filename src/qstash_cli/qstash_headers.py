"""Parsing of the v2 publish settings that become `Upstash-*` headers: retry-delay expressions, flow control,
redaction, callback settings and the `--upstash-header` escape hatch. Every parser raises InputError, before sending.

Stdlib only: command modules import it at start-up.
"""

from __future__ import annotations

import re
from typing import Any

from qstash_cli import retry_delay
from qstash_cli.errors import InputError

_FLOW_KEY_RE = re.compile(r"[A-Za-z0-9\-_.:@+=~!*$]{1,256}")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def validate_flow_control_key(key: str) -> str:
    """A flow-control key: 1-256 of letters, digits and `-_.:@+=~!*$` (it travels in a header and a URL path)."""
    if not _FLOW_KEY_RE.fullmatch(key):
        raise InputError(
            f"invalid flow-control key {key!r}: use 1-256 letters, digits or -_.:@+=~!*$ (no spaces or slashes)"
        )
    return key


def validate_retry_delay(expr: str, *, what: str = "--retry-delay") -> str:
    """An `Upstash-Retry-Delay` expression in milliseconds: numbers, `retried`, + - * / %, parentheses and
    pow exp sqrt abs floor ceil round min max; e.g. `pow(2, retried) * 1000`."""
    text = " ".join(expr.split())
    found = retry_delay.problem(text)
    if found is not None:
        hint = f"use a formula in ms of `retried` with + - * / and {', '.join(retry_delay.FUNCTIONS)}"
        raise InputError(f"invalid {what} {expr!r}: {found} ({hint})")
    return text


def flow_control_value(parallelism: int | None, rate: int | None, period: int | None) -> str | None:
    """`Upstash-Flow-Control-Value`: `parallelism=5, rate=10, period=60s` (None when nothing is set)."""
    parts = [f"{name}={value}" for name, value in (("parallelism", parallelism), ("rate", rate)) if value is not None]
    if period is not None:
        parts.append(f"period={period}s")
    return ", ".join(parts) or None


def check_flow_control(key: str | None, parallelism: int | None, rate: int | None, period: int | None) -> None:
    """Flow-control limits need a key; a key needs a limit; limits are positive."""
    for name, value in (("--parallelism", parallelism), ("--rate", rate), ("--period", period)):
        if value is not None and value < 1:
            raise InputError(f"invalid {name} {value}: it must be at least 1")
    if key is None and (parallelism is not None or rate is not None or period is not None):
        raise InputError("--parallelism, --rate and --period need --flow-control-key KEY")
    if key is not None and parallelism is None and rate is None:
        raise InputError("--flow-control-key needs --rate N and/or --parallelism N")
    if period is not None and rate is None:
        raise InputError("--period needs --rate N (it is the rate's period)")


def validate_redact(values: list[str]) -> str:
    """`Upstash-Redact-Fields`: `body`, `header` (all headers) and/or `header[Name]`, comma-joined."""
    fields = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if part in ("body", "header", "headers"):
                fields.append("header" if part == "headers" else part)
                continue
            match = re.fullmatch(r"header\[([^\]]+)\]", part)
            if not match or not _HEADER_NAME_RE.fullmatch(match.group(1)):
                raise InputError(f"invalid --redact {part!r}: use body, header or header[Name]")
            fields.append(part)
    return ",".join(dict.fromkeys(fields))


def parse_upstash_header(text: str) -> tuple[str, str]:
    """`Upstash-X: value` for `--upstash-header`: the name must start with `Upstash-`; sent as given."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME_RE.fullmatch(name) or not name.lower().startswith("upstash-") or name == "Upstash-":
        raise InputError(f"invalid --upstash-header {text!r}: use 'Upstash-Name: value'")
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise InputError(f"invalid --upstash-header {name!r}: the value must be one line without control characters")
    return name, value.strip()


# -- the settings as one set of headers --------------------------------------------------------------------------
# Option name (the CLI parameter, and the snake_case key of a schedules file) → the header it becomes. The
# callback rows exist twice: for the callback (`Upstash-Callback-…`) and the failure callback.
CALLBACK_SETTINGS = ("method", "timeout", "retries", "retry_delay", "delay")
SETTING_NAMES = (
    "retry_delay",
    "flow_control_key",
    "rate",
    "parallelism",
    "period",
    "redact",
    *(f"{kind}_{name}" for kind in ("callback", "failure_callback") for name in (*CALLBACK_SETTINGS, "header")),
    "upstash_header",
)


def settings_headers(values: dict[str, Any]) -> dict[str, str]:
    """Validate the v2 settings (`SETTING_NAMES` but upstash_header; None/empty = not set) into their headers."""
    from qstash_cli import inputs

    v = {k: values.get(k) for k in SETTING_NAMES}
    h: dict[str, str] = {}
    if v["retry_delay"] is not None:
        h["Upstash-Retry-Delay"] = validate_retry_delay(str(v["retry_delay"]))
    key = validate_flow_control_key(v["flow_control_key"]) if v["flow_control_key"] is not None else None
    period = _seconds(v["period"], "--period")
    check_flow_control(key, v["parallelism"], v["rate"], period)
    if key is not None:
        h["Upstash-Flow-Control-Key"] = key
        h["Upstash-Flow-Control-Value"] = flow_control_value(v["parallelism"], v["rate"], period) or ""
    if v["redact"]:
        h["Upstash-Redact-Fields"] = validate_redact(list(v["redact"]))
    for kind, prefix, flag in (
        ("callback", "Upstash-Callback", "--callback"),
        ("failure_callback", "Upstash-Failure-Callback", "--failure-callback"),
    ):
        method = v[f"{kind}_method"]
        if method is not None:
            h[f"{prefix}-Method"] = inputs.validate_method(str(method))
        for name, suffix in (("timeout", "Timeout"), ("delay", "Delay")):
            seconds = _seconds(v[f"{kind}_{name}"], f"{flag}-{name}")
            if seconds is not None:
                h[f"{prefix}-{suffix}"] = f"{seconds}s"
        retries = v[f"{kind}_retries"]
        if retries is not None:
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                raise InputError(f"invalid {flag}-retries {retries!r}: it must be an integer, 0 or more")
            h[f"{prefix}-Retries"] = str(retries)
        if v[f"{kind}_retry_delay"] is not None:
            h[f"{prefix}-Retry-Delay"] = validate_retry_delay(str(v[f"{kind}_retry_delay"]), what=f"{flag}-retry-delay")
        for text in v[f"{kind}_header"] or []:
            name, value = inputs.parse_header(text)
            h[f"{prefix}-Forward-{name}"] = value
    return h


def escape_hatch(values: dict[str, Any]) -> dict[str, str]:
    """The `--upstash-header 'Upstash-X: v'` headers, sent as given."""
    return dict(parse_upstash_header(text) for text in values.get("upstash_header") or [])


def duration_seconds(value: Any) -> int | None:
    """A duration setting (`1m`, or seconds) in seconds; None when not set."""
    return _seconds(value, "duration")


def _seconds(value: Any, what: str) -> int | None:
    """A duration option (`30s`, `5m`, or seconds as an int) in seconds; None when not set."""
    from qstash_cli import inputs

    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"invalid {what} {value!r}: use a duration such as 30s or 5m")
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"invalid {what} {value}: it must be 0 or more")
        return value
    return inputs.parse_duration(str(value), what=what)


def forwarded_upstash_names(forward: list[tuple[str, str]]) -> list[str]:
    """The `-H` names that start with `Upstash-`: they reach the destination as `Upstash-Forward-Upstash-…`."""
    return [name for name, _ in forward if name.lower().startswith("upstash-")]


# -- the same settings in files: `schedules apply` (snake_case keys) and `publish --batch` lines (camelCase) ------
_INT_SETTINGS = ("rate", "parallelism", "callback_retries", "failure_callback_retries")
_LIST_SETTINGS = {"callback_header": "callback_headers", "failure_callback_header": "failure_callback_headers"}


def file_keys(*, camel: bool) -> dict[str, str]:
    """File key → setting name: `retry_delay`/`retryDelay`, …, `callback_headers`/`callbackHeaders` (a table)."""
    keys = {}
    for name in SETTING_NAMES:
        if name == "upstash_header":
            continue
        key = _LIST_SETTINGS.get(name, name)
        keys[_camel(key) if camel else key] = name
    return keys


def _camel(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(part.title() for part in rest)


def settings_from_file(entry: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """The settings an entry (a TOML table, a JSON line) sets, type-checked, as option values for settings_headers."""
    values: dict[str, Any] = {}
    for key, name in keys.items():
        if key not in entry:
            continue
        value = entry[key]
        if name in _INT_SETTINGS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"invalid {key} {value!r}: expected an integer")
        elif name in _LIST_SETTINGS:
            if not isinstance(value, dict):
                raise InputError(f"invalid {key}: expected a table of name → value")
            value = [f"{n}: {v}" for n, v in value.items()]
        elif name == "redact":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"invalid {key} {value!r}: expected a string or a list of strings")
        elif name in (
            "period",
            "callback_timeout",
            "callback_delay",
            "failure_callback_timeout",
            "failure_callback_delay",
        ):
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise InputError(f"invalid {key} {value!r}: expected a duration such as 30s")
        elif not isinstance(value, str) or not value:
            raise InputError(f"invalid {key} {value!r}: expected a non-empty string")
        values[name] = value
    return values
