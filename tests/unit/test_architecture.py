"""docs/architecture.md stays true: every import rule it tags ([C1], [S1], ...) is checked here, over every import
statement of the package (those inside functions included), parsed with `ast`."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PKG = SRC / "qstash_cli"
DOC = ROOT / "docs" / "architecture.md"

STORE_SIDE = {
    "store",
    "data",
    "logrows",
    "catalog",
    "queries",
    "filters",
    "scheduler",
    "engine",
    "duequeue",
    "outbound",
    "deliverer",
    "attempt_headers",
    "publishing",
    "parse",
    "models",
    "ids",
    "quota",
    "redact",
    "flows",
}
HTTP_LAYER = {"app", "context", "intake", "handlers", "shapes", "http", "lane", "run"}
ABOVE_STORE = {"app", "context", "intake", "handlers", "shapes", "lane"}  # and routes/


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(module: str) -> Iterator[str]:
    """Every module an import statement of `module` names (`from a import b` yields `a` and `a.b`)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(importer: Callable[[str], bool], forbidden: Callable[[str, str], bool]) -> list[str]:
    """`module imports name` lines for every import of a module `importer` selects that `forbidden` refuses."""
    return sorted({f"{m} imports {name}" for m in MODULES if importer(m) for name in _imports(m) if forbidden(m, name)})


def _server(name: str) -> str | None:
    """`routes/x` → "routes", `server.x` → "x", else None."""
    if not _within(name, "qstash_cli.server") or name == "qstash_cli.server":
        return None
    return name.split(".")[2]


def _is_project(name: str) -> bool:
    return _within(name, "qstash_cli")


# -- CLI side -----------------------------------------------------------------------------------------------------


def c1() -> list[str]:
    return _violations(lambda m: not _within(m, "qstash_cli.api"), lambda m, n: _within(n, "httpx"))


def c2() -> list[str]:
    return _violations(
        lambda m: not _within(m, "qstash_cli.commands"),
        lambda m, n: _within(n, "qstash_cli.commands") or n == "qstash_cli.commands",
    )


def c3() -> list[str]:
    def forbidden(m: str, n: str) -> bool:
        allowed = m == "qstash_cli.commands.dev" and _within(n, "qstash_cli.server.run")
        return _within(n, "qstash_cli.server") and not allowed

    return _violations(lambda m: not _within(m, "qstash_cli.server"), forbidden)


def c4() -> list[str]:
    allowed = ("qstash_cli.api", "qstash_cli.errors", "qstash_cli.output", "qstash_cli.safe_text")

    def forbidden(m: str, n: str) -> bool:
        return (
            _is_project(n)
            and n not in ("qstash_cli", "qstash_cli.__version__")
            and not any(_within(n, a) for a in allowed)
        )

    return _violations(lambda m: _within(m, "qstash_cli.api"), forbidden)


def c5() -> list[str]:
    leaves = ("qstash_cli.errors", "qstash_cli.safe_text", "qstash_cli.table_layout")
    above = ("qstash_cli.inputs", "qstash_cli.config", "qstash_cli.output")

    def forbidden(m: str, n: str) -> bool:
        return _is_project(n) and (m in leaves or not any(_within(n, leaf) for leaf in leaves))

    return _violations(lambda m: m in leaves or m in above, forbidden)


# -- server side --------------------------------------------------------------------------------------------------


def _route(name: str) -> str | None:
    """The route module `name` is in (`qstash_cli.server.routes.dlq[.x]` → "dlq"), else None."""
    if not _within(name, "qstash_cli.server.routes") or name == "qstash_cli.server.routes":
        return None
    return name.split(".")[3]


def s1() -> list[str]:
    return _violations(lambda m: _route(m) is not None, lambda m, n: _route(n) not in (None, _route(m)))


def s2() -> list[str]:
    def forbidden(m: str, n: str) -> bool:
        if _server(n) == "routes":
            return m != "qstash_cli.server.app" and _route(m) is None and m != "qstash_cli.server.routes"
        return _server(n) == "app" and m not in ("qstash_cli.server.run", "qstash_cli.server.app")

    return _violations(lambda m: _within(m, "qstash_cli.server"), forbidden)


def s3() -> list[str]:
    def forbidden(m: str, n: str) -> bool:
        third_party = _within(n, "starlette") or _within(n, "uvicorn")
        return third_party or _server(n) in HTTP_LAYER | {"routes"}

    return _violations(lambda m: _server(m) in STORE_SIDE and m.count(".") == 2, forbidden)


def s4() -> list[str]:
    found = []
    for m, path in MODULES.items():
        if not (_server(m) == "routes" or (_server(m) in ABOVE_STORE and m.count(".") == 2)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "executescript"):
                found.append(f"{m}:{node.lineno} calls .{node.attr}")
    return found


def s5() -> list[str]:
    shared = ("qstash_cli.signing", "qstash_cli.devcreds", "qstash_cli.retry_delay")
    return _violations(
        lambda m: _within(m, "qstash_cli.server"),
        lambda m, n: (
            _is_project(n)
            and not _within(n, "qstash_cli.server")
            and n != "qstash_cli"
            and not any(_within(n, s) for s in shared)
        ),
    )


def s6() -> list[str]:
    out = []
    for m, path in MODULES.items():
        if _within(m, "qstash_cli.server"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            limit = 199 if m == "qstash_cli.server.app" else 450
            if lines > limit:
                out.append(f"{m}: {lines} lines (at most {limit})")
    return out


RULES: dict[str, Callable[[], list[str]]] = {
    "C1": c1,
    "C2": c2,
    "C3": c3,
    "C4": c4,
    "C5": c5,
    "S1": s1,
    "S2": s2,
    "S3": s3,
    "S4": s4,
    "S5": s5,
    "S6": s6,
}


def test_every_rule_the_page_states_is_checked() -> None:
    stated = set(re.findall(r"\*\*\[([CS]\d+)\]\*\*", DOC.read_text(encoding="utf-8")))
    assert stated == set(RULES), f"docs/architecture.md states {sorted(stated)}, this test checks {sorted(RULES)}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_holds(rule: str) -> None:
    assert RULES[rule]() == []


def test_a_violation_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks can fail: a route module importing another, and SQL in a route, are reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from qstash_cli.server.routes import dlq\nimport httpx\n\ndef f(conn):\n    conn.execute('SELECT 1')\n"
    )
    monkeypatch.setitem(MODULES, "qstash_cli.server.routes.bad", bad)
    assert s1() == ["qstash_cli.server.routes.bad imports qstash_cli.server.routes.dlq"]
    assert s4() == ["qstash_cli.server.routes.bad:5 calls .execute"]
    assert "qstash_cli.server.routes.bad imports httpx" in c1()


def test_the_route_tables_are_assembled_from_every_route_module() -> None:
    """One module per resource in routes/, each with its ROUTES, all of them assembled by app.routes()."""
    from qstash_cli.server import app

    assembled = {id(route) for route in app.routes()}
    for m in (m for m in MODULES if _route(m) is not None):
        module = __import__(m, fromlist=["ROUTES"])
        assert module.ROUTES and all(id(r) in assembled for r in module.ROUTES), f"{m}.ROUTES is not assembled"
