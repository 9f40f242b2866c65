"""`Upstash-Redact-Fields`: which parts of a message every read hides (`body`, `header` / `headers` for all headers,
`header[Name]` / `headers[Name]` for one, case-insensitive), and how they are shown: `REDACTED:<sha256 hex>` of the
value. Deliveries and DLQ retries always use the originals; only reads pass through here."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from qstash_cli.server.parse import BadValue

_ONE = re.compile(r"headers?\[([^\]]+)\]", re.IGNORECASE)


def parse(value: str) -> dict[str, Any]:
    """The header's fields as `{"body": True, "header": True, "headers": [names]}` (only what is set)."""
    out: dict[str, Any] = {}
    for item in (x.strip() for x in value.split(",")):
        if not item:
            continue
        low = item.lower()
        one = _ONE.fullmatch(item)
        if low == "body":
            out["body"] = True
        elif low in ("header", "headers"):
            out["header"] = True
        elif one:
            out.setdefault("headers", []).append(one.group(1).strip())
        else:
            raise BadValue(f"invalid Upstash-Redact-Fields item {item!r}: use body, header or header[Name]")
    return out


def fields(redact: dict[str, Any]) -> str:
    """`parse` undone: the header value that gives `redact` again."""
    items = ["body"] if redact.get("body") else []
    items += ["header"] if redact.get("header") else [f"header[{n}]" for n in redact.get("headers", [])]
    return ",".join(items)


def mark(value: bytes | str) -> str:
    """How a redacted value reads: `REDACTED:` and the SHA-256 of the value, in hex."""
    data = value.encode() if isinstance(value, str) else value
    return "REDACTED:" + hashlib.sha256(data).hexdigest()


def header(meta: dict[str, Any], headers: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """The headers as a read shows them."""
    redact = meta.get("redact")
    if not redact or not headers:
        return headers
    names = {n.lower() for n in redact.get("headers", [])}
    return {
        name: [mark(v) for v in values] if redact.get("header") or name.lower() in names else values
        for name, values in headers.items()
    }


def body(meta: dict[str, Any], data: bytes) -> bytes:
    """The body as a read shows it."""
    return mark(data).encode() if (meta.get("redact") or {}).get("body") else data
