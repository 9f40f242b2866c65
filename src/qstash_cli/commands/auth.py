"""`qstash whoami` / `qstash auth status` (which profile, URL, region, token source — never the token), `qstash
logout` / `qstash auth logout` (remove a profile's token)."""

from __future__ import annotations

import copy
import os
from typing import Any

import typer

from qstash_cli.errors import AuthError, NetworkError
from qstash_cli.output import Column
from qstash_cli.settings import Settings, settings_from

app = typer.Typer(help="Authentication: status and logout (log in with `qstash login`).", no_args_is_help=True)


def _with(key: str, source: str) -> Any:
    return lambda r: f"{r[key]} ({r[source]})" if r.get(key) else None


FIELDS = [
    Column("profile", _with("profile", "profileSource")),
    Column("url", _with("url", "urlSource")),
    Column("region", _with("region", "regionSource")),
    Column("api", "api"),
    Column("token", lambda r: f"set ({r['tokenSource']})" if r.get("tokenSource") else "not set"),
    Column("status", "status"),
    Column("ignored env", lambda r: ", ".join(r["ignoredEnv"]) if r.get("ignoredEnv") else None),
]


def status_of(s: Settings, *, check: bool) -> dict[str, Any]:
    """Where each connection setting comes from; with `check`, whether the token is accepted (`GET /v2/keys`)."""
    from qstash_cli.commands.config_cmd import profile_source

    s.profile  # noqa: B018 - an unknown profile is an error (exit 2)
    name, name_source = profile_source(s)
    url, url_from = s.resolve("url")
    token, token_from = s.resolve("token")
    region, region_from = s.resolve("region")
    data: dict[str, Any] = {
        "profile": name,
        "profileSource": name_source,
        "url": url,
        "urlSource": url_from,
        "region": region,
        "regionSource": region_from if region else None,
        "api": s.resolve("api")[0],
        "tokenSource": token_from if token else None,
        "status": "not checked",
    }
    if s.ignored_env:
        data["ignoredEnv"] = s.ignored_env
    if check and token:
        try:
            s.client().keys.get()
            data["status"] = "token accepted"
        except AuthError as exc:
            data["status"] = f"token rejected ({exc.message})"
        except NetworkError as exc:
            data["status"] = f"unreachable ({exc.message})"
    elif check:
        data["status"] = "no token: run `qstash login`"
    return data


def _show(s: Settings, data: dict[str, Any]) -> None:
    fields = [f for f in FIELDS if f.raw(data) is not None]
    s.out.record(data, id_key="profile", fields=fields)
    if data["status"].startswith(("token rejected", "no token")):
        raise AuthError(f"profile {data['profile']!r}: {data['status']}")
    if data["status"].startswith("unreachable"):
        raise NetworkError(f"profile {data['profile']!r}: {data['status']}")


def whoami(
    ctx: typer.Context,
    check: bool = typer.Option(False, "--check", help="Also check the token with one request (GET /v2/keys)."),
) -> None:
    """Show which profile, URL, region and token source the next command would use (never the token).

    Exit 4 when --check finds no token or a rejected one, 1 when the server is unreachable.

    \b
    Example:
      qstash whoami
      qstash -p prod whoami --check --json
    """
    s = settings_from(ctx)
    _show(s, status_of(s, check=check))


@app.command("status")
def status(
    ctx: typer.Context,
    offline: bool = typer.Option(False, "--offline", help="Do not check the token (no request)."),
) -> None:
    """Show the active profile, URL, region and token source, and check the token (GET /v2/keys).

    \b
    Example:
      qstash auth status
      qstash -p dev auth status --offline
    """
    s = settings_from(ctx)
    _show(s, status_of(s, check=not offline))


def logout(ctx: typer.Context) -> None:
    """Remove the token of the active profile (-p NAME) from the config file; its other settings stay.

    \b
    Example:
      qstash -p prod logout
    """
    from qstash_cli import config
    from qstash_cli.commands.config_cmd import _target_profile, loaded

    s = settings_from(ctx)
    profile = _target_profile(s)
    data = copy.deepcopy(loaded(s))
    table = data.get("profiles", {}).get(profile)
    if not table or "token" not in table:
        s.out.info(f"profile {profile!r} has no stored token; nothing to do")
    else:
        del table["token"]
        if not table:
            del data["profiles"][profile]
        path = config.save(data)
        s.out.info(f"Logged out: removed the token of profile {profile!r} from {path}")
    if os.environ.get("QSTASH_TOKEN"):
        s.out.warn("QSTASH_TOKEN is still set in this environment (unset QSTASH_TOKEN)")
    s.out.record({"profile": profile, "token": "removed"}, id_key="profile")


app.command("logout")(logout)


def register(root: typer.Typer) -> None:
    root.command("whoami")(whoami)
    root.command("logout")(logout)
    root.add_typer(app, name="auth")
