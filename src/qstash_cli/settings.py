"""Resolve profile, URL, token, API dialect and output mode: flag > env > config profile > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

from qstash_cli import devcreds
from qstash_cli.errors import AuthError, ConfigError, InputError

if TYPE_CHECKING:
    from qstash_cli.api.client import Client
    from qstash_cli.output import Output

DEFAULT_URL = "https://qstash.upstash.io"
DEFAULT_PROFILE = "default"
DIALECTS = ("v1", "v2")

BUILTIN_PROFILES: dict[str, dict[str, str]] = {
    "dev": {
        "url": devcreds.DEV_URL,
        "token": devcreds.DEV_TOKEN,
        "current_signing_key": devcreds.DEV_CURRENT_SIGNING_KEY,
        "next_signing_key": devcreds.DEV_NEXT_SIGNING_KEY,
    }
}

ENV = {
    "token": "QSTASH_TOKEN",
    "url": "QSTASH_URL",
    "api": "QSTASH_API",
    "current_signing_key": "QSTASH_CURRENT_SIGNING_KEY",
    "next_signing_key": "QSTASH_NEXT_SIGNING_KEY",
}


@dataclass
class GlobalOptions:
    """The root command's options as typed by the user (None = not given)."""

    profile: str | None = None
    url: str | None = None
    token: str | None = None
    api: str | None = None
    json: bool = False
    quiet: bool = False
    debug: bool = False


@dataclass
class Settings:
    """Everything a command needs: resolved connection values, the output sink and the API client."""

    opts: GlobalOptions = field(default_factory=GlobalOptions)

    @cached_property
    def config(self) -> dict[str, Any]:
        from qstash_cli import config

        return config.load()

    @cached_property
    def profile_name(self) -> str:
        return (
            self.opts.profile
            or os.environ.get("QSTASH_PROFILE")
            or self.config.get("default_profile")
            or DEFAULT_PROFILE
        )

    @cached_property
    def profile(self) -> dict[str, Any]:
        name = self.profile_name
        stored = _profile_from(self.config, name)
        builtin = BUILTIN_PROFILES.get(name)
        if stored is None and builtin is None:
            if name == DEFAULT_PROFILE:
                return {}
            known = sorted(set(self.config.get("profiles", {})) | set(BUILTIN_PROFILES))
            raise ConfigError(f"unknown profile {name!r}", hint=f"known profiles: {', '.join(known)}")
        return {**(builtin or {}), **(stored or {})}

    def value(self, key: str, flag: str | None = None) -> str | None:
        """One setting by precedence: flag > env > profile."""
        if flag:
            return flag
        env = os.environ.get(ENV[key]) if key in ENV else None
        if env:
            return env
        val = self.profile.get(key)
        return str(val) if val is not None else None

    @property
    def url(self) -> str:
        url = (self.value("url", self.opts.url) or DEFAULT_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise InputError(f"invalid API URL {url!r}: it must start with http:// or https://")
        return url

    @property
    def token(self) -> str:
        token = self.value("token", self.opts.token)
        if not token:
            raise AuthError(
                "no QStash token configured",
                hint="run `qstash login`, set QSTASH_TOKEN, or use `-p dev` for the local server",
            )
        return token

    @property
    def api(self) -> str:
        api = (self.value("api", self.opts.api) or "v2").lower()
        if api not in DIALECTS:
            raise InputError(f"invalid API dialect {api!r}: use v1 or v2")
        return api

    @property
    def signing_keys(self) -> list[tuple[str, str]]:
        """The (name, key) pairs known for signature verification, current first."""
        keys = []
        for name in ("current", "next"):
            key = self.value(f"{name}_signing_key")
            if key:
                keys.append((name, key))
        return keys

    @cached_property
    def out(self) -> Output:
        from qstash_cli.output import Output

        return Output.create(json=self.opts.json, quiet=self.opts.quiet)

    def client(self) -> Client:
        """The API client for the resolved URL, token and dialect."""
        from qstash_cli.api.client import Client

        return Client(self.url, lambda: self.token, self.api, debug=self.opts.debug)


def _profile_from(cfg: dict[str, Any], name: str) -> dict[str, Any] | None:
    return cfg.get("profiles", {}).get(name)


def settings_from(ctx: typer.Context) -> Settings:
    """The Settings object the root callback stored on the context."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj
