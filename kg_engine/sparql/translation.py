"""Corrections to rdflib's parse tree → algebra translation (SPARQL 1.1 §18.2).

kg-engine parses with rdflib's grammar and ``translateQuery``; where that translation
differs from the spec, the algebra is repaired here, per parsed query, never by patching
rdflib:

* ``SELECT *`` projects the variables *in scope* (§18.2.1): not those of ``MINUS``,
  ``FILTER`` or ``EXISTS`` patterns, but those of a trailing ``VALUES`` clause — in order of
  first appearance in the text (rdflib projects every variable mentioned, in set order);
* ``EXISTS``/``NOT EXISTS`` in a SELECT expression, ORDER BY, GROUP BY or HAVING gets its
  graph pattern translated (rdflib translates it only in FILTER and BIND);
* ``FILTER(false)`` (any constant whose effective boolean value is false) is kept (rdflib
  drops it: ``if filters:`` tests the literal's truth);
* an empty ``VALUES ?x { }`` is the empty multiset (rdflib leaves ``[]``, which its evaluator
  and our compiler cannot evaluate).

Example:
    >>> from rdflib.plugins.sparql.algebra import translateQuery
    >>> from rdflib.plugins.sparql.parser import parseQuery
    >>> text = "SELECT * WHERE { ?s <urn:p> ?o MINUS { ?o <urn:q> ?l } }"
    >>> parsed = parseQuery(text)
    >>> prepare_parse_tree(parsed)
    >>> query = translateQuery(parsed)
    >>> repair(query, text)
    >>> [str(v) for v in query.algebra.PV]
    ['s', 'o']
"""

from __future__ import annotations

import re
from typing import Any

from pyparsing import ParseResults
from rdflib.paths import Path
from rdflib.plugins.sparql.algebra import (
    _addVars,
    _traverseAgg,
    analyse,
    and_,
    simplify,
    translateGroupGraphPattern,
    translatePath,
    traverse,
)
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Literal, URIRef, Variable

__all__ = ["describe_targets", "in_scope", "prepare_parse_tree", "repair"]

#: stands for ``*`` in a projection until :func:`repair` knows the in-scope variables
_STAR = Variable("__kg_select_star__")
#: the placeholder row of an empty VALUES block (see :func:`prepare_parse_tree`)
_EMPTY = URIRef("urn:kg-engine:empty-values")
_VAR = re.compile(r"[?$]([A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)")


def prepare_parse_tree(parsed: Any) -> None:
    """Before translation: give every ``SELECT *`` (query and sub-queries) a placeholder
    projection and every empty ``VALUES`` a placeholder row, so :func:`repair` can find them
    afterwards; keep constant false filters (``FILTER(false)``), which the translation drops;
    ``GROUP BY (expr)`` groups by the expression."""
    stack = [parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name in ("SelectQuery", "SubSelect") and not _get(node, "projection") \
                    and not _get(node, "groupby"):
                node["projection"] = [CompValue("vars", var=_STAR)]
            elif node.name == "DescribeQuery" and not _get(node, "var") and _get(node, "where"):
                node["var"] = [_STAR]  # DESCRIBE * (rdflib: "'NoneType' object is not iterable")
            elif node.name in ("InlineData", "ValuesClause") and _get(node, "var") \
                    and not _get(node, "value"):
                # an empty VALUES: one placeholder row keeps its variables through the
                # translation (rdflib drops them); repair() empties it again
                n = len(node["var"])
                node["value"] = [[_EMPTY] * n] if n > 1 else [_EMPTY]
            elif node.name == "GroupClause":
                # ``GROUP BY (expr)`` without AS parses as a GroupAs with no variable, which
                # rdflib turns into an Extend of None ("Cannot eval thing: None"): group by
                # the expression itself
                node["condition"] = [
                    c["expr"] if isinstance(c, CompValue) and c.name == "GroupAs"
                    and _get(c, "var") is None else c for c in node["condition"]]
            elif node.name == "Filter" and _false_constant(_get(node, "expr")):
                # rdflib drops a filter whose expression is a false-valued constant
                # (``if filters:``): make it an expression that is truthy as a Python object
                node["expr"] = and_(node["expr"], Literal(True))
            stack.extend(v for v in node.values() if isinstance(v, (CompValue, ParseResults, list)))
        elif isinstance(node, (ParseResults, list, tuple)):
            stack.extend(v for v in node if isinstance(v, (CompValue, ParseResults, list)))


def _get(node: CompValue, key: str) -> Any:
    """``node[key]`` or None (``CompValue.get`` returns the key itself when it is absent)."""
    return dict.get(node, key)


def _false_constant(expr: Any) -> bool:
    """Whether a parsed expression is just a literal that is false as a Python object."""
    while isinstance(expr, CompValue) and [k for k in expr if k != "_vars"] == ["expr"]:
        expr = expr["expr"]
    return isinstance(expr, Literal) and not expr


def in_scope(node: Any) -> set[Variable]:
    """The variables in scope in a graph-pattern algebra node (§18.2.1)."""
    if not isinstance(node, CompValue):
        return set()
    name = node.name
    if name == "BGP":
        out: set[Variable] = set()
        for t in node.triples:
            out.update(x for x in (t[0], t[2]) if isinstance(x, Variable))
            if isinstance(t[1], Variable):
                out.add(t[1])
        return out
    if name in ("Filter", "ToMultiSet", "OrderBy", "Distinct", "Reduced", "Slice", "Group"):
        return in_scope(node.p) if isinstance(node.p, CompValue) else set()
    if name in ("Join", "LeftJoin", "Union"):
        return in_scope(node.p1) | in_scope(node.p2)
    if name == "Minus":
        return in_scope(node.p1)
    if name == "Extend":
        return in_scope(node.p) | {node.var}
    if name == "Graph":
        return in_scope(node.p) | ({node.term} if isinstance(node.term, Variable) else set())
    if name == "values":
        return {k for row in node.res for k in row} | set(dict.get(node, "kg_vars") or ())
    if name == "Project":
        return set(node.PV)
    if name == "AggregateJoin":
        return {a.res for a in node.A}
    return {v for v in _mentions(node) if not str(v).startswith("__")}


def _mentions(node: Any) -> set[Variable]:
    out: set[Variable] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Variable):
            out.add(n)
        elif isinstance(n, CompValue):
            stack.extend(n.values())
        elif isinstance(n, (list, tuple)):
            stack.extend(n)
    return out


def _fix_star(node: CompValue, order: dict[str, int], parents: list[CompValue]) -> None:
    scope = sorted(in_scope(node.p), key=lambda v: (order.get(str(v), len(order)), str(v)))
    old = list(node.PV)
    # [*]: SELECT *; else a CONSTRUCT/DESCRIBE whose variables rdflib collected, the star of a
    # sub-query among them
    pv = scope if old == [_STAR] else [v for v in old if v != _STAR] + [
        v for v in scope if v not in old]
    node["PV"] = pv
    for parent in parents:  # SelectQuery (and Slice/Distinct wrappers) repeat the projection
        if _get(parent, "PV") is not None and list(parent["PV"]) == old:
            parent["PV"] = pv


def _translate_exists(n: CompValue) -> None:
    graph = n.graph
    if isinstance(graph, CompValue) and not _get(graph, "translated"):
        graph = traverse(graph, visitPost=translatePath)
        graph = translateGroupGraphPattern(graph)
        if graph.name == "Filter":
            graph.no_isolated_scope = True
        n["graph"] = traverse(graph, visitPost=simplify)
        _traverseAgg(n["graph"], visitor=analyse)


_DESCRIBE = re.compile(r"\bDESCRIBE\b(.*?)(?:\bWHERE\b|\{|\bFROM\b|$)", re.IGNORECASE | re.DOTALL)


def describe_targets(query: Any, text: str) -> None:
    """``DESCRIBE ?x … WHERE { { SELECT … } }`` describes the values of the variables it names
    (§16.4); rdflib's translation (and the fast parser, which builds the same algebra) adds
    a sub-select's projected variables to them."""
    alg = query.algebra
    if not isinstance(alg, CompValue) or alg.name != "DescribeQuery" or alg.p is None:
        return
    m = _DESCRIBE.search(text)
    if m is None or "*" in m.group(1):
        return
    named = {m2.group(1) for m2 in _VAR.finditer(m.group(1))}
    pv = [v for v in alg.PV if not isinstance(v, Variable) or str(v) in named]
    if len(pv) == len(alg.PV):
        return
    node = alg.p
    while isinstance(node, CompValue) and node.name in ("Distinct", "Reduced", "Slice", "OrderBy"):
        node = node.p
    if isinstance(node, CompValue) and node.name == "Project":
        node["PV"] = [v for v in node.PV if str(v) in named]
    alg["PV"] = pv


def repair(query: Any, text: str) -> None:
    """Apply the corrections of the module docstring to a translated rdflib ``Query``."""
    stars: list[tuple[CompValue, list[CompValue]]] = []
    changed = False
    stack: list[tuple[Any, list[CompValue]]] = [(query.algebra, [])]
    while stack:
        node, parents = stack.pop()
        if isinstance(node, Path):
            continue
        if isinstance(node, CompValue):
            name = node.name
            if name == "Project" and _STAR in node.PV:
                stars.append((node, parents))
            elif name == "ToMultiSet" and isinstance(node.p, list) and not node.p:
                node["p"] = CompValue("values", res=[])  # VALUES () { }
                changed = True
            elif name == "values" and node.res and all(
                    v is _EMPTY or v == _EMPTY for row in node.res for v in row.values()):
                node["kg_vars"] = [k for row in node.res for k in row]
                node["res"] = []
                changed = True
            elif name in ("Builtin_EXISTS", "Builtin_NOTEXISTS") and \
                    not _get(node.graph, "translated"):
                _translate_exists(node)
                changed = True
            # the nodes above a Project up to the next Project repeat its PV (SelectQuery)
            kids = [node, *parents] if name != "Project" else []
            stack.extend((v, kids) for k, v in node.items() if k != "_vars")
        elif isinstance(node, (list, tuple)):
            stack.extend((v, parents) for v in node)
        elif isinstance(node, dict):
            stack.extend((v, parents) for v in node.values())
    if stars:
        order: dict[str, int] = {}
        for i, m in enumerate(_VAR.finditer(text)):
            order.setdefault(m.group(1), i)
        for node, parents in reversed(stars):  # inner sub-queries first
            _fix_star(node, order, parents)
    if changed or stars:
        _traverseAgg(query.algebra, _addVars)
