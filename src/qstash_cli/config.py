"""The TOML config file: `[profiles.NAME]` sections in the platformdirs user config dir (0600 file, 0700 dir)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

from qstash_cli.errors import ConfigError

KNOWN_KEYS = ("token", "url", "api", "current_signing_key", "next_signing_key")
SECRET_KEYS = ("token", "current_signing_key", "next_signing_key")


def config_path() -> Path:
    """`$QSTASH_CONFIG` if set, else `<user config dir>/qstash/config.toml`."""
    override = os.environ.get("QSTASH_CONFIG")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("qstash", appauthor=False)) / "config.toml"


def load(path: Path | None = None) -> dict[str, Any]:
    """Read the config; a missing file is an empty config, a corrupt one is a ConfigError."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    _warn_if_exposed(path)
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}", hint="fix it, or remove it and run `qstash login`"
        ) from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles] must contain tables like [profiles.default]")
    return data


def save(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write the config atomically: directory 0700, file 0600."""
    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def profile(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The `[profiles.NAME]` table, or None."""
    return data.get("profiles", {}).get(name)


def set_value(name: str, key: str, value: str, path: Path | None = None) -> Path:
    """Set one key of one profile and save."""
    data = load(path)
    data.setdefault("profiles", {}).setdefault(name, {})[key] = value
    return save(data, path)


def _warn_if_exposed(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        sys.stderr.write(
            f"Warning: {path} is readable by other users (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}\n"
        )
