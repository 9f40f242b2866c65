"""The request headers of one delivery attempt, as QStash writes them: its own Upstash-* set (signed with the key in
force), then the publisher's forwarded headers. Used by the engine, and by the delivery process (deliverer.py)."""

from __future__ import annotations

from qstash_cli.signing import sign

USER_AGENT = "Upstash-QStash"
# Framing and hop-by-hop headers come from the connection, never from a publisher (RFC 9110 7.6.1, 9112 6).
NEVER_FORWARDED = frozenset(
    (
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "expect",
    )
)


def attempt_headers(
    key: str,
    url: str,
    body: bytes,
    message_id: str,
    retried: int,
    caller_ip: str,
    extra: list[tuple[str, str]],
    schedule_id: str | None,
    topic_name: str | None,
    forwarded: dict[str, list[str]],
    issued_at: int,
) -> list[tuple[str, str]]:
    """QStash's own headers first, then the forwarded ones — never a framing or hop-by-hop header, never one of
    QStash's own names. The signature is issued at `issued_at` (unix seconds: when the attempt started)."""
    own = [
        ("User-Agent", USER_AGENT),
        ("Upstash-Signature", sign(key, url, body, now=issued_at)),
        ("Upstash-Message-Id", message_id),
        ("Upstash-Retried", str(retried)),
        ("Upstash-Caller-Ip", caller_ip),
        *extra,
    ]
    if schedule_id:
        own.append(("Upstash-Schedule-Id", schedule_id))
    if topic_name:
        own.append(("Upstash-Topic-Name", topic_name))
    taken = {name.lower() for name, _ in own} | NEVER_FORWARDED
    return own + [(name, value) for name, values in forwarded.items() if name.lower() not in taken for value in values]
