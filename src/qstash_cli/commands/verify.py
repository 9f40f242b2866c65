"""`qstash verify`: check an `Upstash-Signature` against a body, a URL and the signing keys, and say what failed."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer

from qstash_cli.errors import InputError, QstashError
from qstash_cli.output import JSON, QUIET, Column
from qstash_cli.settings import Settings, settings_from

HEADER = "upstash-signature:"


def _secs(key: str) -> Any:
    return lambda c: int(c[key]) * 1000 if isinstance(c.get(key), (int, float)) else c.get(key)


CLAIM_FIELDS = [
    Column("iss", "iss"),
    Column("sub", "sub"),
    Column("iat", _secs("iat"), "time"),
    Column("nbf", _secs("nbf"), "time"),
    Column("exp", _secs("exp"), "time"),
    Column("jti", "jti"),
    Column("body", "body"),
]
CHECK_COLUMNS = [
    Column("key", "key"),
    Column("result", lambda c: "ok" if c["ok"] else "FAILED"),
    Column("check", lambda c: c["failure"] or ""),
    Column("detail", "detail"),
]

KEY_HELP = "Signing key to check with [default: env QSTASH_{0}_SIGNING_KEY, else the profile's {1}_signing_key]."


def signing_keys(s: Settings, current: str | None, next_: str | None) -> list[tuple[str, str]]:
    """(name, key) pairs to try, current first: the flags if any is given, else env, else the profile."""
    flags = [(n, k) for n, k in (("current", current), ("next", next_)) if k]
    keys = flags or s.signing_keys
    if not keys:
        raise InputError(
            "no signing keys to verify with",
            hint="pass --current-key/--next-key, set QSTASH_CURRENT_SIGNING_KEY/QSTASH_NEXT_SIGNING_KEY, "
            "or use a profile that has them (`qstash -p dev ...` for the local server; `qstash keys get` shows them)",
        )
    return keys


def parse_signature(argument: str | None, option: str | None) -> str:
    """The JWT from the argument or --signature (a pasted `Upstash-Signature: …` header line is accepted)."""
    if argument and option and argument.strip() != option.strip():
        raise InputError("two different signatures given: pass it either as the argument or with --signature")
    raw = (option or argument or "").strip()
    if raw.lower().startswith(HEADER):
        raw = raw[len(HEADER) :].strip()
    if not raw:
        raise InputError("no signature given", hint="pass the Upstash-Signature header's value as SIGNATURE or -s")
    return raw


def body_hint(body: bytes, claimed: str | None) -> str | None:
    """Why the body hash may differ: re-serialised JSON, or a trailing newline added/lost on the way."""
    from qstash_cli.signing import body_hash

    if not isinstance(claimed, str):
        return None
    want = claimed.rstrip("=")
    variants: list[tuple[str, bytes]] = []
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    else:
        for label, kwargs in (
            ("compact", {"separators": (",", ":")}),
            ("compact with sorted keys", {"separators": (",", ":"), "sort_keys": True}),
            ("json.dumps default", {}),
            ("json.dumps default with sorted keys", {"sort_keys": True}),
            ("indented", {"indent": 2}),
            ("JavaScript JSON.stringify", {"separators": (",", ":"), "ensure_ascii": False}),
        ):
            variants.append((f"the {label} form of your JSON", json.dumps(parsed, **kwargs).encode()))
    variants += [
        ("your body without its trailing newline", body.rstrip(b"\r\n")),
        ("your body + a newline", body + b"\n"),
    ]
    for label, candidate in variants:
        if candidate != body and body_hash(candidate) == want:
            return (
                f"the signed body is {label}: the body you passed was re-formatted on the way; "
                "verify the raw request bytes exactly as received (e.g. request.get_data(), await request.text())"
            )
    if parsed is not None and isinstance(parsed, (dict, list)):
        compact = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()
        if compact != body:
            return (
                "the body is JSON whose whitespace/key order differs from a compact form: if your framework parsed and "
                "re-serialised it, verify the raw request bytes instead"
            )
    return None


def hints(verdict: Any, body: bytes, tolerance: int) -> list[str]:
    """One hint per kind of failure seen across the keys (the body hash is compared even when an earlier check
    failed, once a key's HMAC matched)."""
    from qstash_cli.signing import body_hash

    seen = {c.failure for c in verdict.checks}
    out = []
    if seen == {"signature"}:
        out.append(
            "no key matches: check the keys (`qstash keys get`); after `keys rotate` the old next key is current"
        )
    if seen & {"expired", "not-yet-valid"}:
        out.append(
            f"the clocks disagree or the signature is old (clock tolerance {tolerance}s): "
            "allow some skew with --clock-tolerance 30s, or check this machine's clock"
        )
    if "subject" in seen:
        out.append("the URL must be the destination exactly as published (scheme, host, port, path, query)")
    claimed = (verdict.claims or {}).get("body")
    signed_ok = bool(seen & {"issuer", "expired", "not-yet-valid", "subject", "body"})  # a key matched the HMAC
    if "body" in seen or (signed_ok and isinstance(claimed, str) and claimed.rstrip("=") != body_hash(body)):
        hint = body_hint(body, claimed)
        out.append(hint or "the body differs from the one signed: pass the raw request body (--body @file or @-)")
    return out


def verify(
    ctx: typer.Context,
    signature_arg: str | None = typer.Argument(None, metavar="[SIGNATURE]", help="The Upstash-Signature JWT."),
    signature: str | None = typer.Option(None, "--signature", "-s", help="The Upstash-Signature JWT."),
    body: str | None = typer.Option(
        None, "--body", "-d", help="The raw request body: TEXT, @file, or @- for stdin ('' for an empty body)."
    ),
    url: str | None = typer.Option(
        None, "--url", help="Also check the `sub` claim against this URL (the destination as published)."
    ),
    current_key: str | None = typer.Option(None, "--current-key", help=KEY_HELP.format("CURRENT", "current")),
    next_key: str | None = typer.Option(None, "--next-key", help=KEY_HELP.format("NEXT", "next")),
    clock_tolerance: str = typer.Option(
        "0", "--clock-tolerance", help="Allowed clock skew for exp/nbf: seconds or a duration such as 30s, 2m."
    ),
) -> None:
    """Check an Upstash-Signature against a body, an optional URL and the current/next signing keys.

    Prints the decoded claims and, for each key, the check that failed (signature, issuer, expiry/not-before with the
    clock skew, subject vs --url, body hash — with a hint when the body looks re-serialised). No network.
    Exit codes: 0 valid, 1 not valid for any key, 2 bad input (no signature, no keys, unreadable body).
    Here --url is the URL to check, not the API URL.

    \b
    Example:
      qstash verify "$SIG" --body @body.json --url https://example.com/api/hook
      qstash -p dev verify -s "$SIG" -d @- --json < body.bin
    """
    from qstash_cli import signing
    from qstash_cli.inputs import parse_duration, read_body, validate_url

    s = settings_from(ctx)
    token = parse_signature(signature_arg, signature)
    if body is None:
        raise InputError("no body given", hint="pass the raw request body with --body TEXT|@file|@- ('' if empty)")
    data = read_body(body)
    assert data is not None
    if url is not None:
        validate_url(url)
    tolerance = parse_duration(clock_tolerance, what="--clock-tolerance")
    keys = signing_keys(s, current_key, next_key)

    verdict = signing.verify(token, data, keys, url=url, clock_tolerance=tolerance)
    notes = [] if verdict.valid else hints(verdict, data, tolerance)
    checks = [{"key": c.name, **{k: v for k, v in asdict(c).items() if k != "name"}} for c in verdict.checks]
    if s.out.mode == JSON:
        s.out.json({"valid": verdict.valid, "claims": verdict.claims, "checks": checks, "hints": notes})
    elif s.out.mode != QUIET:
        if verdict.claims is not None:
            claims = dict(verdict.claims)
            claims["body"] = _body_claim(claims.get("body"), data)
            s.out.record(claims, fields=CLAIM_FIELDS)
            s.out.line("")
        s.out.rows(checks, CHECK_COLUMNS)
    if not verdict.valid:
        raise QstashError(
            "the signature is not valid for any key ("
            + ", ".join(f"{c.name}: {c.failure}" for c in verdict.checks)
            + ")",
            hint="\nHint: ".join(notes) or None,
        )
    used = next(c.name for c in verdict.checks if c.ok)
    s.out.info(f"Valid: signed with the {used} key" + ("" if url else " (subject not checked: pass --url)"))


def _body_claim(claimed: Any, body: bytes) -> str:
    from qstash_cli.signing import body_hash

    if not isinstance(claimed, str):
        return str(claimed)
    same = claimed.rstrip("=") == body_hash(body)
    return f"{claimed} ({'matches' if same else 'differs from'} the given body)"


def register(root: typer.Typer) -> None:
    root.command("verify")(verify)
