"""JSON bodies as QStash writes them on the wire."""

from __future__ import annotations

import json
from typing import Any

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # made once: json.dumps makes one a call


def compact(value: Any) -> bytes:
    """JSON as JavaScript's JSON.stringify writes it (no spaces, UTF-8 kept), so a framework that parses and
    re-serialises a body still sees the bytes the signature's body hash was computed over."""
    return _COMPACT(value).encode()
