"""`qstash quota`: the account's limits (v1 only)."""

from __future__ import annotations

import typer

from qstash_cli.output import Column
from qstash_cli.settings import settings_from

FIELDS = [
    Column("maxTopics", "maxTopics"),
    Column("maxEndpointsPerTopic", "maxEndpointsPerTopic"),
    Column("maxMessageSize", "maxMessageSize"),
    Column("maxRetries", "maxRetries"),
    Column("maxSchedules", "maxSchedules"),
    Column("maxRequestsPerDay", "maxRequestsPerDay"),
    Column("retention", "retention"),
    Column("timeout", "timeout"),
    Column("maxDelay", "maxDelay"),
]


def quota(ctx: typer.Context) -> None:
    """Show the account's quota (v1 `GET /v1/quota`). v2 has no quota endpoint: it enforces limits with 412/429.

    Sizes are bytes, retention/timeout/maxDelay seconds; maxRequestsPerDay 0 or less means unlimited.

    \b
    Example:
      qstash --api v1 quota
    """
    s = settings_from(ctx)
    data = s.client().quota.get()
    known = {c.header for c in FIELDS}
    extra = [Column(k, k) for k in data if k not in known] if isinstance(data, dict) else []
    s.out.record(data, fields=FIELDS + extra)


def register(root: typer.Typer) -> None:
    root.command("quota")(quota)
