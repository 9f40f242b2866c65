"""Turn a publish request (headers, `upstash-*` query parameters, body) into stored messages (reference A.3, B.2)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from qstash_cli.server import redact
from qstash_cli.server.ids import new_id
from qstash_cli.server.models import MessageSpec, Target, label_column
from qstash_cli.server.parse import BadValue, check_retry_delay, duration, split_cron
from qstash_cli.server.quota import Quota

DEFAULT_RETRIES = 3
DEFAULT_PERIOD = 1  # seconds: a flow-control rate counts per second unless a period is given
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,200}$")
_HOP = {
    "host",
    "authorization",
    "content-length",
    "connection",
    "accept-encoding",
    "transfer-encoding",
    "keep-alive",
    "user-agent",
    "expect",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "accept",
}
_CALLBACK_SETTINGS = ("method", "timeout", "retries", "retry-delay", "delay")


class LimitError(Exception):
    """A plan limit was exceeded (HTTP 412)."""


def title(name: str) -> str:
    """`my-header` → `My-Header`."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def is_url(destination: str) -> bool:
    return destination.startswith(("http://", "https://"))


@functools.lru_cache(maxsize=1024)
def url_parts(url: str) -> tuple[str, str, int | None]:
    """(scheme, lower-case host, port — the scheme's default when none, None when not a number) of a URL, taken
    apart once: publishes go to the same few URLs again and again. Raises ValueError (`urlsplit`'s)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    return parts.scheme, parts.hostname or "", port


def check_url(url: str, what: str = "destination url") -> str:
    """Validate an http(s) URL."""
    try:
        scheme, host, _ = url_parts(url)
    except ValueError as exc:
        raise BadValue(f"invalid {what}: {exc}") from exc
    if scheme not in ("http", "https"):
        raise BadValue(f"invalid {what}: endpoint has invalid scheme, add http:// or https://")
    if not host or _SPACE.search(url):
        raise BadValue(f"invalid {what}: {url!r}")
    return url


_SPACE = re.compile(r"\s")


def check_name(name: str, what: str) -> str:
    if not NAME_RE.match(name or ""):
        raise BadValue(f"invalid {what} {name!r}: use letters, digits, '-', '_' and '.'")
    return name


def header_bag(raw: list[tuple[bytes, bytes]], query: Mapping[str, str]) -> dict[str, str]:
    """Lower-case header map; `upstash-*` query parameters fill in what the headers lack (reference B.0)."""
    bag: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        bag[name] = f"{bag[name]}, {text}" if name in bag and name.startswith("upstash-forward-") else text
    for key, value in query.items():
        name = key.lower()
        if name.startswith("upstash-") and name not in bag:
            bag[name] = value
    return bag


def _int(bag: Mapping[str, str], name: str) -> int | None:
    raw = bag.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise BadValue(f"invalid {title(name)} header {raw!r}: want an integer") from None


def _bool(bag: Mapping[str, str], name: str) -> bool:
    return bag.get(name, "").strip().lower() in ("true", "1", "yes")


@dataclass
class Config:
    """Publish settings parsed from one request."""

    meta: dict[str, Any]
    max_retries: int
    delay: float
    not_before: int | None  # ms
    dedup_id: str | None
    content_dedup: bool
    cron: str | None
    schedule_id: str | None
    queue_name: str | None

    def first_attempt(self, now: int) -> int:
        return self.not_before if self.not_before is not None else now + int(self.delay * 1000)


def _callback_settings(bag: Mapping[str, str], prefix: str, quota: Quota) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if prefix + "method" in bag:
        method = bag[prefix + "method"].upper()
        if method not in METHODS:
            raise BadValue(f"invalid callback method {method!r}")
        out["method"] = method
    if prefix + "timeout" in bag:
        out["timeout"] = min(duration(bag[prefix + "timeout"], name="timeout"), quota.timeout)
    retries = _int(bag, prefix + "retries")
    if retries is not None:
        out["retries"] = _retries(retries, quota)
    if prefix + "delay" in bag:
        out["delay"] = duration(bag[prefix + "delay"], name="delay")
    if prefix + "retry-delay" in bag:
        check_retry_delay(bag[prefix + "retry-delay"])
        out["retryDelayExpression"] = bag[prefix + "retry-delay"]
    return out


def _callback_header(into: dict[str, list[str]], rest: str, value: str) -> None:
    """`Upstash-Callback-<rest>` configures the callback as `Upstash-<rest>` configures a message: the workflow and
    feature-set settings keep their `Upstash-` names; the callback's own failure callback is not delivered."""
    if rest.startswith("failure-callback"):
        return
    into[title("upstash-" + rest if rest.startswith(("workflow-", "feature-set")) else rest)] = [value]


def _retries(value: int, quota: Quota) -> int:
    if value < 0:
        raise BadValue("Upstash-Retries must not be negative")
    if value > quota.max_retries:
        raise LimitError(f"retries {value} exceed the {quota.name} plan's maximum of {quota.max_retries}")
    return value


def parse_config(bag: Mapping[str, str], *, quota: Quota, caller_ip: str, api: str, now: int) -> Config:
    """Validate every publish header; raise BadValue (400) or LimitError (412)."""
    method = bag.get("upstash-method", "POST").strip().upper()
    if method not in METHODS:
        raise BadValue(f"invalid Upstash-Method {method!r}")
    header: dict[str, list[str]] = {}
    if bag.get("content-type"):
        header["Content-Type"] = [bag["content-type"]]
    forward_all = _bool(bag, "upstash-header-forward")
    callback_header: dict[str, list[str]] = {}
    failure_header: dict[str, list[str]] = {}
    for name, value in bag.items():
        if name.startswith("upstash-forward-") and len(name) > 16:
            header[title(name[16:])] = [value]
        elif name.startswith("upstash-callback-forward-") and len(name) > 25:
            callback_header[title(name[25:])] = [value]
        elif name.startswith("upstash-failure-callback-forward-") and len(name) > 33:
            failure_header[title(name[33:])] = [value]
        elif name.startswith("upstash-failure-callback-") and name[25:] not in _CALLBACK_SETTINGS:
            _callback_header(failure_header, name[25:], value)
        elif name.startswith("upstash-callback-") and name[17:] not in _CALLBACK_SETTINGS:
            _callback_header(callback_header, name[17:], value)
        elif forward_all and not name.startswith("upstash-") and name not in _HOP and name != "content-type":
            header[title(name)] = [value]
    meta: dict[str, Any] = {"method": method, "header": header, "callerIP": caller_ip, "api": api}
    if "upstash-timeout" in bag:
        meta["timeout"] = min(duration(bag["upstash-timeout"], name="Upstash-Timeout"), quota.timeout)
    retries = _int(bag, "upstash-retries")
    max_retries = _retries(retries, quota) if retries is not None else min(DEFAULT_RETRIES, quota.max_retries)
    if bag.get("upstash-retry-delay"):
        check_retry_delay(bag["upstash-retry-delay"])
        meta["retryDelayExpression"] = bag["upstash-retry-delay"]
    for kind, key in (("callback", "upstash-callback"), ("failureCallback", "upstash-failure-callback")):
        if bag.get(key):
            meta[kind] = check_url(bag[key].strip(), f"{title(key)} url")
            settings = _callback_settings(bag, key + "-", quota)
            if settings:
                meta[kind + "Settings"] = settings
    if callback_header:
        meta["callbackHeader"] = callback_header
    if failure_header:
        meta["failureCallbackHeader"] = failure_header
    delay = duration(bag["upstash-delay"], name="Upstash-Delay") if bag.get("upstash-delay") else 0.0
    not_before = _int(bag, "upstash-not-before")
    if not_before is not None and not_before < 0:
        raise BadValue("Upstash-Not-Before must be a unix timestamp in seconds")
    wait = (not_before - now / 1000) if not_before is not None else delay
    if wait > quota.max_delay:
        raise LimitError(f"delay exceeds the {quota.name} plan's maximum of {quota.max_delay}s")
    if delay:
        meta["delay"] = delay
    if bag.get("upstash-label"):
        labels = [x.strip() for x in bag["upstash-label"].split(",") if x.strip()]
        if labels:
            meta["label"], meta["labels"] = labels[0], labels
    if bag.get("upstash-redact-fields"):
        meta["redact"] = redact.parse(bag["upstash-redact-fields"])
    if bag.get("upstash-flow-control-key"):
        meta["flowControlKey"] = bag["upstash-flow-control-key"]
        for part in bag.get("upstash-flow-control-value", "").split(","):
            key, _, value = part.strip().partition("=")
            if key in ("parallelism", "rate", "ratePerSecond"):
                meta["rate" if key == "ratePerSecond" else key] = _int({key: value}, key)
            elif key == "period":
                meta["period"] = int(duration(value, name="period"))
        meta.setdefault("period", DEFAULT_PERIOD)
    dedup_id = bag.get("upstash-deduplication-id") or None
    if dedup_id is not None and (":" in dedup_id or any(c.isspace() for c in dedup_id)):
        raise BadValue("Upstash-Deduplication-Id must not contain ':' or whitespace")
    cron = bag.get("upstash-cron") or None
    if cron is not None:
        split_cron(cron)
    schedule_id = bag.get("upstash-schedule-id") or None
    if schedule_id is not None:
        check_name(schedule_id, "schedule id")
    queue_name = bag.get("upstash-queue-name") or None
    if queue_name is not None:
        check_name(queue_name, "queue name")
    return Config(
        meta=meta,
        max_retries=max_retries,
        delay=delay,
        not_before=not_before * 1000 if not_before is not None else None,
        dedup_id=dedup_id,
        content_dedup=_bool(bag, "upstash-content-based-deduplication"),
        cron=cron,
        schedule_id=schedule_id,
        queue_name=queue_name,
    )


def settings_bag(meta: dict[str, Any], max_retries: int) -> dict[str, str]:
    """`parse_config` undone: the publish headers that give a message's settings again (a DLQ retry republishes a
    message with its own headers, callbacks, retries, timeout, retry delay, labels, flow control and redaction)."""
    bag = {"upstash-method": meta.get("method", "POST"), "upstash-retries": str(max_retries)}
    for name, values in meta.get("header", {}).items():
        low = name.lower()
        bag["content-type" if low == "content-type" else "upstash-forward-" + low] = ", ".join(values)
    if meta.get("timeout"):
        bag["upstash-timeout"] = str(float(meta["timeout"]))
    if meta.get("retryDelayExpression"):
        bag["upstash-retry-delay"] = meta["retryDelayExpression"]
    for kind, prefix in (("callback", "upstash-callback"), ("failureCallback", "upstash-failure-callback")):
        if not meta.get(kind):
            continue
        bag[prefix] = meta[kind]
        settings = meta.get(kind + "Settings", {})
        for key, name in (("method", "method"), ("retries", "retries"), ("retryDelayExpression", "retry-delay")):
            if key in settings:
                bag[f"{prefix}-{name}"] = str(settings[key])
        for key in ("timeout", "delay"):
            if key in settings:
                bag[f"{prefix}-{key}"] = str(float(settings[key]))
        for name, values in meta.get(kind + "Header", {}).items():
            low = name.lower()
            own = low.startswith(("upstash-workflow-", "upstash-feature-set"))
            bag[f"{prefix}-{low[8:]}" if own else f"{prefix}-forward-{low}"] = ", ".join(values)
    if meta.get("labels"):
        bag["upstash-label"] = ",".join(meta["labels"])
    if meta.get("flowControlKey"):
        bag["upstash-flow-control-key"] = meta["flowControlKey"]
        parts = [f"{k}={meta[k]}" for k in ("parallelism", "rate") if meta.get(k) is not None]
        bag["upstash-flow-control-value"] = ", ".join([*parts, f"period={meta.get('period', DEFAULT_PERIOD)}s"])
    if meta.get("redact"):
        bag["upstash-redact-fields"] = redact.fields(meta["redact"])
    return bag


def dedup_key(cfg: Config, bag: Mapping[str, str], destination: str, body: bytes) -> str | None:
    """`id:<id>` for an explicit dedup id; `cb:<sha256>` over destination, body, content type and the
    Upstash/forwarded headers for content-based dedup; else None."""
    if cfg.dedup_id:
        return "id:" + cfg.dedup_id
    if not cfg.content_dedup:
        return None
    digest = hashlib.sha256()
    digest.update(destination.encode() + b"\0" + body + b"\0" + bag.get("content-type", "").encode())
    for name in sorted(bag):
        if name.startswith("upstash-") and name != "upstash-content-based-deduplication":
            digest.update(f"\0{name}={bag[name]}".encode())
    return "cb:" + digest.hexdigest()


def make_specs(
    cfg_meta: dict[str, Any],
    body: bytes,
    *,
    targets: list[Target],
    per_target: bool,
    max_retries: int,
    first_attempt: int,
    now: int,
    topic: dict[str, Any] | None = None,
    queue_name: str | None = None,
    schedule_id: str | None = None,
) -> list[MessageSpec]:
    """One message per target (v2 URL groups) or one message with one task per target (URLs, v1 topics)."""
    groups = [[t] for t in targets] if per_target else [targets]
    specs = []
    for group in groups:
        meta = dict(cfg_meta)
        meta["notBefore"] = first_attempt
        if topic is not None:
            meta["topicId"] = topic["id"]
        if queue_name:
            meta["queueName"] = queue_name
        specs.append(
            MessageSpec(
                id=new_id("msg"),
                created_at=now,
                not_before=first_attempt,
                max_retries=max_retries,
                meta=meta,
                body=body,
                targets=group,
                topic_name=topic["name"] if topic is not None else None,
                queue_name=queue_name,
                schedule_id=schedule_id,
                label=label_column(meta),
            )
        )
    return specs
