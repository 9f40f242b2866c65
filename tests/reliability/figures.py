"""Figures the reliability tests produce, collected in tests/reliability/figures.json (quoted by docs/reliability.md).
Set QSTASH_RELIABILITY_FIGURES to write them elsewhere."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
# Read at import: the tests' `isolated` fixture removes every QSTASH_* variable before a test records its figures.
_OVERRIDE = os.environ.get("QSTASH_RELIABILITY_FIGURES")


def figures_path() -> Path:
    return Path(_OVERRIDE or Path(__file__).with_name("figures.json"))


def record(section: str, values: dict[str, Any]) -> None:
    """Merge `values` under `section` in the figures file (and print them for the test log)."""
    print(f"[reliability] {section}: {json.dumps(values, sort_keys=True)}")
    path = figures_path()
    with _LOCK:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        data[section] = values
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
