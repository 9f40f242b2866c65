"""`qstash config show|get|set|unset|path|profiles`: file modes, hidden secrets, precedence of every layer, errors."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from qstash_cli import devcreds

TOKEN = "tok_CONFIG_secret_value_1234"
KEY = "sig_CONFIG_signing_key_5678"


def cfg_path() -> Path:
    return Path(os.environ["QSTASH_CONFIG"])


def write_config(text: str, mode: int = 0o600) -> Path:
    path = cfg_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    path.chmod(mode)
    return path


def stored() -> dict:
    return tomllib.loads(cfg_path().read_text())


def one_error(r) -> str:
    """The stderr of a failed run: exactly one `Error:` line (a `Hint:` may follow), no traceback."""
    lines = r.stderr.splitlines()
    assert r.stdout == ""
    assert lines and lines[0].startswith("Error: ") and "Traceback" not in r.stderr
    assert all(line.startswith("Hint: ") for line in lines[1:]), r.stderr
    return lines[0]


# -- file modes --------------------------------------------------------------------------------------------------


def test_set_creates_the_file_0600_in_a_0700_dir(cli) -> None:
    r = cli("config", "set", "url", "https://qstash.example.com/")
    assert r.exit_code == 0, r.stderr
    path = cfg_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stored() == {"profiles": {"default": {"url": "https://qstash.example.com"}}}
    assert r.stderr == f"Set url = https://qstash.example.com in profile 'default' ({path})\n"


def test_existing_file_readable_by_others_warns_once_and_still_works(cli) -> None:
    write_config(f'[profiles.default]\ntoken = "{TOKEN}"\n', mode=0o644)
    r = cli("config", "show")
    assert r.exit_code == 0
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "readable by other users" in warnings[0] and "chmod 600" in warnings[0]
    # writing through the CLI makes it private again
    assert cli("config", "set", "api", "v1").exit_code == 0
    assert stat.S_IMODE(cfg_path().stat().st_mode) == 0o600
    assert "Warning" not in cli("config", "show").stderr


# -- secrets -----------------------------------------------------------------------------------------------------


def test_show_and_get_hide_secrets_unless_asked(cli) -> None:
    write_config(f'[profiles.default]\ntoken = "{TOKEN}"\ncurrent_signing_key = "{KEY}"\n')
    for args in (
        ("config", "show"),
        ("config", "show", "--json"),
        ("config", "get", "token"),
        ("config", "get", "current-signing-key", "--json"),
    ):
        for tty in (False, True):
            r = cli(*args, tty=tty)
            assert r.exit_code == 0, (args, r.stderr)
            assert TOKEN not in r.stdout + r.stderr and KEY not in r.stdout + r.stderr, args
    assert cli("config", "get", "token").stdout == "tok_…(hidden)\n"
    assert cli("config", "show", "--json").json["current_signing_key"] == {
        "value": "sig_…(hidden)",
        "source": "profile",
        "from": "profile default",
    }
    assert cli("config", "get", "token", "--show-secrets").stdout == f"{TOKEN}\n"
    shown = cli("config", "show", "--show-secrets", "--json").json
    assert shown["token"]["value"] == TOKEN and shown["current_signing_key"]["value"] == KEY


def test_secret_given_by_flag_or_env_is_hidden_too(cli, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_NEXT_SIGNING_KEY", KEY)
    r = cli("--token", TOKEN, "config", "show")
    assert r.exit_code == 0 and TOKEN not in r.stdout and KEY not in r.stdout
    assert "token\ttok_…(hidden)\tflag --token" in r.stdout.splitlines()
    assert "next_signing_key\tsig_…(hidden)\tenv QSTASH_NEXT_SIGNING_KEY" in r.stdout.splitlines()


def test_show_plain_and_table_output(cli) -> None:
    r = cli("config", "show")
    assert r.stdout.splitlines() == [
        "setting\tvalue\tsource",
        "profile\tdefault\tdefault",
        "url\thttps://qstash.upstash.io\tdefault",
        "token\t\tunset",
        "api\tv2\tdefault",
        "region\t\tunset",
        "current_signing_key\t\tunset",
        "next_signing_key\t\tunset",
    ]
    assert r.stderr == f"Config file: {cfg_path()}\n"
    table = cli("config", "show", tty=True).stdout
    assert "setting" in table and "https://qstash.upstash.io" in table and "\t" not in table


def test_builtin_dev_profile(cli) -> None:
    data = cli("config", "show", "-p", "dev", "--json").json
    assert data["profile"] == {"value": "dev", "source": "flag", "from": "flag -p"}
    assert data["url"] == {"value": devcreds.DEV_URL, "source": "builtin", "from": "builtin profile dev"}
    assert data["token"] == {"value": "eyJV…(hidden)", "source": "builtin", "from": "builtin profile dev"}
    assert data["current_signing_key"]["source"] == "builtin"
    assert devcreds.DEV_TOKEN not in cli("-p", "dev", "config", "show").stdout


# -- precedence: flag > env > profile > default ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "env", "flag", "values"),
    [
        (
            "url",
            "QSTASH_URL",
            "--url",
            ("https://qstash.upstash.io", "https://p.example", "https://e.example", "https://f.example"),
        ),
        ("api", "QSTASH_API", "--api", ("v2", "v1", "v2", "v1")),
        ("token", "QSTASH_TOKEN", "--token", (None, "tok_profile_0000", "tok_env_00000000", "tok_flag_0000000")),
    ],
)
def test_precedence_each_layer(cli, monkeypatch, key, env, flag, values) -> None:
    default, in_profile, in_env, in_flag = values

    def resolved(*extra: str) -> dict:
        r = cli("config", "show", "--json", "--show-secrets", *extra)
        assert r.exit_code == 0, r.stderr
        return r.json[key]

    nothing = "default" if default else "unset"
    assert resolved() == {"value": default, "source": nothing, "from": nothing}
    assert cli("config", "set", key, in_profile).exit_code == 0
    assert resolved() == {"value": in_profile, "source": "profile", "from": "profile default"}
    monkeypatch.setenv(env, in_env)
    assert resolved() == {"value": in_env, "source": "env", "from": f"env {env}"}
    assert resolved(flag, in_flag) == {"value": in_flag, "source": "flag", "from": f"flag {flag}"}
    # a profile named with -p beats the environment (not the flag)
    assert resolved("-p", "default")["value"] == in_profile
    assert resolved("-p", "default", flag, in_flag)["value"] == in_flag
    assert cli(flag, in_flag, "config", "get", key, "--show-secrets").stdout == f"{in_flag}\n"


def test_profile_selection_precedence(cli, monkeypatch) -> None:
    write_config('default_profile = "ci"\n[profiles.ci]\napi = "v1"\n[profiles.other]\napi = "v2"\n')
    profile = cli("config", "show", "--json").json["profile"]
    assert profile == {"value": "ci", "source": "config", "from": "config default_profile"}
    assert cli("config", "show", "--json").json["api"] == {"value": "v1", "source": "profile", "from": "profile ci"}
    monkeypatch.setenv("QSTASH_PROFILE", "other")
    assert cli("config", "show", "--json").json["profile"]["source"] == "env"
    assert cli("config", "show", "--json", "-p", "dev").json["profile"]["source"] == "flag"


def test_stored_values_override_the_builtin_dev_profile(cli) -> None:
    assert cli("-p", "dev", "config", "set", "url", "http://127.0.0.1:9999").exit_code == 0
    data = cli("-p", "dev", "config", "show", "--json").json
    assert data["url"] == {"value": "http://127.0.0.1:9999", "source": "profile", "from": "profile dev"}
    assert data["token"]["source"] == "builtin"


# -- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["[profiles.default\ntoken = ", 'profiles = "x"\n', "\x00 garbage", "[profiles]\ndefault = 5\n"]
)
@pytest.mark.parametrize("args", [("config", "show"), ("config", "get", "url"), ("config", "set", "api", "v1")])
def test_corrupt_config_is_one_line_exit_2(cli, text, args) -> None:
    write_config(text)
    r = cli(*args)
    assert r.exit_code == 2
    assert "config file" in one_error(r)
    assert cfg_path().read_text() == text  # never overwritten


def test_path_works_even_with_a_corrupt_config(cli) -> None:
    write_config("[[[")
    r = cli("config", "path")
    assert r.exit_code == 0 and r.stdout == f"{cfg_path()}\n"
    assert cli("config", "path", "--json").json == {"path": str(cfg_path()), "exists": True}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_unknown_profile_is_one_line_exit_2(cli, monkeypatch, how) -> None:
    write_config('[profiles.ci]\napi = "v1"\n')
    if how == "env":
        monkeypatch.setenv("QSTASH_PROFILE", "nope")
        args: tuple[str, ...] = ("config", "show")
    else:
        args = ("-p", "nope", "config", "show")
    r = cli(*args)
    assert r.exit_code == 2
    assert one_error(r) == "Error: unknown profile 'nope'"
    assert r.stderr.splitlines()[1] == "Hint: known profiles: ci, dev"
    assert cli("-p", "nope", "config", "get", "url").exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("config", "set", "url", "ftp://x"), "invalid API URL"),
        (("config", "set", "url", "not a url"), "invalid API URL"),
        (("config", "set", "api", "v3"), "invalid api 'v3': use v1 or v2"),
        (("config", "set", "colour", "red"), "unknown config key 'colour'"),
        (("config", "set", "token", "two words"), "invalid token"),
        (("config", "set", "token", ""), "empty value for token"),
        (("config", "get", "colour"), "unknown config key"),
        (("config", "unset", "colour"), "unknown config key"),
        (("-p", "bad name", "config", "set", "api", "v1"), "invalid profile name"),
        (("config", "set", "default-profile", "a/b"), "invalid profile name"),
    ],
)
def test_set_validates_before_writing(cli, args, message) -> None:
    r = cli(*args)
    assert r.exit_code == 2
    assert message in one_error(r)
    assert not cfg_path().exists()


def test_get_of_an_unset_key_exits_1(cli) -> None:
    r = cli("config", "get", "token")
    assert r.exit_code == 1
    assert one_error(r) == "Error: token is not set in profile 'default'"


# -- set / unset / profiles ----------------------------------------------------------------------------------------


def test_set_into_a_named_profile_and_default_profile(cli) -> None:
    assert cli("-p", "staging", "config", "set", "api", "V1").exit_code == 0
    r = cli("config", "set", "default-profile", "staging")
    assert r.exit_code == 0 and "Warning" not in r.stderr
    assert stored() == {"profiles": {"staging": {"api": "v1"}}, "default_profile": "staging"}
    assert cli("config", "get", "api").stdout == "v1\n"
    assert cli("config", "get", "default_profile", "--json").json == {
        "key": "default_profile",
        "value": "staging",
        "source": "config",
        "from": "config default_profile",
    }
    assert "does not exist yet" in cli("config", "set", "default_profile", "ghost").stderr


def test_set_secret_from_stdin_never_echoes_it(cli) -> None:
    r = cli("config", "set", "current-signing-key", "-", stdin=KEY + "\n")
    assert r.exit_code == 0 and KEY not in r.stdout + r.stderr and "(hidden)" in r.stderr
    assert stored()["profiles"]["default"]["current_signing_key"] == KEY


def test_set_warns_when_env_wins(cli, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_URL", "https://env.example")
    r = cli("config", "set", "url", "https://file.example")
    assert "Warning: QSTASH_URL is set and takes precedence over the config file" in r.stderr


def test_unset(cli) -> None:
    cli("config", "set", "url", "https://a.example")
    cli("config", "set", "api", "v1")
    cli("config", "set", "default-profile", "default")
    assert cli("config", "unset", "url").exit_code == 0
    assert stored() == {"profiles": {"default": {"api": "v1"}}, "default_profile": "default"}
    cli("config", "unset", "api")
    cli("config", "unset", "default_profile")
    assert stored() == {}
    r = cli("config", "unset", "api")
    assert r.exit_code == 0 and "not set" in r.stderr


def test_profiles_lists_file_and_builtin_without_secrets(cli) -> None:
    write_config(f'default_profile = "ci"\n[profiles.ci]\ntoken = "{TOKEN}"\napi = "v1"\n[profiles.dev]\napi = "v1"\n')
    r = cli("config", "profiles")
    assert r.exit_code == 0 and TOKEN not in r.stdout
    assert r.stdout.splitlines() == [
        "profile\tactive\turl\tapi\ttoken\torigin",
        "ci\t*\thttps://qstash.upstash.io\tv1\tset\tfile",
        f"dev\t\t{devcreds.DEV_URL}\tv1\tset\tbuiltin+file",
    ]
    assert [p["name"] for p in cli("config", "profiles", "--json").json] == ["ci", "dev"]
    assert cli("config", "profiles", "-q").stdout == "ci\ndev\n"
