"""Graph-pattern operators → SQL: Join, LeftJoin (OPTIONAL), Union, Minus, Filter, Extend
(BIND), VALUES, GRAPH, sub-queries.

``compile_pattern(cc, node, scope)`` returns a :class:`~.block.Block` whose columns are the
variables the node binds. Plain blocks are extended in place (one SELECT for a whole BGP +
FILTER + OPTIONAL chain); anything else is wrapped as a derived table first.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Identifier, URIRef, Variable

from .bgp import compile_bgp
from .block import SQLITE_JOIN_SPLIT, Block, Col, FromItem
from .context import CompileContext, GraphScope
from .expressions import ExprCompiler, TermAccess
from .render import from_clause, render, where_clause, wrap
from .sql import TRUE, Sql, param, sql

__all__ = ["compile_pattern", "exists_sql", "plain"]


def plain(cc: CompileContext, block: Block) -> Block:
    """``block`` itself when it can be extended in place, else a wrapper around it."""
    return block if block.plain else wrap(cc, block)


def compile_pattern(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    """Compile a graph-pattern algebra node (see module docstring)."""
    name = node.name
    # Under GRAPH ?g the graph variable is joined AFTER the inner pattern is evaluated per
    # graph: a nested OPTIONAL/MINUS/VALUES/UNION that mentions ?g itself, and sub-queries
    # (projection hides g), need that per-graph evaluation: decline them.
    if scope.mode == "var" and name not in ("BGP", "Filter", "Join", "Graph") and (
            name in ("Project", "Distinct", "Reduced", "Slice", "OrderBy", "AggregateJoin")
            or scope.var in _mentions(node)):
        raise cc.decline(f"{name} inside GRAPH ?g")
    if name == "BGP":
        return compile_bgp(cc, node.triples, scope)
    if name == "Filter":
        return _filter(cc, node, scope)
    if name == "Join":
        return _join(cc, node, scope)
    if name == "LeftJoin":
        return _leftjoin(cc, node, scope)
    if name == "Union":
        return _union(cc, node, scope)
    if name == "Minus":
        return _minus(cc, node, scope)
    if name == "Extend":
        return _extend(cc, node, scope)
    if name in ("ToMultiSet",):
        return compile_pattern(cc, node.p, scope)
    if name == "values":
        return _values(cc, node)
    if name == "Graph":
        return _graph(cc, node, scope)
    if name == "AggregateJoin":
        from .aggregates import compile_aggregate
        return compile_aggregate(cc, node, scope)
    if name in ("Project", "Distinct", "Reduced", "Slice", "OrderBy"):
        from .modifiers import compile_select
        block, out = compile_select(cc, node, scope)
        return wrap(cc, block, out)
    raise cc.decline(f"{name} is not compiled to SQL")


def _mentions(node: object) -> set[Variable]:
    """Every variable occurring anywhere in an algebra sub-tree."""
    out: set[Variable] = set()
    if isinstance(node, Variable):
        out.add(node)
    elif isinstance(node, CompValue):
        for v in node.values():
            out |= _mentions(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            out |= _mentions(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            out |= _mentions(k) | _mentions(v)
    return out


# -- Filter -----------------------------------------------------------------------------
def exists_fn(cc: CompileContext, outer: Block, scope: GraphScope):
    def fn(graph: CompValue, positive: bool) -> Sql:
        return exists_sql(cc, outer, graph, scope, positive)
    return fn


def exists_sql(cc: CompileContext, outer: Block, graph: CompValue, scope: GraphScope,
               positive: bool) -> Sql:
    """``[NOT] EXISTS (SELECT 1 …)`` with the outer row's variables substituted."""
    saved, saved_null = cc.env, cc.env_nullable
    env = dict(saved)
    env.update(outer.cols)
    cc.env = env
    cc.env_nullable = set(saved_null) | set(outer.nullable)
    try:
        inner = compile_pattern(cc, graph, scope)
        inner = plain(cc, inner)
        conds = list(inner.where)
        body = Sql("SELECT 1") + from_clause(cc, inner.froms) + where_clause(conds)
    finally:
        cc.env, cc.env_nullable = saved, saved_null
    return sql("(EXISTS ({}))" if positive else "(NOT EXISTS ({}))", body)


def _filter(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    # HAVING: the grouped query becomes a derived table and the condition a WHERE over its
    # rows (an aggregate read inside a sub-query of the condition was "misuse of aggregate"
    # on SQLite, and each reference repeated the aggregate's SQL)
    block = plain(cc, compile_pattern(cc, node.p, scope))
    view = block
    if scope.mode == "var" and scope.var in block.cols and scope.var in _mentions(node.expr) \
            and scope.var not in _mentions(node.p):
        # GRAPH ?g { P FILTER(…?g…) }: the filter is part of P, evaluated before ?g is bound
        view = Block(froms=block.froms, cols={v: c for v, c in block.cols.items() if v != scope.var},
                     nullable=block.nullable, _term_aliases=block._term_aliases)
    xc = ExprCompiler(cc, view, TermAccess(cc, view), exists_fn(cc, view, scope))
    block.where.append(xc.condition(node.expr))
    return block


# -- Join -------------------------------------------------------------------------------
def _anchored(cc: CompileContext, block: Block) -> Block:
    """``block`` whose first table has no join condition (one that starts with a LEFT JOIN,
    like an OPTIONAL first in its group, gets the one-row table in front)."""
    if block.froms and block.froms[0].on is not None:
        block.froms.insert(0, FromItem("JOIN", Sql("(SELECT 1 AS one_) AS " + cc.alias("e"))))
    return block


def _join(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    """Join ``node.p1`` and ``node.p2``. SQLite, a BGP long enough to be split at the join
    limit: it extends the other side's block in place, so that its join order starts from the
    other side's bindings (a VALUES block) inside the first derived table; joined after the
    split, a 65-pattern chain from two VALUES rows enumerated every chain of 47 patterns."""
    if cc.sqlite and scope.mode != "var":
        for big, other in ((node.p2, node.p1), (node.p1, node.p2)):
            if getattr(big, "name", None) == "BGP" and len(big.triples) >= SQLITE_JOIN_SPLIT:
                first = compile_pattern(cc, other, scope)
                if first.plain and first.tables() < SQLITE_JOIN_SPLIT:
                    return compile_bgp(cc, big.triples, scope, block=_anchored(cc, first))
                return join(cc, first, compile_pattern(cc, big, scope))
    return join(cc, compile_pattern(cc, node.p1, scope), compile_pattern(cc, node.p2, scope))


def join(cc: CompileContext, a: Block, b: Block) -> Block:
    """Inner join with SPARQL compatibility semantics for possibly-unbound variables."""
    a, b = _within_join_limit(cc, _anchored(cc, plain(cc, a)), _anchored(cc, plain(cc, b)))
    if not b.froms and not b.where and not b.cols:
        return a
    if not a.froms and not a.where and not a.cols:
        return b
    out = Block(froms=list(a.froms), where=list(a.where), cols=dict(a.cols),
                nullable=set(a.nullable), empty=a.empty or b.empty)
    out._term_aliases = {**a._term_aliases, **b._term_aliases}
    if b.lead and len(b.froms) == 1 and out.froms:
        out.froms[0] = replace(out.froms[0], kw="JOIN", on=None)
        out.froms.insert(0, b.froms[0])
    elif b.froms:
        out.froms.append(replace(b.froms[0], kw="JOIN", on=None))
        out.froms.extend(b.froms[1:])
    out.where.extend(b.where)
    for v, cb in b.cols.items():
        ca = out.cols.get(v)
        if ca is None:
            out.cols[v] = cb
            if v in b.nullable:
                out.nullable.add(v)
            continue
        if not (ca.is_id and cb.is_id):
            raise cc.decline(f"join on computed variable ?{v}")
        na, nb = v in a.nullable, v in b.nullable
        if not na and not nb:
            out.where.append(sql("{} = {}", ca.e, cb.e))
        elif na and not nb:
            out.where.append(sql("({} IS NULL OR {} = {})", ca.e, ca.e, cb.e))
            out.cols[v] = cb
            out.nullable.discard(v)
        elif nb and not na:
            out.where.append(sql("({} IS NULL OR {} = {})", cb.e, cb.e, ca.e))
        else:
            out.where.append(sql("({} IS NULL OR {} IS NULL OR {} = {})", ca.e, cb.e, ca.e, cb.e))
            out.cols[v] = Col.id(sql("COALESCE({}, {})", ca.e, cb.e))
    return out


def _within_join_limit(cc: CompileContext, a: Block, b: Block) -> tuple[Block, Block]:
    """``a`` and ``b``, the larger closed into a derived table SQLite does not flatten (and
    so on) until their join has at most :data:`~.block.SQLITE_JOIN_SPLIT` tables (SQLite
    refuses a join of more than 64: the whole query went to rdflib's evaluator)."""
    while cc.sqlite and a.tables() + b.tables() > SQLITE_JOIN_SPLIT:
        if a.tables() >= b.tables():
            a = wrap(cc, a, barrier=True)
        else:
            b = wrap(cc, b, barrier=True)
    return a, b


_COLUMN_REF = re.compile(r"[A-Za-z_]\w*\.\w+")


def _unmatched_null(b: Block) -> bool:
    """Whether every column of ``b`` is NULL on a row the LEFT JOIN did not match: a plain
    column of one of its tables, not a constant or an expression (``BIND(1 AS ?x)`` inside an
    OPTIONAL, or ``COALESCE`` over its columns, would survive a failed match)."""
    for col in b.cols.values():
        for part in col.parts():
            if part.params or not (part.text == "NULL" or _COLUMN_REF.fullmatch(part.text)):
                return False
    return True


def _leftjoin(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    a = _anchored(cc, plain(cc, compile_pattern(cc, node.p1, scope)))
    b = _anchored(cc, plain(cc, compile_pattern(cc, node.p2, scope)))
    a, b = _within_join_limit(cc, a, b)
    if not _unmatched_null(b):
        b = wrap(cc, b)  # its columns become columns of one derived table
    out = Block(froms=list(a.froms), where=list(a.where), cols=dict(a.cols),
                nullable=set(a.nullable), empty=a.empty)
    out._term_aliases = dict(a._term_aliases)
    on: list[Sql] = list(b.where)
    for v, cb in b.cols.items():
        ca = a.cols.get(v)
        if ca is None:
            continue
        if not (ca.is_id and cb.is_id):
            raise cc.decline(f"OPTIONAL join on computed variable ?{v}")
        if v in a.nullable or v in b.nullable:
            on.append(sql("({} IS NULL OR {} IS NULL OR {} = {})", ca.e, cb.e, ca.e, cb.e))
        else:
            on.append(sql("{} = {}", ca.e, cb.e))
    # the OPTIONAL's filter sees both sides
    expr = node.expr
    if expr is not None and not (isinstance(expr, CompValue) and expr.name == "TrueFilter"):
        view = Block(cols={**b.cols, **a.cols}, nullable=a.nullable | b.nullable)
        for v in set(a.cols) & set(b.cols):
            ca, cb = a.cols[v], b.cols[v]
            view.cols[v] = (Col.id(sql("COALESCE({}, {})", ca.e, cb.e))
                            if v in a.nullable else ca)
        xc = ExprCompiler(cc, view, TermAccess(cc, None), exists_fn(cc, view, scope))
        on.append(xc.condition(expr))
    if not b.froms:
        table = Sql("(SELECT 1 AS one_) AS " + cc.alias("e"))
    elif len(b.froms) == 1:
        table = b.froms[0].table
    else:
        fc = from_clause(cc, b.froms)
        table = Sql("(" + fc.text[len(" FROM "):] + ")", fc.params)
    cond = Sql.join(" AND ", [c.paren() for c in on]) if on else TRUE
    out.froms.append(FromItem("LEFT JOIN", table, cond, tables=max(b.tables(), 1)))
    for v, cb in b.cols.items():
        if v not in a.cols:
            out.cols[v] = cb
            out.nullable.add(v)
        elif v in a.nullable:
            out.cols[v] = Col.id(sql("COALESCE({}, {})", a.cols[v].e, cb.e))
    return out


# -- Union ------------------------------------------------------------------------------
def _union(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    branches: list[Block] = []

    def collect(n: CompValue) -> None:
        if n.name == "Union":
            collect(n.p1)
            collect(n.p2)
        else:
            branches.append(compile_pattern(cc, n, scope))

    collect(node)
    names: list[Variable] = []
    kinds: dict[Variable, str] = {}
    for br in branches:
        for v, c in br.cols.items():
            if v not in kinds:
                names.append(v)
                kinds[v] = c.kind
            elif kinds[v] != c.kind:
                raise cc.decline(f"UNION binds ?{v} to a term and to a computed value")
    # PostgreSQL: a computed string (text) and a number (or an unbound filler) in one column
    # cannot be UNIONed: read through text in every branch (num()/ebv cast back, by type code)
    text = {v for v in names if kinds[v] == "val" and any(v in br.cols and br.cols[v].text for br in branches)}
    selects: list[Sql] = []
    for br in branches:
        for v in names:
            if v not in br.cols:
                br.cols[v] = Col.id(cc.null_id) if kinds[v] == "id" else Col.val(*cc.null_val())
                br.nullable.add(v)
            if v in text and not cc.sqlite and not br.cols[v].text:
                c = br.cols[v]
                br.cols[v] = Col.val(sql("CAST({} AS TEXT)", c.e), c.t, c.n, c.risky, text=True)
        body, _ = render(cc, br, names)
        selects.append(body)
    alias = cc.alias("u")
    out = Block(froms=[FromItem("JOIN", sql(f"({{}}) AS {alias}", union_all(cc, selects)))])
    i = 0
    for v in names:
        if kinds[v] == "id":
            out.cols[v] = Col.id(Sql(f"{alias}.c{i}"))
            i += 1
        else:
            out.cols[v] = Col.val(Sql(f"{alias}.c{i}"), Sql(f"{alias}.c{i + 1}"), Sql(f"{alias}.c{i + 2}"),
                                  risky=any(br.cols[v].risky for br in branches), text=v in text)
            i += 3
        if any(v in br.nullable for br in branches):
            out.nullable.add(v)
    out.empty = all(br.empty for br in branches)
    return out


# -- Minus ------------------------------------------------------------------------------
def _minus(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    a = plain(cc, compile_pattern(cc, node.p1, scope))
    b = plain(cc, compile_pattern(cc, node.p2, scope))
    shared = [v for v in b.cols if v in a.cols]
    # under GRAPH ?g both sides match in the same graph (g is equated below), but g is not a
    # variable of the patterns: MINUS without a real shared variable removes nothing
    if not [v for v in shared if not (scope.mode == "var" and v == scope.var)]:
        return a
    conds = list(b.where)
    overlap: list[Sql] = []
    always = False  # some shared variable is bound on both sides: domains always overlap
    for v in shared:
        ca, cb = a.cols[v], b.cols[v]
        if not (ca.is_id and cb.is_id):
            raise cc.decline(f"MINUS on computed variable ?{v}")
        if v in a.nullable or v in b.nullable:
            conds.append(sql("({} IS NULL OR {} IS NULL OR {} = {})", ca.e, cb.e, ca.e, cb.e))
            overlap.append(sql("({} IS NOT NULL AND {} IS NOT NULL)", ca.e, cb.e))
        else:
            conds.append(sql("{} = {}", ca.e, cb.e))
            always = True
    if overlap and not always:
        conds.append(Sql.join(" OR ", overlap).paren())
    body = Sql("SELECT 1") + from_clause(cc, b.froms) + where_clause(conds)
    a.where.append(sql("(NOT EXISTS ({}))", body))
    return a


# -- Extend (BIND) ----------------------------------------------------------------------
def _extend(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    inner = compile_pattern(cc, node.p, scope)
    expr = node.expr
    if inner.sealed or (inner.group_by is not None and not isinstance(expr, Variable)):
        # an expression over aggregates is computed outside the grouped query, over its rows:
        # inside it, the term look-ups of the expression were sub-queries reading aggregates
        # ("misuse of aggregate" on SQLite) and each reference repeated the aggregate's SQL
        inner = wrap(cc, inner)
    var = node.var
    if var in inner.cols:
        raise cc.decline(f"BIND to the already bound ?{var}")
    if isinstance(expr, Variable):
        col = inner.cols.get(expr) or cc.env.get(expr)
        if col is None:
            inner.cols[var] = Col.id(cc.null_id)
        else:
            inner.cols[var] = col
        inner.nullable.add(var) if (expr in inner.nullable or expr not in inner.cols) else None
    else:
        xc = ExprCompiler(cc, inner, TermAccess(cc, inner), exists_fn(cc, inner, scope))
        inner.cols[var] = xc.bind(expr)
        inner.nullable.add(var)
    outer = cc.env.get(var)
    if outer is not None:
        # ?var is bound outside (a pushed-in binding, an EXISTS's outer row): the value
        # computed here must be compatible with it (§18.5: equal, or either unbound).
        # A computed value (an aggregate, arithmetic) is not a term id to compare with.
        col = inner.cols[var]
        if not (outer.is_id and col.is_id):
            raise cc.decline(f"?{var} is computed here and bound outside")
        inner.where.append(sql("({} IS NULL OR {} IS NULL OR {} = {})",
                               col.e, outer.e, col.e, outer.e))
    return inner


def union_all(cc: CompileContext, selects: list[Sql]) -> Sql:
    """``s1 UNION ALL s2 …``, nested in groups of at most :data:`COMPOUND_MAX` SELECTs: SQLite
    refuses a compound SELECT of more than 500 (``too many terms in compound SELECT``), which
    made a UNION of 2,000 branches fall back to rdflib's evaluator and time out."""
    while len(selects) > COMPOUND_MAX:
        selects = [sql(f"SELECT * FROM ({{}}) AS {cc.alias('uc')}",
                       Sql.join(" UNION ALL ", selects[k:k + COMPOUND_MAX]))
                   for k in range(0, len(selects), COMPOUND_MAX)]
    return Sql.join(" UNION ALL ", selects)


#: SELECTs in one compound SELECT (SQLite's SQLITE_MAX_COMPOUND_SELECT is 500)
COMPOUND_MAX = 400


# -- VALUES -----------------------------------------------------------------------------
def _values(cc: CompileContext, node: CompValue) -> Block:
    rows = node.res
    names: list[Variable] = list(dict.fromkeys(k for r in rows for k in r))
    cc.resolve([v for r in rows for v in r.values() if not _undef(v)])
    if not rows:
        blk = Block(where=[Sql("(1=0)")])
        return blk
    if not names:
        return Block()  # one empty solution per row: VALUES () { () } -> treat as one
    lead = len(rows) > VALUES_INLINE_MAX
    if lead:
        body = _values_table(cc, rows, names)
    else:
        cast = (lambda e: e) if cc.sqlite else (lambda e: sql("CAST({} AS BIGINT)", e))
        selects = []
        for r in rows:
            cells = []
            for i, v in enumerate(names):
                t = r.get(v)
                e = cc.null_id if _undef(t) else cast(cc.value_const(t))
                cells.append(e + f" AS c{i}")
            selects.append(Sql("SELECT ") + Sql.join(", ", cells))
        body = union_all(cc, selects)
    alias = cc.alias("v")
    out = Block(froms=[FromItem("JOIN", sql(f"({{}}) AS {alias}", body))], lead=lead)
    for i, v in enumerate(names):
        out.cols[v] = Col.id(Sql(f"{alias}.c{i}"))
        if any(_undef(r.get(v)) for r in rows):
            out.nullable.add(v)
    for v, col in list(out.cols.items()):
        o = cc.env.get(v)
        if o is not None and o.is_id:
            out.where.append(sql("({} IS NULL OR {} = {})", col.e, col.e, o.e))
    return out


def _values_table(cc: CompileContext, rows: list[dict], names: list[Variable]) -> Sql:
    """The rows of a long VALUES block as ONE parameter, a JSON array of id arrays, read by
    ``json_each`` (SQLite) / ``jsonb_array_elements`` (PostgreSQL): a SELECT and a bound
    parameter per cell would pass SQLite's and PostgreSQL's limits on compound SELECTs and
    parameters (65,535), and rdflib's evaluator, which took these over, joins 100,000 rows
    with a nested loop (past any timeout)."""
    import json

    ids: dict[Identifier, int] = {}

    def tid(t: Identifier) -> int:
        i = ids.get(t)
        if i is None:
            cc.value_const(t)  # a constant the store does not hold gets its term columns
            i = ids[t] = cc.tid(t)
        return i

    doc = param(json.dumps([[None if _undef(t := r.get(v)) else tid(t) for v in names]
                            for r in rows]))
    if cc.sqlite:
        cols = ", ".join(f"json_extract(value, '$[{i}]') AS c{i}" for i in range(len(names)))
        return sql(f"SELECT {cols} FROM json_each({{}})", doc)
    cols = ", ".join(f"CAST(x.e ->> {i} AS BIGINT) AS c{i}" for i in range(len(names)))
    return sql(f"SELECT {cols} FROM jsonb_array_elements(CAST({{}} AS jsonb)) AS x(e)", doc)


def _undef(t: Identifier | str | None) -> bool:
    """An unbound cell of a VALUES row (``UNDEF``, kept by the parsers as the plain string)."""
    return t is None or type(t) is str


#: VALUES blocks longer than this are one JSON parameter (:func:`_values_table`)
VALUES_INLINE_MAX = 64


# -- GRAPH ------------------------------------------------------------------------------
def _graph(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    term = node.term
    p = node.p
    if isinstance(term, Variable) and _reads_no_graph(p):
        # no triple pattern (VALUES, BIND, FILTER, {}): the same solutions in every named
        # graph, each with ?g bound to the graph's name
        return _per_named_graph(cc, compile_pattern(cc, p, scope), term)
    if p.name == "BGP" and not p.triples:
        raise cc.decline("GRAPH with an empty pattern")
    if isinstance(term, Variable):
        block = compile_pattern(cc, p, GraphScope("var", var=term))
        if term not in block.cols or term in block.nullable:
            # no triple pattern binds ?g on every solution (none, or only inside OPTIONAL):
            # the pattern's solutions are still one set per named graph
            raise cc.decline("GRAPH ?g over a pattern that does not always bind ?g")
        return block
    cc.resolve([term])
    gid = cc.tid(term)
    named = cc.dataset.named
    if named is not None and term not in named:
        gid = -1_000_000_000
    if isinstance(term, URIRef) or gid:
        block = compile_pattern(cc, p, GraphScope("ids", (gid,)))
        if not _needs_a_triple(p):
            # a pattern that can match without a triple of the graph (OPTIONAL first, VALUES,
            # BIND): a graph the store does not hold gives no solution, as on rdflib's path
            block = plain(cc, block)
            block.where.append(sql("(EXISTS (SELECT 1 FROM kg_quads WHERE g = {}))",
                                   param(gid)))
        return block
    raise cc.decline("GRAPH term")


def _needs_a_triple(node: CompValue) -> bool:
    """Whether every solution of a pattern matched a triple pattern of its own graph (a
    required BGP with triples somewhere down a Join/Filter/Extend/LeftJoin's left side)."""
    name = node.name
    if name == "BGP":
        return bool(node.triples)
    if name in ("Filter", "Extend", "ToMultiSet", "Project", "Distinct", "Reduced", "OrderBy",
                "Slice", "Minus"):
        return isinstance(node.p if name != "Minus" else node.p1, CompValue) and \
            _needs_a_triple(node.p if name != "Minus" else node.p1)
    if name == "LeftJoin":
        return _needs_a_triple(node.p1)
    if name == "Join":
        return _needs_a_triple(node.p1) or _needs_a_triple(node.p2)
    if name == "Union":
        return _needs_a_triple(node.p1) and _needs_a_triple(node.p2)
    return False


def _reads_no_graph(node: object) -> bool:
    """Whether a pattern reads no graph: no triple pattern or path anywhere in it (EXISTS
    included), except inside ``GRAPH <iri>``."""
    if isinstance(node, CompValue):
        if node.name == "Graph" and isinstance(node.term, URIRef):
            return True
        if node.name == "BGP" and node.triples:
            return False
        return all(_reads_no_graph(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return all(_reads_no_graph(v) for v in node)
    return True


def _per_named_graph(cc: CompileContext, block: Block, var: Variable) -> Block:
    """``block`` once per named graph of the dataset (``kg_graphs``, the graphs the rdflib
    path iterates; FROM NAMED restricts them), with ``var`` bound to the graph."""
    from .bgp import _bind
    if not block.plain:
        block = wrap(cc, block)
    if var in block.cols and (var in block.nullable or not block.cols[var].is_id):
        raise cc.decline("GRAPH ?g where ?g may be unbound or computed inside")
    alias = cc.alias("g")
    named = cc.dataset.named
    table = "SELECT id FROM kg_graphs WHERE id <> 0"
    if named is None:
        block.froms.append(FromItem("JOIN", Sql(f"({table}) AS {alias}")))
    else:
        ids = [i for i in (cc.tid(n) for n in named) if i > 0] or [-1]
        block.froms.append(FromItem("JOIN", sql(
            f"({table} AND id IN ({', '.join(['{}'] * len(ids))})) AS {alias}", *map(param, ids))))
    conds: list[Sql] = []
    _bind(block, var, Sql(f"{alias}.id"), conds, cc)
    block.where.extend(conds)
    return block
