"""`qstash config`: show, read and change the settings of a profile (secrets hidden unless asked)."""

from __future__ import annotations

import copy
import os
import re
import sys
from typing import Any

import typer

from qstash_cli.errors import InputError, QstashError
from qstash_cli.output import JSON, Column
from qstash_cli.settings import (
    BUILTIN_PROFILES,
    DEFAULT_PROFILE,
    DEFAULT_URL,
    DIALECTS,
    ENV,
    Settings,
    normalise_region,
    settings_from,
)

app = typer.Typer(
    help="Show and change the config file (profiles of url, token, api, signing keys).", no_args_is_help=True
)

PROFILE_KEYS = ("url", "token", "api", "region", "current_signing_key", "next_signing_key")
SECRET_KEYS = ("token", "current_signing_key", "next_signing_key")
TOP_KEYS = ("default_profile",)
ALL_KEYS = PROFILE_KEYS + TOP_KEYS
DEFAULTS = {"url": DEFAULT_URL, "api": "v2"}
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")


def complete_key(incomplete: str) -> list[str]:
    """Shell completion of KEY."""
    return [k for k in ALL_KEYS if k.startswith(incomplete.replace("-", "_"))]


SHOW_SECRETS = typer.Option(False, "--show-secrets", help="Print tokens and signing keys in full.")


def mask(value: str) -> str:
    """A secret as its first 4 characters (a recognisable prefix such as `sig_`) and `…(hidden)`."""
    return f"{value[:4]}…(hidden)" if len(value) >= 12 else "(hidden)"


def normalise_key(key: str) -> str:
    name = key.strip().lower().replace("-", "_")
    if name not in ALL_KEYS:
        raise InputError(f"unknown config key {key!r}: use one of {', '.join(ALL_KEYS)}")
    return name


def validate_profile_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InputError(f"invalid profile name {name!r}: use only letters, digits, '-', '_' and '.'")
    return name


def loaded(s: Settings) -> dict[str, Any]:
    """The config file's content as Settings read it (read once: one permission warning at most)."""
    return s.config


def profile_source(s: Settings) -> tuple[str, str]:
    """The active profile's name and where it was chosen: flag, env, config (default_profile) or default."""
    if s.opts.profile:
        return s.opts.profile, "flag"
    if os.environ.get("QSTASH_PROFILE"):
        return os.environ["QSTASH_PROFILE"], "env"
    if loaded(s).get("default_profile"):
        return str(loaded(s)["default_profile"]), "config"
    return DEFAULT_PROFILE, "default"


def resolve(s: Settings, key: str) -> tuple[str | None, str]:
    """One setting of the active profile and its source (Settings.resolve: `flag --url`, `env QSTASH_URL`,
    `profile NAME`, `builtin profile dev`, `region US_EAST_1`, `default`, `unset`)."""
    if key == "default_profile":
        stored = loaded(s).get("default_profile")
        return (str(stored), "config default_profile") if stored else (DEFAULT_PROFILE, "default")
    return s.resolve(key)


def shown(key: str, value: str | None, show_secrets: bool) -> str | None:
    return mask(value) if value is not None and key in SECRET_KEYS and not show_secrets else value


@app.command("show")
def show(ctx: typer.Context, show_secrets: bool = SHOW_SECRETS) -> None:
    """Show the resolved settings of the active profile and where each comes from.

    Sources, strongest first: flag (--url, --token, --api, --region, -p), env (QSTASH_URL, QSTASH_TOKEN,
    QSTASH_API, QSTASH_REGION, QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY, QSTASH_PROFILE; with a region
    first US_EAST_1_QSTASH_URL etc.), profile (the config file), builtin (the `dev` profile), region (the
    region's URL), default. A profile named with -p beats the environment. Tokens and signing keys are hidden
    unless --show-secrets.

    \b
    Example:
      qstash config show -p dev
      qstash config show --json
    """
    s = settings_from(ctx)
    s.profile  # noqa: B018 - an unknown profile is an error (exit 2)
    name, name_source = profile_source(s)
    rows = [{"setting": "profile", "value": name, "source": name_source, "from": _profile_origin(name_source)}]
    for key in PROFILE_KEYS:
        value, origin = resolve(s, key)
        kind = origin.split()[0]
        rows.append({"setting": key, "value": shown(key, value, show_secrets), "source": kind, "from": origin})
    if s.out.mode == JSON:
        s.out.json({r["setting"]: {"value": r["value"], "source": r["source"], "from": r["from"]} for r in rows})
        return
    columns = [Column("setting", "setting"), Column("value", "value"), Column("source", "from")]
    s.out.rows(rows, columns, id_key="setting")
    from qstash_cli import config

    s.out.info(f"Config file: {config.config_path()}")
    ignored = s.ignored_env
    if ignored:
        s.out.info(f"Ignored (the -p profile wins): {', '.join(ignored)}")


def _profile_origin(source: str) -> str:
    return {"flag": "flag -p", "env": "env QSTASH_PROFILE", "config": "config default_profile"}.get(source, source)


@app.command("get")
def get(
    ctx: typer.Context,
    key: str = typer.Argument(
        ..., help=f"One of: {', '.join(ALL_KEYS)} ('-' may replace '_').", autocompletion=complete_key
    ),
    show_secrets: bool = SHOW_SECRETS,
) -> None:
    """Print one resolved setting of the active profile (exit 1 when it is not set).

    \b
    Example:
      qstash config get url
      qstash -p ci config get token --show-secrets
    """
    s = settings_from(ctx)
    name = normalise_key(key)
    s.profile  # noqa: B018 - an unknown profile is an error (exit 2)
    value, source = resolve(s, name)
    if value is None:
        raise QstashError(f"{name} is not set in profile {s.profile_name!r}", hint=f"qstash config set {name} VALUE")
    if s.out.mode == JSON:
        kind = source.split()[0]
        s.out.json({"key": name, "value": shown(name, value, show_secrets), "source": kind, "from": source})
    else:
        s.out.line(shown(name, value, show_secrets) or "")


def _check_value(key: str, value: str) -> str:
    from qstash_cli.inputs import validate_url

    value = value.strip()
    if not value:
        raise InputError(f"empty value for {key}")
    if key == "url":
        return validate_url(value, what="API URL").rstrip("/")
    if key == "api":
        if value.lower() not in DIALECTS:
            raise InputError(f"invalid api {value!r}: use v1 or v2")
        return value.lower()
    if key == "default_profile":
        return validate_profile_name(value)
    if key == "region":
        return normalise_region(value).lower().replace("_", "-")
    if any(c.isspace() for c in value) or not value.isascii() or not value.isprintable():
        raise InputError(f"invalid {key}: it must be printable ASCII without spaces")
    return value


def _target_profile(s: Settings) -> str:
    """The profile a write goes to: -p, QSTASH_PROFILE, default_profile, `default` (need not exist yet)."""
    return validate_profile_name(profile_source(s)[0])


@app.command("set")
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(
        ..., help=f"One of: {', '.join(ALL_KEYS)} ('-' may replace '_').", autocompletion=complete_key
    ),
    value: str = typer.Argument(..., help="The value; '-' reads it from stdin (keeps secrets out of shell history)."),
) -> None:
    """Set one key of a profile (-p NAME; created if missing), or the top-level default_profile.

    url must be http(s); api is v1 or v2. For the token prefer `qstash login` (hidden prompt).

    \b
    Example:
      qstash -p staging config set url https://qstash.upstash.io
      qstash config set api v1
      qstash config set default-profile staging
      echo "$SIGNING_KEY" | qstash config set current-signing-key -
    """
    from qstash_cli import config

    s = settings_from(ctx)
    name = normalise_key(key)
    if value == "-":
        value = sys.stdin.readline(65536)  # bounded: a value is one short line
    value = _check_value(name, value)
    data = copy.deepcopy(loaded(s))
    if name in TOP_KEYS:
        data[name] = value
        known = set(data.get("profiles", {})) | set(BUILTIN_PROFILES) | {DEFAULT_PROFILE}
        if value not in known:
            s.out.warn(f"profile {value!r} does not exist yet; create it with `qstash -p {value} login`")
        where = "the config file"
    else:
        profile = _target_profile(s)
        data.setdefault("profiles", {}).setdefault(profile, {})[name] = value
        where = f"profile {profile!r}"
    path = config.save(data)
    text = "(hidden)" if name in SECRET_KEYS else value
    s.out.info(f"Set {name} = {text} in {where} ({path})")
    if name in PROFILE_KEYS and name in ENV and os.environ.get(ENV[name]) and not s.explicit_profile:
        s.out.warn(f"{ENV[name]} is set and takes precedence over the config file (unless -p {profile} is given)")


@app.command("unset")
def unset(
    ctx: typer.Context,
    key: str = typer.Argument(..., help=f"One of: {', '.join(ALL_KEYS)}.", autocompletion=complete_key),
) -> None:
    """Remove one key from a profile (-p NAME), or the top-level default_profile; an emptied profile is removed.

    \b
    Example:
      qstash -p staging config unset token
    """
    from qstash_cli import config

    s = settings_from(ctx)
    name = normalise_key(key)
    data = copy.deepcopy(loaded(s))
    if name in TOP_KEYS:
        table, where = data, "the config file"
    else:
        profile = _target_profile(s)
        table, where = data.get("profiles", {}).get(profile, {}), f"profile {profile!r}"
    if name not in table:
        s.out.info(f"{name} is not set in {where}; nothing to do")
        return
    del table[name]
    if name not in TOP_KEYS and not table:
        del data["profiles"][_target_profile(s)]
        if not data["profiles"]:
            del data["profiles"]
    path = config.save(data)
    s.out.info(f"Removed {name} from {where} ({path})")


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the config file's path (QSTASH_CONFIG overrides it).

    \b
    Example:
      qstash config path
    """
    from qstash_cli import config

    s = settings_from(ctx)
    p = str(config.config_path())
    if s.out.mode == JSON:
        s.out.json({"path": p, "exists": os.path.exists(p)})
    else:
        s.out.line(p)


PROFILE_COLUMNS = [
    Column("profile", "name"),
    Column("active", lambda r: "*" if r["active"] else ""),
    Column("url", "url"),
    Column("api", "api"),
    Column("token", lambda r: "set" if r["token"] else "-"),
    Column("origin", "origin"),
]


@app.command("profiles")
def profiles(ctx: typer.Context) -> None:
    """List the profiles (from the config file and built in), marking the active one. No secrets are shown.

    \b
    Example:
      qstash config profiles
    """
    s = settings_from(ctx)
    stored = loaded(s).get("profiles", {})
    active = profile_source(s)[0]
    rows = []
    for name in sorted(set(stored) | set(BUILTIN_PROFILES) | {DEFAULT_PROFILE}):
        builtin = BUILTIN_PROFILES.get(name, {})
        merged = {**builtin, **stored.get(name, {})}
        if name == DEFAULT_PROFILE and name not in stored and not builtin:
            continue
        origin = "builtin+file" if builtin and name in stored else "builtin" if builtin else "file"
        rows.append(
            {
                "name": name,
                "active": name == active,
                "url": merged.get("url", DEFAULT_URL),
                "api": merged.get("api", "v2"),
                "token": bool(merged.get("token")),
                "origin": origin,
            }
        )
    if active not in {r["name"] for r in rows} and active != DEFAULT_PROFILE:
        s.out.warn(f"the active profile {active!r} does not exist")
    s.out.rows(rows, PROFILE_COLUMNS, id_key="name")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config")
