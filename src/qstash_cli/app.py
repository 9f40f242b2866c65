"""The root command: global options, the command groups, and main() — the error boundary."""

from __future__ import annotations

import gc
import inspect
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from functools import partial
from typing import Any

import typer
from typer import _click as click  # Typer 0.28 vendors Click; pinned in pyproject
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo, TyperInfo

from qstash_cli import __version__
from qstash_cli.errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_USAGE, QstashError

# The top-level commands, in help order: name → (module in qstash_cli/commands/, one-line summary for `qstash --help`).
# Each module exposes `register(app)` (or one command function named after the module). Modules load lazily:
# `qstash topics ...` imports only commands/topics.py; `qstash --help` and completing a command name import none (the
# summaries here are the root's table of contents; each command's own help comes from its module). A name a module
# registers that is missing here still runs (an unknown name imports every module), but is not listed:
# tests/unit/test_imports.py checks that the names here are exactly those the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "publish": ("publish", "Publish a message (or a schedule, or a file of messages)."),
    "topics": ("topics", "Manage topics (v1) / URL groups (v2)."),
    "url-groups": ("topics", "Manage URL groups (v2; the same as `topics`)."),
    "endpoints": ("endpoints", "Manage the endpoints of a topic / URL group."),
    "messages": ("messages", "Show and cancel messages."),
    "tasks": ("tasks", "Show delivery tasks (v1)."),
    "schedules": ("schedules", "Manage schedules (cron-triggered messages)."),
    "queues": ("queues", "Manage queues: parallelism, lag, pause (v2)."),
    "flow-control": ("flow_control", "Show and steer flow-control keys; the global parallelism (v2)."),
    "keys": ("keys", "Show or rotate the signing keys."),
    "quota": ("quota", "Show the account's quota (v1)."),
    "logs": ("logs", "Show the delivery logs."),
    "dlq": ("dlq", "Manage the dead-letter queue."),
    "workflow": ("workflow", "Upstash Workflow runs: steps, cancel, notify, waiters, failed runs (v2)."),
    "verify": ("verify", "Verify an Upstash-Signature."),
    "listen": ("listen", "Receive and verify deliveries on a local port."),
    "cron": ("cron", "Show the next fire times of a cron expression."),
    "dev": ("dev", "Run a local QStash server (v1 and v2 API)."),
    "config": ("config_cmd", "Show and change the config file."),
    "login": ("login", "Store a QStash token in a config profile."),
    "logout": ("auth", "Remove the token of a config profile."),
    "whoami": ("auth", "Show the profile, URL, region and token source in use."),
    "auth": ("auth", "Authentication status and logout."),
    "api": ("api_cmd", "Send an authenticated raw request to the API."),
    "completion": ("completion", "Shell completion scripts."),
}
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))

EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())

app = typer.Typer(
    name="qstash",
    help="Upstash QStash from the command line (v2 API by default, the legacy v1 API with --api v1), "
    "and `qstash dev`, a local QStash server.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"qstash {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Upstash QStash from the command line."""


# Global options, accepted before the command and after it (`qstash --json topics list` or
# `qstash topics list --json`). They are added to every command of the tree and stored on the Settings.
GLOBAL_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("--profile", "-p"),
        {"metavar": "NAME", "help": "Config profile (env QSTASH_PROFILE; -p beats QSTASH_URL/TOKEN); dev = local."},
    ),
    (("--url",), {"metavar": "URL", "help": "API base URL (env QSTASH_URL)."}),
    (("--token",), {"metavar": "TOKEN", "help": "API token (env QSTASH_TOKEN). Prefer `qstash login`."}),
    (("--api",), {"metavar": "v1|v2", "help": "API dialect: v2 (default) or v1 (legacy) (env QSTASH_API)."}),
    (("--region",), {"metavar": "REGION", "help": "Region: eu-central-1 or us-east-1 (env QSTASH_REGION)."}),
    (("--json",), {"is_flag": True, "help": "Print the API's JSON as one document."}),
    (("--quiet", "-q"), {"is_flag": True, "help": "Print only ids, one per line."}),
    (("--debug",), {"is_flag": True, "help": "Trace requests (token redacted) and show tracebacks."}),
    (
        ("request_timeout", "--timeout", "--request-timeout"),
        {
            "metavar": "DURATION",
            "help": "Deadline of each request, retries and waits included: 60s by default (env QSTASH_TIMEOUT). "
            "On commands with their own --timeout, use --request-timeout or put --timeout before the command.",
        },
    ),
]


def _complete_profile(ctx: click.Context, args: list[str], incomplete: str) -> list[str]:
    from qstash_cli.completers import profiles

    return profiles(incomplete)


def _complete_from(*values: str) -> Callable[[click.Context, list[str], str], list[str]]:
    return lambda ctx, args, incomplete: [v for v in values if v.lower().startswith(incomplete.lower())]


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value not in (None, False):
        from qstash_cli.settings import settings_from  # only when a global option is given: --help/--version skip it

        opts = settings_from(ctx).opts
        setattr(opts, param.name or "", value)
        if opts.json and opts.quiet:
            from qstash_cli.errors import InputError

            raise InputError("--json and -q/--quiet do not mix: --json prints the JSON, -q only the ids; pick one")


_GLOBAL_COMPLETERS: dict[str, Callable[[click.Context, list[str], str], list[str]]] = {
    "--profile": _complete_profile,
    "--api": _complete_from("v1", "v2"),
    "--region": _complete_from("eu-central-1", "us-east-1"),
}


class _GlobalOption(TyperOption):
    """A global option: accepted by every command, listed only in `qstash --help` (completion still offers it)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        return super().get_help_record(ctx) if ctx.parent is None else None


GLOBAL_NOTE = (
    "Global options (-p, --url, --token, --api, --region, --json, -q, --debug, --timeout): see `qstash --help`."
)
_TYPE_METAVARS = {
    "str": "TEXT",
    "text": "TEXT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "int range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "path": "FILE",
}


def _plain_metavars(command: click.Command) -> None:
    """Help metavars users know (TEXT, INTEGER, NUMBER) instead of Typer's `<str>`, `<int range>`."""
    for param in command.params:
        if isinstance(param, TyperOption) and param.metavar is None and not param.is_flag:
            name = _TYPE_METAVARS.get(getattr(param.type, "name", ""))
            if name:
                param.metavar = name


def _argument_metavar(self: TyperArgument, ctx: click.Context, *, usage: bool = False) -> str:
    """`NAME`, `[NAME]` when optional, `NAME...` when repeatable: never Typer's `{name}` or `name:<str>`."""
    var = self.metavar or (self.name or "").upper() + ("..." if self.nargs != 1 else "")
    return f"[{var}]" if usage and not self.required and not var.startswith("[") else var


TyperArgument.make_metavar = _argument_metavar  # type: ignore[method-assign]  # Typer 0.28 is pinned


def _add_global_options(command: click.Command, *, root: bool = False) -> None:
    """Add the global options to `command` (and to the subcommands of an eagerly built group); metavars made plain;
    a subcommand's help names the global options in one line (they are listed in `qstash --help`)."""
    _plain_metavars(command)
    if not root and GLOBAL_NOTE not in (command.epilog or ""):
        command.epilog = f"{command.epilog}\n\n{GLOBAL_NOTE}" if command.epilog else GLOBAL_NOTE
    taken = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for decls, attrs in GLOBAL_OPTIONS:
        name = decls[0].lstrip("-").replace("-", "_")
        if any(p.name == name for p in command.params):
            continue
        free = [d for d in decls if not d.startswith("-") or d not in taken]  # a command's own option wins
        if not any(d.startswith("-") for d in free):
            continue
        completer = _GLOBAL_COMPLETERS.get(decls[0])
        command.params.append(
            _GlobalOption(
                param_decls=free, expose_value=False, callback=_store, is_eager=True, autocompletion=completer, **attrs
            )
        )
    commands = getattr(command, "commands", None)
    if commands is not None and not isinstance(commands, _LazyCommands):
        for sub in commands.values():
            _add_global_options(sub)


# -- lazy command tree ----------------------------------------------------------------------------------------------
# Typer turns a whole app into Click commands up front (signature inspection of every command function). Here each
# command becomes a Click command only when it is looked up — to run it, show its help or complete it — so start-up
# costs the same whether the tree has 5 commands or 80. The Click objects are the ones Typer builds (Typer 0.28 is
# pinned: `get_command_from_info`, `solve_typer_info_defaults`, ...), with the global options added to each.


class _Entry:
    """A command not built yet: how to build it, and how to show it in its group's command list."""

    __slots__ = ("build", "preview")

    def __init__(self, build: Callable[[], click.Command | None], preview: Callable[[], click.Command]) -> None:
        self.build = build
        self.preview = preview


def _info_preview(name: str, info: CommandInfo | TyperInfo) -> click.Command:
    """A help-only stand-in (name, help, short help, hidden, deprecated) built from Typer's info, no parameters."""
    if isinstance(info, TyperInfo):
        info = typer.main.solve_typer_info_defaults(info)
        text = info.help
    else:
        text = inspect.cleandoc(info.help) if info.help is not None else inspect.getdoc(info.callback)
    return TyperCommand(name, help=text, short_help=info.short_help, hidden=info.hidden, deprecated=info.deprecated)


_module_entries: dict[str, dict[str, _Entry]] = {}  # command module → the commands it registered


class _LazyCommands(MutableMapping[str, click.Command]):
    """A group's subcommands by name; each is built (and given the global options) on first access.

    `missing(self, name)` is the root's hook for a name it does not know: import every command module.
    """

    def __init__(self, entries: dict[str, _Entry], missing: Callable[[_LazyCommands, str], None] | None = None):
        self._entries: dict[str, _Entry | click.Command] = dict(entries)
        self._missing = missing

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._entries and self._missing is not None:
            self._missing(self, name)
        entry = self._entries[name]
        if isinstance(entry, click.Command):
            return entry
        command = entry.build()
        if command is None:  # a listed name its module does not register
            del self._entries[name]
            raise KeyError(name)
        _add_global_options(command)
        self._entries[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def previews(self) -> dict[str, click.Command]:
        """Every subcommand, built or as a help-only stand-in."""
        return {name: entry.preview() if isinstance(entry, _Entry) else entry for name, entry in self._entries.items()}


class _LazyGroup(TyperGroup):
    """A TyperGroup over `_LazyCommands`: listing the names or showing `--help` builds no subcommand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = self.commands
        if isinstance(commands, _LazyCommands):
            self.commands = commands.previews()
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = commands


def _build_command(info: CommandInfo) -> click.Command:
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
    )


def _entries(typer_instance: typer.Typer) -> dict[str, _Entry]:
    """The (unbuilt) subcommands of a Typer app, by name, in Typer's order: commands, then groups."""
    entries: dict[str, _Entry] = {}
    for info in typer_instance.registered_commands:
        name = info.name or typer.main.get_command_name(info.callback.__name__)  # type: ignore[union-attr]
        entries[name] = _Entry(partial(_build_command, info), partial(_info_preview, name, info))
    for group_info in typer_instance.registered_groups:
        name = typer.main.solve_typer_info_defaults(group_info).name
        if name:
            entries[name] = _Entry(partial(_group, group_info), partial(_info_preview, name, group_info))
        elif group_info.typer_instance is not None:  # add_typer() without a name: its commands join this group
            entries.update(_entries(group_info.typer_instance))
    return entries


def _group(
    info: TyperInfo,
    entries: dict[str, _Entry] | None = None,
    missing: Callable[[_LazyCommands, str], None] | None = None,
) -> click.Command:
    """The Click group for a Typer (sub-)app, as Typer's `get_group_from_info` builds it, but with lazy subcommands."""
    solved = typer.main.solve_typer_info_defaults(info)
    if solved.cls not in (None, TyperGroup) or info.typer_instance is None:  # a custom group class: Typer's way
        group = typer.main.get_group_from_info(
            info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
        _add_global_options(group)
        return group
    params, convertors, context_param_name = typer.main.get_params_convertors_ctx_param_name_from_function(
        solved.callback
    )
    return _LazyGroup(
        name=solved.name or "",
        commands=_LazyCommands(_entries(info.typer_instance) if entries is None else entries, missing),
        invoke_without_command=solved.invoke_without_command,
        no_args_is_help=solved.no_args_is_help,
        subcommand_metavar=solved.subcommand_metavar,
        result_callback=solved.result_callback,
        context_settings=solved.context_settings,
        callback=typer.main.get_callback(
            callback=solved.callback,
            params=params,
            convertors=convertors,
            context_param_name=context_param_name,
            pretty_exceptions_short=app.pretty_exceptions_short,
        ),
        params=params,
        help=solved.help,
        epilog=solved.epilog,
        short_help=solved.short_help,
        options_metavar=solved.options_metavar,
        add_help_option=solved.add_help_option,
        hidden=solved.hidden,
        deprecated=solved.deprecated,
        rich_markup_mode=app.rich_markup_mode,
        rich_help_panel=solved.rich_help_panel,
        suggest_commands=app.suggest_commands,
    )


def _import_module(module_name: str) -> dict[str, _Entry]:
    """Import one command module once, register it on the root app, and return the commands it added."""
    if module_name not in _module_entries:
        qualified = f"qstash_cli.commands.{module_name}"
        __import__(qualified)  # (not importlib.import_module: `python -X importtime` does not see that one)
        module = sys.modules[qualified]
        n_commands, n_groups = len(app.registered_commands), len(app.registered_groups)
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
        else:
            app.command(module_name)(getattr(module, module_name))
        added = typer.Typer()
        added.registered_commands = app.registered_commands[n_commands:]
        added.registered_groups = app.registered_groups[n_groups:]
        _module_entries[module_name] = _entries(added)
    return _module_entries[module_name]


def _registered(name: str, module_name: str) -> click.Command | None:
    """Build the top-level command `name` from its module (imported now if need be)."""
    entry = _import_module(module_name).get(name)
    return entry.build() if entry is not None else None


def _import_all(commands: _LazyCommands, name: str) -> None:
    """The root's hook for a name not in COMMANDS: import every module, add what they register."""
    for module_name in COMMAND_MODULES:
        for entry_name, entry in _import_module(module_name).items():
            if entry_name not in commands._entries:
                commands._entries[entry_name] = entry
    commands._missing = None


def _root_entries() -> dict[str, _Entry]:
    """The top-level commands: those of COMMANDS (summaries from there), then any other name already registered."""
    entries = {
        name: _Entry(partial(_registered, name, module), partial(TyperCommand, name, short_help=summary))
        for name, (module, summary) in COMMANDS.items()
    }
    for registered in _module_entries.values():
        for name, entry in registered.items():
            entries.setdefault(name, entry)
    return entries


def build_command() -> click.Command:
    """The Click command tree of the app (subcommands are built on first use), global options on every command."""
    command = _group(TyperInfo(app), _root_entries(), _import_all)
    _add_global_options(command, root=True)
    return command


COMPLETE_VAR = "_QSTASH_COMPLETE"
_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _prepare_completion() -> None:
    """A shell-completion request: register Typer's shell classes (add_completion=False skips that) and accept Click's
    instruction style (`bash_complete`) as well as Typer's (`complete_bash`)."""
    from typer._completion_classes import completion_init

    completion_init()
    first, _, rest = os.environ[COMPLETE_VAR].partition("_")
    if first in _SHELLS and rest in ("complete", "source"):
        os.environ[COMPLETE_VAR] = f"{rest}_{first}"


def _fail(message: str, hint: str | None, code: int) -> int:
    """One `Error:` line (and a `Hint:`), control characters escaped: the text may come from the network."""
    from qstash_cli.safe_text import escape_controls

    sys.stderr.write(f"Error: {escape_controls(message)}\n")
    if hint:
        sys.stderr.write("Hint: " + "\n".join(escape_controls(line) for line in hint.split("\n")) + "\n")
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every failure becomes one `Error:` line (traceback with --debug)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("QSTASH_DEBUG", "").lower() in ("1", "true", "yes")
    try:
        if os.environ.get(COMPLETE_VAR):
            _prepare_completion()
        command = build_command()
        result = command.main(args=args, prog_name="qstash", standalone_mode=False)
        if result == EXIT_INTERRUPTED:  # Typer turns Ctrl-C into Exit(130), silently
            sys.stderr.write("Interrupted\n")
        return result if isinstance(result, int) else 0
    except QstashError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        return _fail(exc.message, exc.hint, exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        return 0
    except click.exceptions.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx else "qstash"
        return _fail(exc.format_message(), f"see '{path} --help'", EXIT_USAGE)
    except click.exceptions.ClickException as exc:
        return _fail(exc.format_message(), None, exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("Interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return 1
    except Exception as exc:  # the last line of defence: never a traceback without --debug
        if debug:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc}", "rerun with --debug for the traceback", 1)


def main() -> None:
    """Console-script entry point. A reader that closed the pipe early (`qstash ... | head -1`) ends it quietly with
    exit 1: no BrokenPipeError trace, not even from the interpreter's last flush."""
    try:
        code = run()
    except SystemExit as exc:  # Typer's own exit on EPIPE
        code = exc.code if isinstance(exc.code, int) else 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = code or 1
    # The interpreter's last garbage collection walks every object still alive: ~10 ms of a 100 ms command here (Typer
    # and the HTTP layer are ~250 modules). Frozen objects are skipped; atexit handlers, thread joins and the flush of
    # open files still run.
    gc.freeze()
    sys.exit(code)
