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


_BYTE_TO_CHAR = bytes(ord(_ALPHABET[b % 58]) for b in range(256))  # the first 24 characters a little likelier
TIME_CHARS = 8  # 58**8 ms reach the year 6000
_stamp: list = [-1, ""]  # the last millisecond encoded, and its characters


def random_chars(n: int) -> str:
    """`n` random base58 characters."""
    return _rng.randbytes(n).translate(_BYTE_TO_CHAR).decode("ascii")


def time_chars(ms: int) -> str:
    """`ms` as TIME_CHARS base58 characters; the alphabet is in ASCII order, so they sort as the times do."""
    if _stamp[0] != ms:
        value, out = ms, []
        for _ in range(TIME_CHARS):
            value, rem = divmod(value, 58)
            out.append(_ALPHABET[rem])
        _stamp[:] = [ms, "".join(reversed(out))]
    return _stamp[1]


def new_id(prefix: str, n: int = 24) -> str:
    """An id such as `msg_…`, `tpc_…`, `ept_…`, `scd_…`, `tsk_…`: the creation millisecond, then random characters.
    Ids created later sort after earlier ones, so a new row's index entries go at the end of each B-tree (one page
    written per index per commit, not one per row) — what keeps publishing fast as the data file grows."""
    return f"{prefix}_{time_chars(int(time.time() * 1000))}{random_chars(n - TIME_CHARS)}"


def new_signing_key() -> str:
    """A fresh signing key: `sig_` + 28 base58 characters, from the OS's secure random source."""
    return "sig_" + "".join(secrets.choice(_ALPHABET) for _ in range(28))


def now_ms() -> int:
    """Wall-clock unix time in milliseconds."""
    return int(time.time() * 1000)


def dlq_id(ms: int) -> str:
    """A DLQ id in the documented `<ms>-<n>` form."""
    return f"{ms}-{next(_seq)}"
