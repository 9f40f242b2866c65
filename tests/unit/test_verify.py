"""`qstash verify`: valid signatures (current key, next key after rotation), each kind of invalid one with the check
that failed and its hint, the key sources, outputs, and bad input (exit 2). No network: no mock API needed."""

from __future__ import annotations

import json
import re
import time

import pytest

from qstash_cli import devcreds, signing

CUR = "sig_unit_current_key_0001"
NXT = "sig_unit_next_key_000002"
URL = "https://example.com/api/hook?x=1"
BODY = b'{"order":42,"items":["a","b"]}'


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", CUR)
    monkeypatch.setenv("QSTASH_NEXT_SIGNING_KEY", NXT)


def sig(key: str = CUR, url: str = URL, body: bytes = BODY, **kw) -> str:
    return signing.sign(key, url, body, **kw)


def checks(r) -> dict[str, tuple[bool, str | None]]:
    return {c["key"]: (c["ok"], c["failure"]) for c in r.json["checks"]}


def test_valid_signature(cli, keys) -> None:
    token = sig()
    r = cli("verify", token, "--body", BODY.decode(), "--url", URL)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == "Valid: signed with the current key\n"
    lines = r.stdout.splitlines()
    assert lines[:2] == ["iss\tUpstash", f"sub\t{URL}"]
    assert re.fullmatch(r"exp\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[4])
    assert lines[6] == f"body\t{signing.body_hash(BODY)} (matches the given body)"
    assert lines[-3:] == [
        "key\tresult\tcheck\tdetail",
        "current\tok\t\tok",
        "next\tFAILED\tsignature\tsignature does not match this key",
    ]
    data = cli("verify", "-s", token, "-d", BODY.decode(), "--url", URL, "--json").json
    assert data["valid"] is True and data["hints"] == []
    assert data["claims"]["sub"] == URL and data["claims"]["body"] == signing.body_hash(BODY)
    assert set(data["claims"]) >= {"iss", "sub", "iat", "nbf", "exp", "jti", "body"}


def test_without_url_the_subject_is_not_checked(cli, keys) -> None:
    r = cli("verify", sig(url="https://elsewhere.example/"), "-d", BODY.decode())
    assert r.exit_code == 0 and "subject not checked: pass --url" in r.stderr


def test_valid_with_the_next_key_after_rotation(cli, keys) -> None:
    r = cli("verify", sig(key=NXT), "-d", BODY.decode(), "--url", URL, "--json")
    assert r.exit_code == 0, r.stderr
    assert checks(r) == {"current": (False, "signature"), "next": (True, None)}
    assert cli("verify", sig(key=NXT), "-d", BODY.decode()).stderr.startswith("Valid: signed with the next key")


def test_wrong_key(cli) -> None:
    r = cli("verify", sig(key="sig_someone_else"), "-d", BODY.decode(), "--current-key", CUR, "--next-key", NXT)
    assert r.exit_code == 1
    err = r.stderr.splitlines()
    assert err[0] == "Error: the signature is not valid for any key (current: signature, next: signature)"
    assert "no key matches" in err[1] and "keys rotate" in err[1]
    assert "current\tFAILED\tsignature\tsignature does not match this key" in r.stdout


def test_expired_shows_the_skew_and_tolerance_helps(cli, keys) -> None:
    token = sig(now=int(time.time()) - 400)  # exp = now - 100
    r = cli("verify", token, "-d", BODY.decode(), "--json")
    assert r.exit_code == 1
    assert checks(r)["current"] == (False, "expired")
    detail = r.json["checks"][0]["detail"]
    assert re.fullmatch(r"expired (\d+)s ago", detail) and 99 <= int(re.findall(r"\d+", detail)[0]) <= 160
    assert any("--clock-tolerance" in h for h in r.json["hints"])
    assert cli("verify", token, "-d", BODY.decode(), "--clock-tolerance", "5m").exit_code == 0


def test_not_yet_valid(cli, keys) -> None:
    token = sig(now=int(time.time()) + 120)
    r = cli("verify", token, "-d", BODY.decode(), "--json")
    assert r.exit_code == 1 and checks(r)["current"] == (False, "not-yet-valid")
    assert r.json["checks"][0]["detail"].startswith("not valid for another ")
    assert cli("verify", token, "-d", BODY.decode(), "--clock-tolerance", "300").exit_code == 0


def test_wrong_url(cli, keys) -> None:
    r = cli("verify", sig(), "-d", BODY.decode(), "--url", "https://example.com/api/hook", "--json")
    assert r.exit_code == 1 and checks(r)["current"] == (False, "subject")
    assert r.json["checks"][0]["detail"] == f"subject is {URL!r}, want 'https://example.com/api/hook'"
    assert any("exactly as published" in h for h in r.json["hints"])


def test_tampered_body(cli, keys) -> None:
    r = cli("verify", sig(), "-d", BODY.decode().replace("42", "43"), "--url", URL)
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == "Error: the signature is not valid for any key (current: body, next: signature)"
    assert "current\tFAILED\tbody\tbody hash is" in r.stdout
    assert "(differs from the given body)" in r.stdout


def test_reserialised_json_is_recognised(cli, keys) -> None:
    """The signed body is compact JSON; the receiver re-serialised it (json.dumps default separators)."""
    pretty = json.dumps(json.loads(BODY)).encode()
    assert pretty != BODY
    r = cli("verify", sig(), "-d", pretty.decode())
    assert r.exit_code == 1
    hint = next(line for line in r.stderr.splitlines() if line.startswith("Hint:"))
    assert "the signed body is the compact form of your JSON" in hint and "raw request bytes" in hint


def test_reserialised_json_with_sorted_keys_and_trailing_newline(cli, keys, tmp_path) -> None:
    signed = b'{"b":1,"a":2}'
    r = cli("verify", sig(body=signed), "-d", json.dumps({"a": 2, "b": 1}, indent=2))
    assert r.exit_code == 1 and "compact with sorted keys form" not in r.stderr  # key order cannot be recovered
    assert "whitespace/key order differs" in r.stderr
    (tmp_path / "body.txt").write_bytes(b"hello\n")
    r = cli("verify", sig(body=b"hello"), "-d", f"@{tmp_path / 'body.txt'}")
    assert r.exit_code == 1 and "without its trailing newline" in r.stderr


def test_body_is_compared_even_when_an_earlier_check_fails(cli, keys) -> None:
    r = cli("verify", sig(), "-d", json.dumps(json.loads(BODY), indent=1), "--url", "https://other.example/")
    assert r.exit_code == 1
    hints = [line for line in r.stderr.splitlines() if line.startswith("Hint:")]
    assert len(hints) == 2 and "exactly as published" in hints[0] and "compact form" in hints[1]


def test_malformed_token(cli, keys) -> None:
    r = cli("verify", "not.a.jwt", "-d", "x", "--json")
    assert r.exit_code == 1 and r.json["claims"] is None
    assert checks(r) == {"current": (False, "malformed"), "next": (False, "malformed")}


def test_key_sources_flags_env_profile(cli, monkeypatch) -> None:
    token = sig(key=devcreds.DEV_CURRENT_SIGNING_KEY)
    assert cli("-p", "dev", "verify", token, "-d", BODY.decode()).exit_code == 0  # builtin dev profile keys
    monkeypatch.setenv("QSTASH_CURRENT_SIGNING_KEY", "sig_env_wrong")
    r = cli("-p", "dev", "verify", token, "-d", BODY.decode(), "--json")
    assert checks(r)["current"][0] is True  # a profile named with -p beats the environment
    monkeypatch.setenv("QSTASH_PROFILE", "dev")
    r = cli("verify", token, "-d", BODY.decode(), "--json")
    assert checks(r)["current"] == (False, "signature")  # env beats a profile not named on the command line
    r = cli("verify", token, "-d", BODY.decode(), "--json", "--current-key", devcreds.DEV_CURRENT_SIGNING_KEY)
    assert r.exit_code == 0 and list(checks(r)) == ["current"]  # flags beat env; only the given keys are tried


def test_body_from_file_and_stdin_and_pasted_header(cli, keys, tmp_path) -> None:
    body = bytes(range(256))
    token = sig(body=body)
    (tmp_path / "b.bin").write_bytes(body)
    assert cli("verify", token, "-d", f"@{tmp_path / 'b.bin'}").exit_code == 0
    assert cli("verify", "-s", token, "-d", "@-", stdin=body).exit_code == 0
    assert cli("verify", f"Upstash-Signature: {token}", "-d", "@-", stdin=body).exit_code == 0
    assert cli("verify", sig(body=b""), "-d", "").exit_code == 0


def test_quiet_prints_nothing_and_table_renders(cli, keys) -> None:
    ok = cli("verify", sig(), "-d", BODY.decode(), "-q")
    assert (ok.exit_code, ok.stdout) == (0, "")
    bad = cli("verify", sig(), "-d", "x", "-q")
    assert (bad.exit_code, bad.stdout) == (1, "")
    table = cli("verify", sig(), "-d", BODY.decode(), tty=True)
    assert table.exit_code == 0 and "FAILED" in table.stdout and "Upstash" in table.stdout and "ago" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "-d", "x"), "no signature given"),
        (("verify", "a.b.c"), "no body given"),
        (("verify", "a.b.c", "-s", "d.e.f", "-d", "x"), "two different signatures"),
        (("verify", "a.b.c", "-d", "@/nonexistent/body"), "body file not found"),
        (("verify", "a.b.c", "-d", "x", "--url", "example.com/hook"), "invalid URL"),
        (("verify", "a.b.c", "-d", "x", "--clock-tolerance", "soon"), "invalid --clock-tolerance"),
    ],
)
def test_bad_input_exits_2(cli, keys, args, message) -> None:
    r = cli(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert message in r.stderr.splitlines()[0] and "Traceback" not in r.stderr


def test_no_keys_exits_2(cli) -> None:
    r = cli("verify", sig(), "-d", "x")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == "Error: no signing keys to verify with"
    assert "QSTASH_CURRENT_SIGNING_KEY" in r.stderr


def test_keys_never_printed(cli, keys) -> None:
    for args in (("-d", BODY.decode()), ("-d", "x"), ("-d", "x", "--json")):
        r = cli("verify", sig(), *args)
        assert CUR not in r.stdout + r.stderr and NXT not in r.stdout + r.stderr
