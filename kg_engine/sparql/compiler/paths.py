"""Property paths → SQL: ``/`` joins, ``|`` UNION ALL, ``^`` swaps, ``!`` NOT IN,
``+``/``*`` ``WITH RECURSIVE`` closures (seeded from a constant end when there is one),
``?`` a UNION with the zero-length pairs.

Every path compiles to a SELECT with columns ``s, o`` (plus ``g`` under ``GRAPH ?g``).
Multiplicity follows rdflib's evaluator: sequences and alternatives keep duplicates,
``*``/``+``/``?`` return each pair once.
"""

from __future__ import annotations

from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.term import Identifier, URIRef, Variable

from .block import Decline
from .context import CompileContext, GraphScope
from .sql import Sql, param, sql

__all__ = ["compile_path"]


def _gfilter(cc: CompileContext, scope: GraphScope, alias: str = "") -> tuple[Sql, bool]:
    """(condition on g, whether duplicates across graphs must be removed)."""
    g = Sql(f"{alias}g" if not alias else f"{alias}.g")
    if scope.mode == "ids":
        if len(scope.ids) == 1:
            return sql("{} = {}", g, param(scope.ids[0])), False
        if not scope.ids:
            return Sql("1=0"), False
        ids = Sql.join(", ", [param(i) for i in scope.ids])
        return sql("{} IN ({})", g, ids), not scope.disjoint
    if scope.mode == "union":
        return Sql("1=1"), True
    named = cc.dataset.named
    if named is None:
        return sql("{} <> 0", g), False
    ids = [i for i in (cc.tid(n) for n in named) if i > 0]
    if not ids:
        return Sql("1=0"), False
    return sql("{} IN ({})", g, Sql.join(", ", [param(i) for i in ids])), False


def _gv(scope: GraphScope) -> bool:
    return scope.mode == "var"


def _step(cc: CompileContext, p: URIRef, scope: GraphScope, inverse: bool = False) -> Sql:
    cond, dedup = _gfilter(cc, scope)
    s, o = ("o", "s") if inverse else ("s", "o")
    gcol = ", g" if _gv(scope) else ""
    return sql(
        f"SELECT {'DISTINCT ' if dedup else ''}{s} AS s, {o} AS o{gcol} FROM kg_quads "
        f"WHERE p = {{}} AND {{}}", cc.tparam(p), cond)


def _nodes(cc: CompileContext, scope: GraphScope) -> Sql:
    """Every node (subject or object) of the active graph(s): the zero-length pairs."""
    cond, _ = _gfilter(cc, scope)
    gcol = ", g" if _gv(scope) else ""
    return sql(
        f"SELECT s AS s, s AS o{gcol} FROM kg_quads WHERE {{}} UNION "
        f"SELECT o AS s, o AS o{gcol} FROM kg_quads WHERE {{}}", cond, cond)


def _seed(cc: CompileContext, term: Identifier) -> Sql | None:
    """A parameter for a path end that is a constant (or bound from outside)."""
    if isinstance(term, Variable):
        col = cc.env.get(term)
        if col is not None and col.is_id and col.e.text == "?":
            return col.e
        return None
    return cc.tparam(term)


def compile_path(cc: CompileContext, s: Identifier, path: Path, o: Identifier,
                 scope: GraphScope) -> Sql:
    """A SELECT (columns s, o[, g]) of the pairs connected by ``path``."""
    return _compile(cc, path, scope, _seed(cc, s), _seed(cc, o))


def _compile(cc: CompileContext, path: object, scope: GraphScope,
             s_seed: Sql | None, o_seed: Sql | None) -> Sql:
    gv = _gv(scope)
    if isinstance(path, URIRef):
        cc.resolve([path])
        return _step(cc, path, scope)
    if isinstance(path, InvPath):
        inner = _compile(cc, path.arg, scope, o_seed, s_seed)
        a = cc.alias("i")
        return sql(f"SELECT {a}.o AS s, {a}.s AS o{', ' + a + '.g' if gv else ''} FROM ({{}}) AS {a}", inner)
    if isinstance(path, SequencePath):
        parts = list(path.args)
        cur = _compile(cc, parts[0], scope, s_seed, None)
        for k, part in enumerate(parts[1:], start=1):
            nxt = _compile(cc, part, scope, None, o_seed if k == len(parts) - 1 else None)
            a, b = cc.alias("a"), cc.alias("b")
            gsel = f", {a}.g" if gv else ""
            gon = f" AND {a}.g = {b}.g" if gv else ""
            cur = sql(f"SELECT {a}.s AS s, {b}.o AS o{gsel} FROM ({{}}) AS {a} JOIN ({{}}) AS {b} "
                      f"ON {a}.o = {b}.s{gon}", cur, nxt)
        return cur
    if isinstance(path, AlternativePath):
        return Sql.join(" UNION ALL ", [
            sql("SELECT * FROM ({}) AS " + cc.alias("u"), _compile(cc, x, scope, s_seed, o_seed))
            for x in path.args])
    if isinstance(path, NegatedPath):
        fwd = [x for x in path.args if isinstance(x, URIRef)]
        inv = [x.arg for x in path.args if isinstance(x, InvPath)]
        cc.resolve(fwd + inv)
        cond, dedup = _gfilter(cc, scope)
        gcol = ", g" if gv else ""
        dist = "DISTINCT " if dedup else ""
        parts = []
        if fwd or not inv:
            notin = (sql(" AND p NOT IN ({})", Sql.join(", ", [cc.tparam(x) for x in fwd]))
                     if fwd else Sql(""))
            parts.append(sql(f"SELECT {dist}s AS s, o AS o{gcol} FROM kg_quads WHERE {{}}{{}}", cond, notin))
        if inv:
            notin = sql(" AND p NOT IN ({})", Sql.join(", ", [cc.tparam(x) for x in inv]))
            parts.append(sql(f"SELECT {dist}o AS s, s AS o{gcol} FROM kg_quads WHERE {{}}{{}}", cond, notin))
        return Sql.join(" UNION ALL ", parts)
    if isinstance(path, MulPath):
        return _mul(cc, path, scope, s_seed, o_seed)
    raise Decline(f"unsupported property path {path!r}")


def _mul(cc: CompileContext, path: MulPath, scope: GraphScope,
         s_seed: Sql | None, o_seed: Sql | None) -> Sql:
    gv = _gv(scope)
    g = ", g" if gv else ""
    base = _compile(cc, path.path, scope, None, None)
    zero = path.mod in ("*", "?")
    # zero-length pairs
    if zero:
        if s_seed is not None and not gv:
            zeros = sql("SELECT {} AS s, {} AS o", s_seed, s_seed)
        elif o_seed is not None and not gv:
            zeros = sql("SELECT {} AS s, {} AS o", o_seed, o_seed)
        else:
            zeros = _nodes(cc, scope)
    if path.mod == "?":
        one = sql("SELECT s, o" + g + " FROM ({}) AS " + cc.alias("m"), base)
        return sql("{} UNION {}", zeros, one)
    b, r = cc.alias("base"), cc.alias("rec")
    ga = f", {r}.g" if gv else ""
    gon = f" AND {b}.g = {r}.g" if gv else ""
    if s_seed is not None:
        seed = sql(f"SELECT s, o{g} FROM {b} WHERE s = {{}}", s_seed)
        step = f"SELECT {r}.s, {b}.o{ga} FROM {r} JOIN {b} ON {b}.s = {r}.o{gon}"
    elif o_seed is not None:
        seed = sql(f"SELECT s, o{g} FROM {b} WHERE o = {{}}", o_seed)
        step = f"SELECT {b}.s, {r}.o{ga} FROM {r} JOIN {b} ON {b}.o = {r}.s{gon}"
    else:
        seed = Sql(f"SELECT s, o{g} FROM {b}")
        step = f"SELECT {r}.s, {b}.o{ga} FROM {r} JOIN {b} ON {b}.s = {r}.o{gon}"
    cols = "s, o, g" if gv else "s, o"
    rec = sql(f"WITH RECURSIVE {b}({cols}) AS ({{}}), {r}({cols}) AS ({{}} UNION {step}) "
              f"SELECT {cols} FROM {r}", base, seed)
    if zero:
        return sql("{} UNION SELECT " + cols + " FROM ({}) AS " + cc.alias("z"), zeros, rec)
    return rec
