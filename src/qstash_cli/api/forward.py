"""The plain HTTP client `qstash listen --forward` relays deliveries with: no token, no redirects, no retries."""

from __future__ import annotations

from typing import Any


def forwarder() -> Any:
    """An `httpx.Client` (60 s read, 5 s connect); the caller closes it."""
    import httpx

    return httpx.Client(follow_redirects=False, timeout=httpx.Timeout(60.0, connect=5.0))
