"""Plan limits enforced by `qstash dev --quota` (API reference D.5; figures from the public pricing pages)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MB = 1024 * 1024
DAY = 86400


@dataclass(frozen=True)
class Quota:
    """Limits of one plan. Oversize bodies get 413, other limits 412."""

    name: str
    max_message_size: int
    max_retries: int
    max_schedules: int
    max_topics: int
    max_endpoints_per_topic: int
    max_queues: int
    max_parallelism: int
    max_delay: int  # seconds
    timeout: int  # seconds, outgoing HTTP
    retention: int  # seconds

    def v1(self) -> dict[str, int]:
        """The v1 `GET /v1/quota` shape."""
        return {
            "maxTopics": self.max_topics,
            "maxEndpointsPerTopic": self.max_endpoints_per_topic,
            "maxMessageSize": self.max_message_size,
            "maxRetries": self.max_retries,
            "maxSchedules": self.max_schedules,
            "maxRequestsPerDay": 0,
            "retention": self.retention,
            "timeout": self.timeout,
            "maxDelay": self.max_delay,
        }

    def as_dict(self) -> dict:
        return asdict(self)


PLANS = {
    "free": Quota("free", 1 * MB, 3, 10, 10, 100, 10, 10, 7 * DAY, 15 * 60, 3 * DAY),
    "payg": Quota("payg", 10 * MB, 5, 1000, 1000, 1000, 1000, 100, 365 * DAY, 2 * 3600, 7 * DAY),
    "pro": Quota("pro", 50 * MB, 20, 10000, 10000, 10000, 10000, 1000, 365 * DAY, 2 * 3600, 30 * DAY),
}


def plan(name: str) -> Quota:
    """The named plan (free, payg, pro)."""
    try:
        return PLANS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown quota plan {name!r}: choose one of {', '.join(PLANS)}") from None
