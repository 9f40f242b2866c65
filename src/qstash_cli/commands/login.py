"""`qstash login`."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Registered by the module's owner."""
