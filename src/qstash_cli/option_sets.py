"""Groups of options declared once and added to several commands: `with_options(TABLE)` puts the table's options
where a command has its `name: dict = MARKER` parameter, which then receives their values as one dict."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

OptionRow = tuple[str, Any, Any]  # (parameter name = key of the dict, typer.Option(...), annotation)


class Marker:
    """The default of the parameter `with_options` replaces (one distinct marker per option set)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<option set {self.name}>"


def with_options(rows: Sequence[OptionRow], marker: Marker) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: replace the parameter whose default is `marker` by the options of `rows`; the command receives
    `{parameter name: value}` in that parameter."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(command, eval_str=True)
        target = next(p.name for p in sig.parameters.values() if p.default is marker)
        params: list[inspect.Parameter] = []
        for p in sig.parameters.values():
            if p.name == target:
                params += [inspect.Parameter(name, p.kind, default=opt, annotation=tp) for name, opt, tp in rows]
            else:
                params.append(p)

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name, _, _ in rows}
            return command(**kwargs, **{target: values})

        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper

    return decorate
