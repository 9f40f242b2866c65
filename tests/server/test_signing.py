"""qstash_cli.signing: tokens the official SDK accepts, and a named failure for every kind of bad token."""

from __future__ import annotations

import jwt
import pytest
from qstash import Receiver
from qstash.errors import SignatureError

from qstash_cli import signing

CUR, NXT = "sig_current_key_for_tests_000000", "sig_next_key_for_tests_000000000"
KEYS = [("current", CUR), ("next", NXT)]
URL = "https://example.test/api"
NOW = 1_700_000_000


def test_sign_is_accepted_by_the_official_receiver():
    token = signing.sign(CUR, URL, b"hello")
    Receiver(CUR, NXT).verify(signature=token, body="hello", url=URL)
    Receiver("sig_other_key_for_tests_00000000", CUR).verify(signature=token, body="hello")  # next key path
    with pytest.raises(SignatureError):
        Receiver(CUR, NXT).verify(signature=token, body="tampered")


@pytest.mark.parametrize("url", [URL, 'http://127.0.0.1:9/x?a="b"&c=d', "https://exämple.test/ü/☃", ""])
@pytest.mark.parametrize("body", [b"", b"hello", bytes(range(256))])
def test_sign_is_byte_for_byte_what_pyjwt_encodes(url: str, body: bytes) -> None:
    """`sign` writes HS256 out itself (speed, benchmarks/README.md); the token must equal PyJWT's for the same
    claims: same header, same claim order and JSON, same MAC."""
    token = signing.sign(CUR, url, body, now=NOW, ttl=300)
    claims = signing.decode_unverified(token)
    assert list(claims) == ["iss", "sub", "iat", "nbf", "exp", "jti", "body"]
    assert claims["sub"] == url and claims["body"] == signing.body_hash(body)
    assert token == jwt.encode(claims, CUR.encode(), algorithm="HS256", headers={"typ": "JWT"})


def test_claims():
    token = signing.sign(CUR, URL, b"", now=NOW, ttl=300)
    header = jwt.get_unverified_header(token)
    claims = signing.decode_unverified(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["iss"] == "Upstash" and claims["sub"] == URL and "aud" not in claims
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 300)
    assert claims["jti"].startswith("jwt_") and claims["body"] == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    assert signing.sign(CUR, URL, b"", now=NOW) != token  # fresh jti


def test_verify_valid_with_current_or_next():
    v = signing.verify(signing.sign(CUR, URL, b"b", now=NOW), b"b", KEYS, url=URL, now=NOW + 1)
    assert v.valid and [c.ok for c in v.checks] == [True, False] and v.checks[1].failure == "signature"
    v = signing.verify(signing.sign(NXT, URL, b"b", now=NOW), b"b", KEYS, now=NOW)
    assert v.valid and [c.failure for c in v.checks] == ["signature", None]


def _failure(token, body=b"b", **kw):
    v = signing.verify(token, body, [("current", CUR)], **{"now": NOW, **kw})
    assert not v.valid
    return v.checks[0].failure


def test_each_failure_is_named():
    good = signing.sign(CUR, URL, b"b", now=NOW)
    assert _failure("not-a-jwt") == "malformed"
    assert _failure(good[:-4] + "AAAA") == "signature"
    assert _failure(jwt.encode({"iss": "X", "sub": URL, "exp": NOW + 9, "nbf": NOW, "body": "x"}, CUR)) == "issuer"
    assert _failure(good, now=NOW + 301) == "expired"
    assert _failure(good, now=NOW - 5) == "not-yet-valid"
    assert _failure(good, url="https://other.test/") == "subject"
    assert _failure(good, body=b"c") == "body"
    assert _failure(jwt.encode({"iss": "Upstash", "sub": URL, "nbf": NOW}, CUR)) == "missing-claim"
    assert signing.verify(good, b"b", [("current", CUR)], now=NOW + 305, clock_tolerance=10).valid


def test_body_hash_padding_is_ignored():
    claims = {"iss": "Upstash", "sub": URL, "exp": NOW + 60, "nbf": NOW, "body": signing.body_hash(b"b") + "="}
    assert signing.verify(jwt.encode(claims, CUR), b"b", KEYS, now=NOW).valid
