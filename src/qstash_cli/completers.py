"""Shell completion of option and argument values — never a network call on Tab.

Fixed sets (dialects, regions, states, plans), the profiles of the config file, and names (queues, schedules,
topics, flow-control keys) remembered from the last listing of this profile (`qstash queues list` etc. write a small
cache file next to the config file, or under QSTASH_CACHE_DIR).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer

CACHE_FILE = "completion-cache.json"
MAX_NAMES = 500  # per kind and profile
REGION_NAMES = ("eu-central-1", "us-east-1")


def _matching(values: Iterable[str], incomplete: str) -> list[str]:
    return [v for v in dict.fromkeys(values) if v.startswith(incomplete)]


def choices(*values: str) -> Callable[[str], list[str]]:
    """A completer of fixed values (case-insensitive match, the value as written here)."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.lower().startswith(incomplete.lower())]

    return complete


def profiles(incomplete: str) -> list[str]:
    """The config file's profiles and the built-in `dev`."""
    try:
        from qstash_cli import config
        from qstash_cli.settings import BUILTIN_PROFILES

        names = [*config.load().get("profiles", {}), *BUILTIN_PROFILES]
    except Exception:  # a broken config must not break Tab
        names = ["dev"]
    return _matching(sorted(names), incomplete)


def cache_path() -> Path:
    """QSTASH_CACHE_DIR, else next to the config file."""
    override = os.environ.get("QSTASH_CACHE_DIR")
    if override:
        return Path(override).expanduser() / CACHE_FILE
    from qstash_cli import config

    return config.config_path().parent / CACHE_FILE


def _read() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, RuntimeError):
        return {}


def remember(profile: str, kind: str, names: Iterable[Any]) -> None:
    """Store the names a listing showed (best effort: a read-only disk only loses completion)."""
    values = [str(n) for n in names if isinstance(n, str) and n and n.isprintable()][:MAX_NAMES]
    data = _read()
    data.setdefault(profile, {})[kind] = values
    try:
        path = cache_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except (OSError, RuntimeError):
        pass


def names(kind: str) -> Callable[..., list[str]]:
    """A completer of the `kind` names remembered for the active profile."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            from qstash_cli.settings import settings_from

            profile = settings_from(ctx).profile_name
        except Exception:
            profile = "default"
        return _matching(_read().get(profile, {}).get(kind, []), incomplete)

    return complete


def remember_rows(s: Any, kind: str, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """`remember` the `key` of each row for the settings' profile; returns the rows."""
    with contextlib.suppress(Exception):  # completion is a convenience, never a failure
        if isinstance(rows, list):
            remember(s.profile_name, kind, (row.get(key) for row in rows if isinstance(row, dict)))
    return rows
