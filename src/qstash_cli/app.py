"""The root command: global options, the command groups, and main() — the error boundary."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from typer import _click as click  # Typer 0.28 vendors Click; pinned in pyproject
from typer.core import TyperOption

from qstash_cli import __version__
from qstash_cli.errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_USAGE, QstashError
from qstash_cli.settings import Settings

# Command modules, in help order. Each exposes `register(app)`, or one command function named after it.
COMMAND_MODULES = (
    "publish",
    "topics",
    "endpoints",
    "messages",
    "tasks",
    "schedules",
    "keys",
    "quota",
    "logs",
    "dlq",
    "verify",
    "listen",
    "cron",
    "dev",
    "config_cmd",
    "login",
    "completion",
)

EPILOG = "Exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()) + "."

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
    (("--profile", "-p"), {"help": "Config profile to use (env QSTASH_PROFILE); `dev` = local server."}),
    (("--url",), {"help": "API base URL (env QSTASH_URL)."}),
    (("--token",), {"help": "API token (env QSTASH_TOKEN). Prefer `qstash login`."}),
    (("--api",), {"help": "API dialect: v2 (default) or v1 (legacy) (env QSTASH_API)."}),
    (("--json",), {"is_flag": True, "help": "Print the API's JSON as one document."}),
    (("--quiet", "-q"), {"is_flag": True, "help": "Print only ids, one per line."}),
    (("--debug",), {"is_flag": True, "help": "Trace requests (token redacted) and show tracebacks."}),
]


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value not in (None, False):
        settings = ctx.find_root().obj
        if isinstance(settings, Settings):
            setattr(settings.opts, param.name or "", value)


def _add_global_options(command: click.Command) -> None:
    for decls, attrs in GLOBAL_OPTIONS:
        name = decls[0].lstrip("-")
        if any(p.name == name for p in command.params):
            continue
        command.params.append(
            TyperOption(param_decls=list(decls), expose_value=False, callback=_store, is_eager=True, **attrs)
        )
    for sub in getattr(command, "commands", {}).values():
        _add_global_options(sub)


def build_command() -> click.Command:
    """The Click command tree of the app, with the global options on every command."""
    if not app.registered_commands and not app.registered_groups:
        for name in COMMAND_MODULES:
            module = importlib.import_module(f"qstash_cli.commands.{name}")
            register = getattr(module, "register", None)
            if register is not None:
                register(app)
            else:
                app.command(name)(getattr(module, name))
    command = typer.main.get_command(app)
    _add_global_options(command)
    return command


def _fail(message: str, hint: str | None, code: int) -> int:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Hint: {hint}\n")
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every failure becomes one `Error:` line (traceback with --debug)."""
    args = sys.argv[1:] if argv is None else list(argv)
    settings = Settings()
    debug = "--debug" in args or os.environ.get("QSTASH_DEBUG", "").lower() in ("1", "true", "yes")
    try:
        command = build_command()
        result = command.main(args=args, prog_name="qstash", standalone_mode=False, obj=settings)
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
    """Console-script entry point."""
    sys.exit(run())
