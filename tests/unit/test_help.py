"""Help text: metavars users know (TEXT, INTEGER, URL, ...), never `<str>`, `{name}` or `name:<str>`; the global
options listed once, in `qstash --help`, and named in one line elsewhere (still accepted and completed)."""

from __future__ import annotations

import pytest

from qstash_cli.app import GLOBAL_NOTE, build_command
from tests.unit.test_completion import complete


def every_help():
    from typer import _click as click

    root = build_command()

    def walk(command, path):
        yield path, command
        for name in list(getattr(command, "commands", {})):
            yield from walk(command.commands[name], (*path, name))

    for path, command in walk(root, ()):
        parent = None if not path else click.Context(root, info_name="qstash")
        ctx = click.Context(command, info_name=path[-1] if path else "qstash", parent=parent)
        yield path, command.get_help(ctx)


HELPS = dict(every_help())


@pytest.mark.parametrize("path", sorted(HELPS), ids=lambda p: " ".join(p) or "root")
def test_no_typer_metavars(path) -> None:
    text = HELPS[path]
    usage = text.splitlines()[0]
    assert "{" not in usage and "<" not in usage, usage
    for bad in ("<str>", "<int", "<float", "<path", ":<"):
        assert bad not in text, (path, bad)


def test_global_options_are_listed_once_in_the_root_help() -> None:
    root = HELPS[()]
    for flag in ("--profile NAME", "--url URL", "--token TOKEN", "--api v1|v2", "--region REGION", "--json"):
        assert root.count(flag) == 1, flag
    assert GLOBAL_NOTE not in root


@pytest.mark.parametrize("path", [("queues", "get"), ("publish",), ("topics",), ("logs",)])
def test_commands_name_the_global_options_in_one_line(path) -> None:
    text = HELPS[path]
    option_rows = [line.split()[0] for line in text.splitlines() if line.startswith("  -")]
    assert not {"-p,", "--url", "--token", "--api", "--region", "--json", "-q,", "--debug"} & set(option_rows)
    assert " ".join(GLOBAL_NOTE.split()) in " ".join(text.split())


def test_usage_shows_arguments_in_capitals(cli) -> None:
    assert cli("queues", "get", "--help").stdout.startswith("Usage: qstash queues get [OPTIONS] QUEUE\n")
    assert "[OPTIONS] [DLQ_IDS...]" in cli("dlq", "retry", "--help").stdout
    assert "--topic TEXT" in cli("messages", "cancel", "--help").stdout


def test_global_options_still_work_and_complete_after_a_command(cli, mock_api, isolated) -> None:
    mock_api.add("GET", "/v2/queues", [{"name": "q"}])
    assert cli("queues", "list", "--json").json == [{"name": "q"}]
    r = complete(
        {"_QSTASH_COMPLETE": "complete_bash", "COMP_WORDS": "qstash queues list --js", "COMP_CWORD": "3"}, isolated
    )
    assert r.stdout.split() == ["--json"]


@pytest.mark.parametrize("args", [("--json", "-q"), ("-q", "--json"), ("--quiet", "--json")])
def test_json_and_quiet_together_are_refused_in_one_line(cli, mock_api, args) -> None:
    from tests.unit.helpers import assert_one_error

    assert_one_error(cli("queues", "list", *args), 2, "--json and -q/--quiet do not mix")
    assert_one_error(cli(args[0], "queues", "list", args[1]), 2, "do not mix")
    assert mock_api.requests == []


def test_listings_show_a_terminal_page_by_default(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/queues", [{"name": f"q{i}"} for i in range(30)])
    table = cli("queues", "list", tty=True).stdout
    assert "q19" in table and "q20" not in table
    assert "q29" in cli("queues", "list", "--all", tty=True).stdout
    assert len(cli("queues", "list", "--limit", "25", tty=True).stdout.splitlines()) == 26
    assert len(cli("queues", "list", "-q").stdout.split()) == 30  # piped: everything, as before


def test_a_cut_listing_says_so_on_the_terminal_only(cli, mock_api) -> None:
    mock_api.add("GET", "/v2/queues", [{"name": f"q{i}"} for i in range(30)])
    mock_api.add("GET", "/v2/events", {"cursor": "c", "events": [{"messageId": f"m{i}", "time": 1} for i in range(25)]})
    assert "(20 of 30 shown; --limit N or --all for more)" in cli("queues", "list", tty=True).stderr
    assert "shown" not in cli("queues", "list", "--all", tty=True).stderr
    assert "shown" not in cli("queues", "list").stderr  # piped: everything, no note
    assert "(the first 20 shown; --limit N or --all for more)" in cli("logs", tty=True).stderr
    assert "shown" not in cli("logs", "--limit", "20", tty=True).stderr
