"""Resolve profile, URL, token, API dialect, region and output mode: flag > env > config profile > default.

A profile named on the command line (`-p NAME`) counts as a flag: its settings win over the environment (and when it
sets url or token, QSTASH_URL and QSTASH_TOKEN are both ignored, so a token never goes to another account's URL).
With a region (`--region`, QSTASH_REGION or the profile's `region`), `US_EAST_1_QSTASH_URL` / `_TOKEN` / signing-key
variables come before the plain ones, and the URL defaults to that region's host.
"""

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
REGIONS = {
    "EU_CENTRAL_1": "https://qstash-eu-central-1.upstash.io",
    "US_EAST_1": "https://qstash-us-east-1.upstash.io",
}
REGIONAL_KEYS = ("url", "token", "current_signing_key", "next_signing_key")
MAX_DEADLINE = 86400  # --timeout: at most a day

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
    region: str | None = None
    json: bool = False
    quiet: bool = False
    debug: bool = False
    request_timeout: str | None = None


@dataclass
class Settings:
    """Everything a command needs: resolved connection values, the output sink and the API client."""

    opts: GlobalOptions = field(default_factory=GlobalOptions)
    _noted: bool = field(default=False, init=False, repr=False)

    @cached_property
    def config(self) -> dict[str, Any]:
        from qstash_cli import config

        return config.load()

    @cached_property
    def profile_name(self) -> str:
        return (
            self.opts.profile
            or os.environ.get("QSTASH_PROFILE")
            or self.config.get("default_profile")  # a string: config.load checks it
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

    @property
    def explicit_profile(self) -> bool:
        """A profile named with -p/--profile (its settings beat the environment)."""
        return bool(self.opts.profile)

    def _profile_value(self, key: str) -> tuple[str | None, str]:
        stored = (_profile_from(self.config, self.profile_name) or {}).get(key)
        if stored is not None:
            return str(stored), f"profile {self.profile_name}"
        builtin = BUILTIN_PROFILES.get(self.profile_name, {}).get(key)
        if builtin is not None:
            return builtin, f"builtin profile {self.profile_name}"
        return None, "unset"

    def _env_names(self, key: str, region: str | None) -> list[str]:
        names = [ENV[key]] if key in ENV else []
        if region and key in REGIONAL_KEYS:
            names.insert(0, f"{region}_{ENV[key]}")
        return names

    def resolve(self, key: str) -> tuple[str | None, str]:
        """One setting and where it came from: `flag --url`, `profile NAME` (named with -p), `env NAME`,
        `profile NAME`, `builtin profile dev`, `region US_EAST_1` (the URL), `default`, or `unset`."""
        if key == "region":
            return self._region_source
        flag = getattr(self.opts, key, None) if key in ("url", "token", "api") else None
        if flag:
            return flag, f"flag --{key}"
        profile_value, profile_source = self._profile_value(key)
        if self.explicit_profile and profile_value is not None:
            return profile_value, profile_source
        if not self._env_blocked(key):
            for name in self._env_names(key, self.region):
                if os.environ.get(name):
                    return os.environ[name], f"env {name}"
        if profile_value is not None:
            return profile_value, profile_source
        if key == "url":
            return (REGIONS[self.region], f"region {self.region}") if self.region else (DEFAULT_URL, "default")
        if key == "api":
            return "v2", "default"
        return None, "unset"

    def _env_blocked(self, key: str) -> bool:
        """-p NAME whose profile sets url or token: the environment's url and token are both ignored."""
        return (
            self.explicit_profile
            and key in ("url", "token")
            and any(self._profile_value(k)[0] is not None for k in ("url", "token"))
        )

    @property
    def ignored_env(self) -> list[str]:
        """The environment variables a -p profile overrode (set, but not used)."""
        if not self.explicit_profile:
            return []
        ignored = []
        for key in ("url", "token", "api", "current_signing_key", "next_signing_key", "region"):
            source = self.resolve(key)[1]
            names = ["QSTASH_REGION"] if key == "region" else self._env_names(key, self.region)
            ignored += [n for n in names if os.environ.get(n) and source != f"env {n}"]
        return ignored

    def value(self, key: str, flag: str | None = None) -> str | None:
        """One setting by precedence (see `resolve`); an unknown profile name is an error."""
        self.profile  # noqa: B018
        return flag or self.resolve(key)[0]

    @cached_property
    def _region_source(self) -> tuple[str | None, str]:
        if self.opts.region:
            return normalise_region(self.opts.region), "flag --region"
        profile_value, profile_source = self._profile_value("region")
        if self.explicit_profile and profile_value:
            return normalise_region(profile_value), profile_source
        if os.environ.get("QSTASH_REGION"):
            return normalise_region(os.environ["QSTASH_REGION"]), "env QSTASH_REGION"
        if profile_value:
            return normalise_region(profile_value), profile_source
        return None, "unset"

    @property
    def region(self) -> str | None:
        """US_EAST_1, EU_CENTRAL_1, or None (no region chosen)."""
        return self._region_source[0]

    def note_ignored_env(self) -> None:
        """Say once on stderr which environment variables a -p profile overrode."""
        if self._noted:
            return
        self._noted = True
        ignored = self.ignored_env
        if ignored:
            import sys

            sys.stderr.write(
                f"Note: profile {self.profile_name!r} (-p) wins over the environment; ignored: {', '.join(ignored)}\n"
            )

    @property
    def url(self) -> str:
        from qstash_cli.inputs import validate_url
        from qstash_cli.safe_text import redact, url_password

        url = (self.value("url", self.opts.url) or DEFAULT_URL).rstrip("/")
        try:
            if not url.startswith(("http://", "https://")):
                raise InputError(f"invalid API URL {url!r}: it must start with http:// or https://")
            return validate_url(url, what="API URL")
        except InputError as exc:  # never echo a password given in the URL
            secret = url_password(url) or url.rpartition("@")[0].partition("//")[2].partition(":")[2]
            raise InputError(redact(exc.message, [secret]), hint=exc.hint) from None

    @property
    def token(self) -> str:
        token = self.value("token", self.opts.token)
        if not token:
            if self.explicit_profile:
                raise AuthError(
                    f"no QStash token configured for profile {self.profile_name!r}",
                    hint=f"run `qstash -p {self.profile_name} login` (a profile named with -p ignores QSTASH_TOKEN)",
                )
            raise AuthError(
                "no QStash token configured",
                hint="run `qstash login`, set QSTASH_TOKEN, or use `-p dev` for the local server",
            )
        return check_token(token)

    @property
    def deadline(self) -> float:
        """Seconds one request may take, retries and waits included: --timeout > QSTASH_TIMEOUT > 60."""
        from qstash_cli.api.transport import DEFAULT_DEADLINE
        from qstash_cli.inputs import parse_duration

        text = self.opts.request_timeout or os.environ.get("QSTASH_TIMEOUT")
        if not text:
            return DEFAULT_DEADLINE
        seconds = parse_duration(text, what="--timeout (request deadline)")
        if not 1 <= seconds <= MAX_DEADLINE:
            raise InputError(f"invalid --timeout {text!r}: use 1s to {MAX_DEADLINE // 3600}h")
        return float(seconds)

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

    def client(self, *, one_shot: bool = False) -> Client:
        """The API client for the resolved URL, token and dialect (`one_shot`: the command sends one request, see
        api/transport.py)."""
        from qstash_cli.api.client import Client

        self.note_ignored_env()
        return Client(
            self.url,
            lambda: self.token,
            self.api,
            debug=self.opts.debug,
            deadline=self.deadline,
            quiet=self.opts.quiet,
            one_shot=one_shot,
        )


def check_token(token: str) -> str:
    """A token is one word of printable ASCII: CR/LF, spaces only, or undecodable bytes are input errors (exit 2)."""
    if not token.strip():
        raise InputError("invalid token: it is empty or only spaces", hint="check QSTASH_TOKEN / --token")
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise InputError(
            "invalid token: it must be printable ASCII without spaces or line breaks",
            hint="check QSTASH_TOKEN / --token (a pasted token may carry a line break)",
        )
    return token


def normalise_region(text: str) -> str:
    """`us-east-1` / `US_EAST_1` → `US_EAST_1`; anything else is an InputError."""
    name = text.strip().upper().replace("-", "_")
    if name not in REGIONS:
        raise InputError(f"invalid region {text!r}: use {' or '.join(REGIONS)} (or us-east-1, eu-central-1)")
    return name


def _profile_from(cfg: dict[str, Any], name: str) -> dict[str, Any] | None:
    return cfg.get("profiles", {}).get(name)


def settings_from(ctx: typer.Context) -> Settings:
    """The Settings object the root callback stored on the context."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj
