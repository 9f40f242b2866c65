"""The API client: one attribute per resource group, each speaking the selected dialect (v1 or v2).

`Client(url, token, "v2").topics.get("orders")` → plain dict. Group modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from qstash_cli.api.transport import Transport

GROUPS = (
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
    "queues",
    "flow_control",
    "workflows",
)


class Client:
    """Entry point of the API layer. Each group module exposes `V1` and `V2` classes taking a Transport."""

    def __init__(
        self,
        url: str,
        token: str | Callable[[], str],
        api: str = "v2",
        *,
        debug: bool = False,
        deadline: float | None = None,
        quiet: bool = False,
        one_shot: bool = False,
    ) -> None:
        self.api = api
        self.transport = Transport(url, token, debug=debug, quiet=quiet, one_shot=one_shot)
        if deadline is not None:
            self.transport.deadline = deadline
        self._groups: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in GROUPS:
            raise AttributeError(name)
        if name not in self._groups:
            module = importlib.import_module(f"qstash_cli.api.{name}")
            self._groups[name] = getattr(module, self.api.upper())(self.transport)
        return self._groups[name]
