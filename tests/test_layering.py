"""No import circles in ``kg_engine.store``, ``kg_engine.sparql`` and ``kg_engine.rules``
(module-level, function-level and TYPE_CHECKING imports all count).

In ``rules``, incremental maintenance, equality and consistency checking use the engine's
public interface (``incremental.Engine``) instead of importing it back.

The two circles this replaced: ``store.loader`` ↔ ``store.sqlstore`` (the loader now names the
store it fills by a Protocol) and ``sparql.parsing`` → ``functions`` → ``evaluation`` →
``compiler`` → ``parsing`` (the parser registers itself with the compiler instead of being
imported by it), plus ``engine`` ↔ ``update`` (``sql_store_of`` lives in ``dataset``).

One circle is the grammar's own recursion and stays, stated here: a pattern holds a
sub-SELECT and a sub-SELECT (or an aggregate's group) holds a pattern, so
``compiler.patterns``, ``compiler.modifiers`` and ``compiler.aggregates`` call each other
through function-level imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kg_engine

ROOT = Path(kg_engine.__file__).parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (a package counts as its ``__init__``)."""
    pkg_dir = ROOT / package.split(".", 1)[1].replace(".", "/")
    files = {_module(p): p for p in pkg_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for a in node.names:
                    full = f"{base}.{a.name}"
                    out.add(full if full in files else base)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        graph[name] = {m for m in out if m in files and m != name and m != package}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


RECURSION = [["kg_engine.sparql.compiler.aggregates", "kg_engine.sparql.compiler.modifiers",
              "kg_engine.sparql.compiler.patterns"]]


@pytest.mark.parametrize(("package", "allowed"), [("kg_engine.store", []),
                                                  ("kg_engine.sparql", RECURSION),
                                                  ("kg_engine.rules", [])])
def test_no_import_circles(package: str, allowed: list[list[str]]) -> None:
    assert cycles(import_graph(package)) == allowed


def test_the_compiler_does_not_import_the_parser() -> None:
    g = import_graph("kg_engine.sparql")
    assert "kg_engine.sparql.parsing" not in g["kg_engine.sparql.compiler.plan"]
    assert "kg_engine.store.sqlstore" not in import_graph("kg_engine.store")["kg_engine.store.loader"]


def test_engine_is_above_incremental_sameas_consistency_below() -> None:
    g = import_graph("kg_engine.rules")
    for low in ("incremental", "sameas", "results", "tables"):
        assert "kg_engine.rules.engine" not in g[f"kg_engine.rules.{low}"], low
    assert "kg_engine.rules.consistency" not in g["kg_engine.rules.engine"]


def test_walker_resolves_relative_imports_of_a_package_init() -> None:
    g = import_graph("kg_engine.sparql")
    assert "kg_engine.sparql.compiler.plan" in g["kg_engine.sparql.compiler"]


def test_cycle_finder_sees_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
