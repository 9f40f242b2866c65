"""safe_text: control characters escaped for the terminal, secrets redacted wherever a run of them appears."""

from __future__ import annotations

import pytest

from qstash_cli.safe_text import escape_controls, redact, shown_url, url_password

TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciJ9"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text é ☕", "plain text é ☕"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("bell\x07", "bell\\x07"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x9b31m", "\\x9b31m"),
        ("\u202eevil", "\\u202eevil"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("bad\udcffbyte", "bad\\udcffbyte"),
    ],
)
def test_escape_controls(text: str, shown: str) -> None:
    assert escape_controls(text) == shown
    assert escape_controls(shown) == shown  # escaping twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        f"invalid token {TOKEN}",
        f"invalid token {TOKEN[:10]}...",
        f"...{TOKEN[-8:]}",
        f"Bearer{TOKEN}xyz",
        f"{TOKEN[3:19]} and {TOKEN[12:30]}",
    ],
)
def test_redact_any_run_of_the_token(text: str) -> None:
    out = redact(text, [TOKEN])
    assert "***" in out
    assert not any(TOKEN[i : i + 8] in out for i in range(len(TOKEN) - 7)), out


def test_redact_keeps_other_text_and_short_secrets_whole() -> None:
    assert redact("nothing secret here", [TOKEN]) == "nothing secret here"
    assert redact("key abc123 and abc", ["abc123"]) == "key *** and abc"
    assert redact("x", [""]) == "x"


def test_url_password_shown_as_stars() -> None:
    assert url_password("https://u:p4ss@h.example/x") == "p4ss"
    assert url_password("https://h.example/x") is None
    assert shown_url("https://u:p4ss@h.example:8443/x?y=1") == "https://u:***@h.example:8443/x?y=1"
    assert shown_url("https://h.example/") == "https://h.example/"
