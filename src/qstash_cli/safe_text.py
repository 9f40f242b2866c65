"""Text made safe to show: control characters escaped (terminal), secrets redacted (token, URL passwords)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# C0 and C1 controls (ESC, BEL, CR, ...), DEL, and the Unicode bidi / zero-width format characters that can make a
# terminal show something else than what is there. Tab and newline are escaped too: one value, one line.
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
MIN_SECRET_RUN = 8  # a run of this many characters of a secret is redacted wherever it appears


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def escape_controls(text: str) -> str:
    """`text` with every control / format character shown as an escape (`\\x1b`, `\\u202e`, `\\n`)."""
    return _UNSAFE_RE.sub(_escape, text) if _UNSAFE_RE.search(text) else text


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by `***`: whole, shortened, or inside a longer word (any run of at least
    MIN_SECRET_RUN characters that also occurs in a secret; a shorter secret only whole)."""
    for secret in secrets:
        if not secret:
            continue
        if len(secret) <= MIN_SECRET_RUN:
            text = text.replace(secret, "***")
            continue
        grams = {secret[i : i + MIN_SECRET_RUN] for i in range(len(secret) - MIN_SECRET_RUN + 1)}
        covered = [False] * len(text)
        for i in range(len(text) - MIN_SECRET_RUN + 1):
            if text[i : i + MIN_SECRET_RUN] in grams:
                covered[i : i + MIN_SECRET_RUN] = [True] * MIN_SECRET_RUN
        if any(covered):
            out, i = [], 0
            while i < len(text):
                if covered[i]:
                    out.append("***")
                    while i < len(text) and covered[i]:
                        i += 1
                else:
                    out.append(text[i])
                    i += 1
            text = "".join(out)
    return text


def url_password(url: str) -> str | None:
    """The password of `http://user:pass@host/…`, else None."""
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def shown_url(url: str) -> str:
    """`url` with the password of its user info replaced by `***` (for errors and traces)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))
