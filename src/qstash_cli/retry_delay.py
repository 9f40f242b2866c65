"""The `Upstash-Retry-Delay` grammar, shared by the CLI (checked before sending) and `qstash dev` (checked on publish,
evaluated on each retry): an arithmetic formula in milliseconds over `retried`. Stdlib only."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

FUNCTIONS: dict[str, Callable[..., float]] = {
    "pow": pow,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "abs": abs,
    "floor": math.floor,
    "ceil": math.ceil,
    "round": round,
    "min": min,
    "max": max,
}
_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
    ast.USub,
    ast.UAdd,
)  # fmt: skip  (powers: the pow function)
MAX_LENGTH = 500


def problem(expr: str) -> str | None:
    """What is wrong with a retry-delay formula, or None when it is one."""
    if not expr.strip() or len(expr) > MAX_LENGTH:
        return "not a formula"
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return "not a formula"
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            return "only numbers, `retried`, + - * / % and the functions are allowed"
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, int | float)):
            return "only numbers are allowed as constants"
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id != "retried":
            return f"unknown name {node.id!r}"
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords
        ):
            return "only the functions " + ", ".join(FUNCTIONS) + " can be called"
    return None


def milliseconds(expr: str, retried: int) -> float | None:
    """The delay before retry number `retried` (0 for the first), clamped to 0 … 1 day; None when it fails."""
    if problem(expr) is not None:
        return None
    try:
        code = compile(ast.parse(expr.strip(), mode="eval"), "<retry-delay>", "eval")
        value = eval(code, {"__builtins__": {}}, {**FUNCTIONS, "retried": retried})  # noqa: S307 - AST-checked
        return max(0.0, min(float(value), 86400_000.0))
    except (ArithmeticError, ValueError, TypeError, OverflowError):
        return None
