"""Parsing of the v2 publish settings that become `Upstash-*` headers: retry-delay expressions, flow control,
redaction, callback settings and the `--upstash-header` escape hatch. Every parser raises InputError, before sending.

Stdlib only: command modules import it at start-up.
"""

from __future__ import annotations

import ast
import re

from qstash_cli.errors import InputError

_FLOW_KEY_RE = re.compile(r"[A-Za-z0-9\-_.:@+=~!*$]{1,256}")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
RETRY_DELAY_FUNCTIONS = ("pow", "exp", "sqrt", "abs", "floor", "ceil", "round", "min", "max")
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
    ast.USub,
    ast.UAdd,
)


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
    hint = f"use a formula in ms of `retried` with + - * / and {', '.join(RETRY_DELAY_FUNCTIONS)}"
    if not text or len(text) > 500:
        raise InputError(f"invalid {what} {expr!r}: {hint}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise InputError(f"invalid {what} {expr!r}: not a formula ({hint})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise InputError(f"invalid {what} {expr!r}: {hint}")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, int | float)):
            raise InputError(f"invalid {what} {expr!r}: only numbers are allowed as constants")
        if isinstance(node, ast.Name) and node.id not in ("retried", *RETRY_DELAY_FUNCTIONS):
            raise InputError(f"invalid {what} {expr!r}: unknown name {node.id!r} ({hint})")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in RETRY_DELAY_FUNCTIONS or node.keywords
        ):
            raise InputError(f"invalid {what} {expr!r}: {hint}")
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
