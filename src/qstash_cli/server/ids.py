"""Identifiers and clocks shared by the server modules."""

from __future__ import annotations

import itertools
import secrets
import time

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_seq = itertools.count()


def random_chars(n: int) -> str:
    """`n` random base58 characters."""
    value = int.from_bytes(secrets.token_bytes(n), "big")  # 8 bits per char > log2(58): no bias worth noting
    out = []
    for _ in range(n):
        value, rem = divmod(value, 58)
        out.append(_ALPHABET[rem])
    return "".join(out)


def new_id(prefix: str, n: int = 24) -> str:
    """A random id such as `msg_…`, `tpc_…`, `ept_…`, `scd_…`, `tsk_…`."""
    return f"{prefix}_{random_chars(n)}"


def new_signing_key() -> str:
    """A fresh signing key: `sig_` + 28 base58 characters."""
    return "sig_" + random_chars(28)


def now_ms() -> int:
    """Wall-clock unix time in milliseconds."""
    return int(time.time() * 1000)


def dlq_id(ms: int) -> str:
    """A DLQ id in the documented `<ms>-<n>` form."""
    return f"{ms}-{next(_seq)}"
