"""The rules package has no import circles (module-level, function-level and TYPE_CHECKING
imports all count): incremental maintenance, equality and consistency checking use the
engine's public interface (``incremental.Engine``) instead of importing it back."""

from __future__ import annotations

import ast
from pathlib import Path

import kg_engine.rules

PKG = Path(kg_engine.rules.__file__).parent


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    mods = {_module(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    base = ".".join(name.split(".")[: -node.level] + [node.module])
                out.update(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        graph[name] = {m for m in out if m in mods and m != name and m != "kg_engine.rules"}
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
        for w in graph.get(v, ()):
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


def test_no_import_circles_in_rules():
    assert cycles(import_graph()) == []


def test_engine_is_above_incremental_sameas_consistency_below():
    g = import_graph()
    for low in ("incremental", "sameas", "results", "tables"):
        assert "kg_engine.rules.engine" not in g[f"kg_engine.rules.{low}"], low
    assert "kg_engine.rules.consistency" not in g["kg_engine.rules.engine"]


def test_cycle_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
