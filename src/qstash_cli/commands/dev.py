"""`qstash dev` (placeholder until the server lands; owned by the server engineer)."""

import typer


def register(root: typer.Typer) -> None:
    """Registered by the module's owner."""
