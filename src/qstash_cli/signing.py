"""Sign and verify `Upstash-Signature` JWTs (HS256, secret = the signing key string, API reference C.1).

Compatible with the official SDKs' receivers: claims iss/sub/iat/nbf/exp/jti/body, no `aud`.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import json
import random
import secrets
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_string

ISSUER = "Upstash"
FAILURES = ("malformed", "signature", "issuer", "expired", "not-yet-valid", "subject", "body", "missing-claim")
_REQUIRED = ("iss", "sub", "exp", "nbf", "body")
# jti only has to be unique, not secret: a PRNG seeded from the OS saves a syscall per signature (one per delivery).
_jti = random.Random(secrets.token_bytes(32))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence PyJWT's short-HMAC-key warning: the key is whatever QStash issued."""
    import jwt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        yield


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64url(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def body_hash(body: bytes) -> str:
    """base64url(sha256(body)) without padding."""
    return _b64url(hashlib.sha256(body).digest()).decode()


_JWT_HEADER = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
# The claims as json.dumps(claims, separators=(",", ":")) writes them (PyJWT's encoding): only `sub` needs escaping.
_CLAIMS = '{"iss":"%s","sub":%s,"iat":%d,"nbf":%d,"exp":%d,"jti":"jwt_%024x","body":"%s"}'


def sign(key: str, url: str, body: bytes, *, now: int | None = None, ttl: int = 300) -> str:
    """A signature for a request to `url` carrying `body`, valid for `ttl` seconds from `now`.

    HS256 written out here (header, claims, HMAC-SHA256; byte for byte what `jwt.encode` gives, which
    tests/server/test_signing.py checks): `qstash dev` signs every delivery, and PyJWT's encode — key checks, a warnings
    filter, a JSON encoder class — took ~30% of the delivery path's time (benchmarks/README.md). Verifying stays
    PyJWT's."""
    issued = int(time.time()) if now is None else int(now)
    claims = _CLAIMS % (ISSUER, _json_string(url), issued, issued, issued + ttl, _jti.getrandbits(96), body_hash(body))
    signing_input = _JWT_HEADER + b"." + _b64url(claims.encode())
    mac = hmac.digest(key.encode(), signing_input, "sha256")
    return (signing_input + b"." + _b64url(mac)).decode()


@dataclass
class KeyCheck:
    """The outcome of checking a token against one key; `failure` names the first failed check."""

    name: str
    ok: bool
    failure: str | None
    detail: str


@dataclass
class Verdict:
    """Valid when any key passed every check; `claims` are decoded without verification, for display."""

    valid: bool
    claims: dict | None
    checks: list[KeyCheck] = field(default_factory=list)


def _check(token: str, body: bytes, name: str, key: str, url: str | None, leeway: int, now: int) -> KeyCheck:
    import jwt  # here, not at the top: signing (`sign`) does without it, and so does the delivery process

    try:
        with _quiet():
            claims = jwt.decode(
                token,
                key.encode(),
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
    except jwt.InvalidSignatureError:
        return KeyCheck(name, False, "signature", "signature does not match this key")
    except jwt.PyJWTError as exc:
        return KeyCheck(name, False, "malformed", f"not a valid JWT: {exc}")
    missing = [c for c in _REQUIRED if c not in claims]
    if missing:
        return KeyCheck(name, False, "missing-claim", f"missing claim(s): {', '.join(missing)}")
    if claims["iss"] != ISSUER:
        return KeyCheck(name, False, "issuer", f"issuer is {claims['iss']!r}, want {ISSUER!r}")
    try:
        exp, nbf = int(claims["exp"]), int(claims["nbf"])
    except (TypeError, ValueError):
        return KeyCheck(name, False, "malformed", "exp/nbf are not integers")
    if now > exp + leeway:
        return KeyCheck(name, False, "expired", f"expired {now - exp}s ago")
    if now + leeway < nbf:
        return KeyCheck(name, False, "not-yet-valid", f"not valid for another {nbf - now}s")
    if url is not None and claims["sub"] != url:
        return KeyCheck(name, False, "subject", f"subject is {claims['sub']!r}, want {url!r}")
    want = body_hash(body)
    if str(claims["body"]).rstrip("=") != want:
        return KeyCheck(name, False, "body", f"body hash is {claims['body']!r}, want {want!r}")
    return KeyCheck(name, True, None, "ok")


def decode_unverified(token: str) -> dict | None:
    """The token's claims without any verification, or None when it is not a JWT."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def verify(
    token: str,
    body: bytes,
    keys: list[tuple[str, str]],
    *,
    url: str | None = None,
    clock_tolerance: int = 0,
    now: int | None = None,
) -> Verdict:
    """Check `token` against each (name, key) in order (current, then next); record why each key failed."""
    at = int(time.time()) if now is None else int(now)
    checks = [_check(token, body, name, key, url, clock_tolerance, at) for name, key in keys]
    return Verdict(any(c.ok for c in checks), decode_unverified(token), checks)
