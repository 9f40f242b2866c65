"""Identifiers and clocks shared by the server modules."""

from __future__ import annotations

import itertools
import os
import random
import secrets
import time

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_seq = itertools.count()
# Ids only need to be unique and unpredictable enough for a local server; a PRNG seeded from the OS avoids one
# urandom syscall per id (measurable at thousands of publishes per second).
_rng = random.Random(os.urandom(32))


def random_chars(n: int) -> str:
    """`n` random base58 characters."""
    value = _rng.getrandbits(8 * n)  # 8 bits per char > log2(58): no bias worth noting
    out = []
    for _ in range(n):
        value, rem = divmod(value, 58)
        out.append(_ALPHABET[rem])
    return "".join(out)


def new_id(prefix: str, n: int = 24) -> str:
    """A random id such as `msg_…`, `tpc_…`, `ept_…`, `scd_…`, `tsk_…`."""
    return f"{prefix}_{random_chars(n)}"


def new_signing_key() -> str:
    """A fresh signing key: `sig_` + 28 base58 characters, from the OS's secure random source."""
    return "sig_" + "".join(secrets.choice(_ALPHABET) for _ in range(28))


def now_ms() -> int:
    """Wall-clock unix time in milliseconds."""
    return int(time.time() * 1000)


def dlq_id(ms: int) -> str:
    """A DLQ id in the documented `<ms>-<n>` form."""
    return f"{ms}-{next(_seq)}"
