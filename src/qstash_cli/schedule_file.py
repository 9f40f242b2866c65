"""`qstash schedules apply FILE.toml`: declarative schedules — parse the file, diff it against the server, plan.

File format (every entry needs id, destination and cron)::

    [[schedule]]
    id = "nightly-report"                  # the Upstash-Schedule-Id: how entries and server schedules are matched
    destination = "https://example.com/report"
    cron = "0 3 * * *"                     # CRON_TZ=Zone prefix allowed
    body = '{"kind":"nightly"}'
    method = "POST"
    headers = { "Content-Type" = "application/json", "X-Team" = "data" }
    retries = 3
    delay = "10s"
    timeout = "30s"
    callback = "https://example.com/cb"
    failure_callback = "https://example.com/failed"
    queue = "reports"
    retry_delay = "1000 * pow(2, retried)"  # and: flow_control_key, rate, parallelism, period, redact,
    flow_control_key = "reports"            # callback_method/_timeout/_retries/_retry_delay/_delay/_headers,
    rate = 10                               # the same failure_callback_… keys,
    upstash_headers = { "Upstash-X" = "v" } # and any other QStash header, sent as given

A schedule is *unchanged* when destination, cron, body, method, forwarded headers, delay, callback,
failure_callback and queue equal the server's, and retries / timeout / Content-Type equal it where the file sets
them (the server fills in its own defaults otherwise); retry_delay and the flow-control settings are compared where
the file sets them. Redaction, callback settings and upstash_headers are sent on create and update but not compared
(the server does not report them all): change the schedule with `qstash schedules create --schedule-id`.
"""

from __future__ import annotations

import base64
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from qstash_cli import inputs, qstash_headers
from qstash_cli.errors import InputError, QstashError
from qstash_cli.publishing import Message

KEYS = frozenset(
    [
        "id",
        "destination",
        "cron",
        "body",
        "method",
        "headers",
        "retries",
        "delay",
        "timeout",
        "callback",
        "failure_callback",
        "queue",
        *qstash_headers.file_keys(camel=False),
        "upstash_headers",
    ]
)
SETTING_KEYS = qstash_headers.file_keys(camel=False)
CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"


@dataclass
class Desired:
    """One validated `[[schedule]]` entry."""

    id: str
    message: Message
    explicit: frozenset[str] = field(default_factory=frozenset)  # optional keys the file sets

    @property
    def body_text(self) -> str:
        return (self.message.body or b"").decode()


@dataclass
class Step:
    action: str
    id: str
    cron: str
    destination: str
    changes: list[str] = field(default_factory=list)
    desired: Desired | None = None

    def row(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "scheduleId": self.id,
            "cron": self.cron,
            "destination": self.destination,
            "changes": self.changes,
        }


# -- parsing ----------------------------------------------------------------------------------------------------


def load(path: str) -> list[Desired]:
    """Read and validate FILE.toml; any problem is one InputError naming the entry."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as fh:
            raw = inputs.read_bounded(fh, f"schedule file {path}")
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"invalid TOML in {path}: it is not UTF-8 text") from None
    except RecursionError:
        raise InputError(f"invalid TOML in {path}: nested too deep") from None
    except FileNotFoundError:
        raise InputError(f"schedule file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read schedule file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML in {path}: {exc}") from None
    unknown_top = set(doc) - {"schedule"}
    if unknown_top:
        raise InputError(f"{path}: unknown top-level key {sorted(unknown_top)[0]!r}; use [[schedule]] tables")
    entries = doc.get("schedule", [])
    if not isinstance(entries, list):
        raise InputError(f"{path}: 'schedule' must be an array of tables ([[schedule]])")
    desired: list[Desired] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        label = f"{path}: schedule #{index}" + (f" ({entry.get('id')})" if isinstance(entry, dict) else "")
        try:
            item = parse_entry(entry)
        except QstashError as exc:
            raise InputError(f"{label}: {exc.message}") from None
        if item.id in seen:
            raise InputError(f"{label}: duplicate id {item.id!r}")
        seen.add(item.id)
        desired.append(item)
    return desired


def parse_entry(entry: Any) -> Desired:
    if not isinstance(entry, dict):
        raise InputError("expected a table")
    unknown = set(entry) - KEYS
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})")
    for key in ("id", "destination", "cron"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise InputError(f"{key!r} is required (a string)")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict):
        raise InputError("'headers' must be a table of name = value")
    content_type = None
    forward = []
    for name, value in headers.items():
        if isinstance(value, (dict, list)):
            raise InputError(f"header {name!r} must be a string")
        name, text = inputs.parse_header(f"{name}: {value}")
        if name.lower() == "content-type":
            content_type = text
        elif name.lower().startswith("upstash-"):
            raise InputError(f"header {name!r}: set QStash options with their keys (retries, delay, ...)")
        else:
            forward.append((name, text))
    for key in ("body", "method", "delay", "timeout", "callback", "failure_callback", "queue"):
        if key in entry and not isinstance(entry[key], str):
            raise InputError(f"{key!r} must be a string")
    upstash = entry.get("upstash_headers", {})
    if not isinstance(upstash, dict):
        raise InputError("'upstash_headers' must be a table of name = value")
    values = qstash_headers.settings_from_file(entry, SETTING_KEYS)
    values["upstash_header"] = [f"{n}: {v}" for n, v in upstash.items()]
    retries = entry.get("retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)):
        raise InputError("'retries' must be an integer")
    msg = Message(
        destination=inputs.validate_destination(entry["destination"]),
        body=entry["body"].encode() if "body" in entry else None,
        content_type=content_type,
        method=inputs.validate_method(entry["method"]) if "method" in entry else None,
        forward=forward,
        delay=inputs.validate_delay(inputs.parse_duration(entry["delay"], what="delay"), what="delay")
        if "delay" in entry
        else None,
        retries=inputs.validate_retries(retries) if retries is not None else None,
        timeout=inputs.parse_duration(entry["timeout"], what="timeout") if "timeout" in entry else None,
        callback=inputs.validate_url(entry["callback"], what="callback URL") if "callback" in entry else None,
        failure_callback=inputs.validate_url(entry["failure_callback"], what="failure_callback URL")
        if "failure_callback" in entry
        else None,
        queue=inputs.validate_id(entry["queue"], what="queue name") if "queue" in entry else None,
        cron=inputs.validate_cron(entry["cron"]),
        schedule_id=inputs.validate_id(entry["id"], what="schedule id"),
        settings=qstash_headers.settings_headers(values),
        setting_values=values,
        raw_headers=qstash_headers.escape_hatch(values),
    )
    compared = ("retries", "timeout", "retry_delay", "flow_control_key", "rate", "parallelism", "period")
    explicit = frozenset(k for k in compared if k in entry) | ({"content_type"} if content_type else frozenset())
    return Desired(entry["id"], msg, frozenset(explicit))


# -- diffing ----------------------------------------------------------------------------------------------------


def differences(want: Desired, have: dict[str, Any]) -> list[str]:
    """The names of the settings where the server's schedule differs from the file's entry."""
    m = want.message
    changes = []
    if str(have.get("destination", "")) != m.destination:
        changes.append("destination")
    if " ".join(str(have.get("cron", "")).split()) != m.cron:
        changes.append("cron")
    if _server_body(have) != want.body_text:
        changes.append("body")
    if str(have.get("method") or "POST").upper() != (m.method or "POST"):
        changes.append("method")
    server_headers = _server_headers(have)
    server_ct = server_headers.pop("content-type", None)
    if server_headers != {name.lower(): value for name, value in m.forward}:
        changes.append("headers")
    if "content_type" in want.explicit and server_ct != m.content_type:
        changes.append("content-type")
    if _seconds(have.get("delay")) != (m.delay or 0):
        changes.append("delay")
    if "retries" in want.explicit and _int(have.get("retries")) != m.retries:
        changes.append("retries")
    if "timeout" in want.explicit and _seconds(have.get("timeout")) != m.timeout:
        changes.append("timeout")
    if (have.get("callback") or None) != m.callback:
        changes.append("callback")
    if (have.get("failureCallback") or None) != m.failure_callback:
        changes.append("failure_callback")
    if (have.get("queueName") or None) != m.queue:
        changes.append("queue")
    changes += _setting_differences(want, have)
    return changes


def _setting_differences(want: Desired, have: dict[str, Any]) -> list[str]:
    """retry_delay and flow control, where the file sets them, against the schedule's reported fields."""
    v = want.message.setting_values
    changes = []
    if "retry_delay" in want.explicit and " ".join(str(have.get("retryDelayExpression") or "").split()) != (
        want.message.settings.get("Upstash-Retry-Delay")
    ):
        changes.append("retry_delay")
    if "flow_control_key" in want.explicit and (have.get("flowControlKey") or None) != v.get("flow_control_key"):
        changes.append("flow_control_key")
    for key in ("rate", "parallelism"):
        if key in want.explicit and _int(have.get(key)) != v.get(key):
            changes.append(key)
    if "period" in want.explicit and _seconds(have.get("period")) != qstash_headers.duration_seconds(v.get("period")):
        changes.append("period")
    return changes


def plan(
    desired: list[Desired], server: list[dict[str, Any]], *, prune: bool, prune_match: str | None = None
) -> list[Step]:
    """create / update / unchanged for every entry (file order), then delete for unlisted server schedules."""
    by_id = {str(s.get("scheduleId")): s for s in server}
    steps = []
    for want in desired:
        m = want.message
        have = by_id.get(want.id)
        if have is None:
            steps.append(Step(CREATE, want.id, m.cron or "", m.destination, desired=want))
            continue
        changes = differences(want, have)
        steps.append(Step(UPDATE if changes else UNCHANGED, want.id, m.cron or "", m.destination, changes, want))
    if prune:
        wanted = {d.id for d in desired}
        for sid, have in by_id.items():
            if sid in wanted or (prune_match and not fnmatch.fnmatchcase(sid, prune_match)):
                continue
            steps.append(Step(DELETE, sid, str(have.get("cron", "")), str(have.get("destination", ""))))
    return steps


def _server_body(have: dict[str, Any]) -> str:
    if have.get("body") is not None:
        return str(have["body"])
    if have.get("bodyBase64"):
        try:
            return base64.b64decode(have["bodyBase64"]).decode("utf-8", "replace")
        except ValueError:
            return str(have["bodyBase64"])
    return ""


def _server_headers(have: dict[str, Any]) -> dict[str, str]:
    """The schedule's delivered headers, lower-cased, `Upstash-Forward-` stripped, QStash's own headers left out."""
    out = {}
    for name, value in (have.get("header") or have.get("headers") or {}).items():
        lower = name.lower()
        if lower.startswith("upstash-forward-"):
            lower = lower[len("upstash-forward-") :]
        elif lower.startswith("upstash-"):
            continue
        out[lower] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def _seconds(value: Any) -> int:
    """A server duration (seconds as a number, or a `30s`-style string) in seconds; missing = 0."""
    if value in (None, ""):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return inputs.parse_duration(str(value))
    except InputError:
        return -1


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
