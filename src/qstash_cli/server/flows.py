"""Flow control (`Upstash-Flow-Control-Key` / `-Value`): one `Flow` per key with its limits — `parallelism`
deliveries in flight, `rate` deliveries started per `period` seconds (default 1) — its wait list, pause and pins
(workflow-protocol.md 4.4). The settings are stored (`flow_control` table) so a restart keeps them; the counters
live in memory."""

from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

Conn = sqlite3.Connection
DEFAULT_PERIOD = 1  # seconds
SETTINGS = ("parallelism", "rate", "period", "paused", "pinnedParallelism", "pinnedRate")


@dataclass
class Flow:
    """A flow-control key: its limits (None: unlimited) and its state."""

    key: str
    parallelism: int | None = None
    rate: int | None = None
    period: int = DEFAULT_PERIOD
    paused: bool = False
    pinned_parallelism: bool = False
    pinned_rate: bool = False
    active: int = 0
    count: int = 0  # deliveries started in the current period
    period_start: int = 0  # ms
    waiting: collections.deque = field(default_factory=collections.deque)
    timer: asyncio.TimerHandle | None = None

    def configure(self, parallelism: int | None, rate: int | None, period: int | None) -> bool:
        """A message's settings (ignored where pinned); whether anything changed."""
        before = self.settings()
        if not self.pinned_parallelism:
            self.parallelism = max(1, parallelism) if parallelism else None
        if not self.pinned_rate:
            self.rate = max(1, rate) if rate else None
            self.period = max(1, period or DEFAULT_PERIOD)
        return self.settings() != before

    def pin(self, parallelism: int | None, rate: int | None, period: int | None, now: int) -> None:
        """Fix the given limits until unpinned; the rate period starts again."""
        if parallelism is not None:
            self.parallelism, self.pinned_parallelism = max(1, parallelism), True
        if rate is not None or period is not None:
            if rate is not None:
                self.rate = max(1, rate)
            if period is not None:
                self.period = max(1, period)
            self.pinned_rate = True
        self.reset_rate(now)

    def reset_rate(self, now: int) -> None:
        self.count, self.period_start = 0, now

    def room(self) -> bool:
        """Whether one more delivery may start as far as pause and parallelism go."""
        return not self.paused and (self.parallelism is None or self.active < self.parallelism)

    def take(self, now: int) -> int:
        """Count one delivery starting now: 0 when the rate allows it, else the ms until the next period."""
        if now - self.period_start >= self.period * 1000:
            self.reset_rate(now)
        if self.rate is not None and self.count >= self.rate:
            return self.period_start + self.period * 1000 - now
        self.count += 1
        return 0

    def settings(self) -> dict[str, Any]:
        return {
            "parallelism": self.parallelism,
            "rate": self.rate,
            "period": self.period,
            "paused": self.paused,
            "pinnedParallelism": self.pinned_parallelism,
            "pinnedRate": self.pinned_rate,
        }

    def entry(self, now: int) -> dict[str, Any]:
        """`GET /v2/flowControl/{key}`."""
        current = now - self.period_start < self.period * 1000
        return {
            "flowControlKey": self.key,
            "waitListSize": len(self.waiting),
            "parallelismMax": self.parallelism or 0,
            "parallelismCount": self.active,
            "rateMax": self.rate or 0,
            "rateCount": self.count if current else 0,
            "ratePeriod": self.period,
            "ratePeriodStart": (self.period_start if current else now) // 1000,
            "isPaused": self.paused,
            "isPinnedParallelism": self.pinned_parallelism,
            "isPinnedRate": self.pinned_rate,
        }

    @classmethod
    def stored(cls, key: str, settings: dict[str, Any]) -> Flow:
        return cls(
            key,
            parallelism=settings.get("parallelism"),
            rate=settings.get("rate"),
            period=settings.get("period") or DEFAULT_PERIOD,
            paused=bool(settings.get("paused")),
            pinned_parallelism=bool(settings.get("pinnedParallelism")),
            pinned_rate=bool(settings.get("pinnedRate")),
        )


# -- database jobs ----------------------------------------------------------------------------------------------


def load(conn: Conn) -> list[tuple[str, dict[str, Any]]]:
    """Every stored key and its settings."""
    return [(r[0], json.loads(r[1])) for r in conn.execute("SELECT key, settings FROM flow_control ORDER BY key")]


def save(conn: Conn, key: str, settings: dict[str, Any]) -> None:
    conn.execute("INSERT OR REPLACE INTO flow_control (key, settings) VALUES (?, ?)", (key, json.dumps(settings)))
