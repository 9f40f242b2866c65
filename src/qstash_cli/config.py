"""The TOML config file: `[profiles.NAME]` sections in the platformdirs user config dir (0600 file, 0700 dir)."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path
from typing import Any

from qstash_cli.errors import ConfigError

KNOWN_KEYS = ("token", "url", "api", "current_signing_key", "next_signing_key")
MAX_CONFIG_SIZE = 1024 * 1024  # bytes: a config file is a few hundred
SECRET_KEYS = ("token", "current_signing_key", "next_signing_key")


def config_path() -> Path:
    """`$QSTASH_CONFIG` if set, else `<user config dir>/qstash/config.toml`."""
    override = os.environ.get("QSTASH_CONFIG")
    if override:
        try:
            return Path(override).expanduser()
        except RuntimeError:  # `~nosuchuser/x.toml`
            raise ConfigError(
                f"invalid QSTASH_CONFIG {override!r}: no such user's home directory", hint="give an absolute path"
            ) from None
    from platformdirs import user_config_dir

    return Path(user_config_dir("qstash", appauthor=False)) / "config.toml"


def load(path: Path | None = None) -> dict[str, Any]:
    """Read the config; a missing file is an empty config, a corrupt one is a ConfigError."""
    path = path or config_path()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_SIZE + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except ValueError:  # a NUL byte in QSTASH_CONFIG
        raise ConfigError(f"invalid QSTASH_CONFIG {str(path)!r}") from None
    if len(raw) > MAX_CONFIG_SIZE:
        raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_SIZE // 1024} KiB; is it the right file?")
    _warn_if_exposed(path)
    import tomllib

    hint = "fix it, or remove it and run `qstash login`"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", hint=hint) from None
    except RecursionError:
        raise ConfigError(f"config file {path} is not valid TOML: nested too deep", hint=hint) from None
    _check_types(data, path)
    return data


def _check_types(data: dict[str, Any], path: Path) -> None:
    """What the CLI reads from the file has the type it needs; a wrong one is an error naming the key."""
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles] must contain tables like [profiles.default]")
    default = data.get("default_profile")
    if default is not None and (not isinstance(default, str) or not default):
        raise ConfigError(
            f"config file {path}: default_profile must be a profile name (a string), not {_kind(default)}",
            hint='e.g. default_profile = "staging"',
        )
    for name, table in profiles.items():
        for key in KNOWN_KEYS:
            if key in table and not isinstance(table[key], str):
                raise ConfigError(
                    f"config file {path}: profiles.{name}.{key} must be a string, not {_kind(table[key])}",
                    hint=f'e.g. {key} = "..." under [profiles.{name}]',
                )


def _kind(value: Any) -> str:
    return {list: "an array", dict: "a table", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def save(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write the config atomically: directory 0700, file 0600."""
    import secrets

    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    # A new, randomly named file next to the config, created exclusively and never through a link: a symlink planted
    # at a predictable name (config.toml.tmp) cannot make us write the token into its target.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(16):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise ConfigError(f"cannot create a temporary file next to {path}")
    try:
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
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
