"""`qstash login`: store a token in a profile (hidden prompt, or `--with-token` from stdin), checked first."""

from __future__ import annotations

import copy
import os
import sys

import typer

from qstash_cli.errors import AuthError, InputError, NetworkError
from qstash_cli.output import JSON
from qstash_cli.settings import DIALECTS, ENV, Settings, settings_from

PIPE_HINT = 'pipe it in: echo "$QSTASH_TOKEN" | qstash login --with-token'


def _read_token(s: Settings, with_token: bool) -> str:
    if with_token:
        raw = sys.stdin.read(65536)  # bounded: a token is one short line
        source = "stdin"
    elif s.opts.token:
        raw, source = s.opts.token, "--token"
    elif sys.stdin.isatty():
        raw = typer.prompt("QStash token (input hidden)", hide_input=True, err=True, default="", show_default=False)
        source = "the prompt"
    else:
        raise InputError("no terminal to prompt for the token", hint=PIPE_HINT)
    token = raw.strip()
    if not token:
        raise InputError(f"no token read from {source}", hint=PIPE_HINT if with_token else None)
    if any(c.isspace() for c in token) or not token.isascii() or not token.isprintable():
        raise InputError(f"the token read from {source} must be one word of printable ASCII characters")
    return token


def _check(s: Settings, token: str, url: str) -> None:
    """One `GET /v{1,2}/keys` with the new token; a 401/403 says the token is wrong."""
    from qstash_cli.api.client import Client
    from qstash_cli.commands.config_cmd import resolve

    api = (resolve(s, "api")[0] or "v2").lower()
    if api not in DIALECTS:
        raise InputError(f"invalid API dialect {api!r}: use v1 or v2")
    try:
        Client(url, token, api, debug=s.opts.debug, deadline=s.deadline, quiet=s.opts.quiet).keys.get()
    except AuthError as exc:
        raise AuthError(
            f"the token was rejected by {url} ({exc.message}); nothing was saved",
            hint="copy the token again from the Upstash console (QStash → Request builder), or use --no-verify",
        ) from None
    except NetworkError as exc:
        raise NetworkError(
            f"{exc.message}; nothing was saved", hint="check --url, or save anyway with --no-verify"
        ) from None


def login(
    ctx: typer.Context,
    with_token: bool = typer.Option(False, "--with-token", help="Read the token from stdin (for CI)."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Do not check the token with a request first."),
) -> None:
    """Save a QStash token in the config file (profile from -p; the global --url is saved too when given).

    On a terminal the token is asked for with hidden input; in CI pipe it in with --with-token. The token is checked
    with one `GET /v2/keys` against the profile's URL first (--no-verify skips that), and never printed.

    \b
    Example:
      qstash login
      echo "$QSTASH_TOKEN" | qstash -p ci login --with-token
      qstash -p eu login --url https://qstash-eu-central-1.upstash.io
    """
    from qstash_cli import config
    from qstash_cli.commands.config_cmd import _target_profile, loaded, resolve
    from qstash_cli.inputs import validate_url

    s = settings_from(ctx)
    profile = _target_profile(s)  # may not exist yet: login creates it
    url = validate_url(s.opts.url, what="API URL").rstrip("/") if s.opts.url else None
    check_url = url or validate_url(resolve(s, "url")[0] or "", what="API URL").rstrip("/")
    token = _read_token(s, with_token)
    if not no_verify:
        _check(s, token, check_url)
    data = copy.deepcopy(loaded(s))
    table = data.setdefault("profiles", {}).setdefault(profile, {})
    table["token"] = token
    if url:
        table["url"] = url
    path = config.save(data)
    if s.out.mode == JSON:
        s.out.json({"profile": profile, "path": str(path), "url": check_url, "verified": not no_verify})
    else:
        checked = "" if no_verify else f", checked against {check_url}"
        s.out.info(f"Logged in: token saved to profile {profile!r} in {path}{checked}")
    for key in ("token", "url") if url else ("token",):
        if os.environ.get(ENV[key]) and not s.explicit_profile:
            s.out.warn(
                f"{ENV[key]} is set in this environment and takes precedence over the saved {key} "
                f"(with `-p {profile}` the profile wins)"
            )


def register(root: typer.Typer) -> None:
    root.command("login")(login)
