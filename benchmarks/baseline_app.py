"""The startup baseline: a bare two-command Typer app (same Typer, same interpreter as `qstash`).

It is configured like qstash where that changes what gets imported (plain Click help, no Rich), so the ratio
measures what qstash adds on top of Typer itself, not a difference in help rendering.
Run as `python benchmarks/baseline [--version | --help | hello --help]`; completion:
`_BASELINE_COMPLETE=complete_bash COMP_WORDS="baseline he" COMP_CWORD=1 python benchmarks/baseline`.
"""

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        print("baseline 0.1.0")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print version.")):
    """A bare two-command Typer app."""


@app.command()
def hello(name: str = typer.Argument(..., help="Who to greet."), loud: bool = typer.Option(False, help="Shout.")):
    """Say hello."""
    print(f"Hello {name}{'!' if loud else '.'}")


@app.command()
def goodbye(name: str = typer.Argument(..., help="Who to see off.")):
    """Say goodbye."""
    print(f"Goodbye {name}.")


def main() -> None:
    app(prog_name="baseline")


if __name__ == "__main__":
    main()
