"""Basic graph patterns → self-joins of ``kg_quads`` in a selectivity-driven order.

Each triple pattern becomes one ``kg_quads`` alias (a property path becomes a derived
table, see :mod:`.paths`). The join order is chosen greedily: start with the pattern with
the smallest estimated cardinality, then repeatedly add the cheapest pattern that shares a
variable with what is already joined. Estimates come from ``kg_stats`` (per-predicate
triples / distinct subjects / distinct objects) and, for ``?x <p> <o>`` patterns, a capped
index count. On SQLite the order is pinned with ``CROSS JOIN`` (its planner alone often starts
from the least selective pattern). On PostgreSQL a statement whose BGPs of three patterns or
more are all small by these estimates runs in this order with index nested loops
(:func:`pin_verdict`, applied by :class:`~.plan.CompiledQuery`): PostgreSQL has no statistic
of distinct objects per predicate and misjudges such joins by 10-100x (LUBM q02 started from
the universities and took 0.45 s at 1.3 M triples instead of ~20 ms).
"""

from __future__ import annotations

from collections.abc import Sequence

from rdflib.paths import Path
from rdflib.term import BNode, Identifier, Variable

from .block import SQLITE_JOIN_SPLIT, Block, Col, FromItem
from .context import CompileContext, GraphScope
from .render import wrap
from .sql import FALSE, Sql, in_set, param, sql

__all__ = ["GRAPH_LIST_MAX", "compile_bgp", "graph_conditions", "norm", "pin_verdict"]

_COUNT_CAP = 1000
# patterns whose first count reaches _COUNT_CAP and tie for the start are counted again this
# far: with capped counts, every class larger than the cap looked the same and the first one
# written won (LUBM q02 at 10 M triples started from 100k graduate students instead of 1.5k
# departments and took 100x the time of LUBM(10))
_DEEP_COUNT_CAP = 200_000
# PostgreSQL: BGPs this long, whose largest intermediate result the compiler estimates at
# most this many rows, run in the compiler's join order with nested loops (pin_verdict)
_PIN_MIN_PATTERNS = 3
#: the active graphs (FROM) as a list of SQL parameters up to this many, else one parameter
GRAPH_LIST_MAX = 64
_PIN_MAX_ROWS = 100_000


def norm(term: Identifier) -> Identifier:
    """Blank nodes in patterns act as variables (not projectable)."""
    if isinstance(term, BNode):
        return Variable("__bn_" + str(term))
    return term


def _is_var(t: object) -> bool:
    return isinstance(t, Variable)


def _estimate(cc: CompileContext, t: tuple, bound: set[Variable], cap: int = _COUNT_CAP) -> float:
    s, p, o = t
    s_b = not _is_var(s) or s in bound
    o_b = not _is_var(o) or o in bound
    if isinstance(p, Path):
        base = cc.total() / 4.0
        return base / (100.0 if s_b else 1.0) / (100.0 if o_b else 1.0)
    for c in (s, p, o):
        if not _is_var(c) and cc.tid(c) < 0:
            return 0.0
    if _is_var(p) and p not in bound:
        n, ns, no = cc.total(), max(cc.total() // 20, 1), max(cc.total() // 10, 1)
    else:
        st = cc.stats(cc.tid(p)) if not _is_var(p) else None
        if st is None:
            n = cc.total() / 20.0 if _is_var(p) else 0.0
            ns, no = max(n / 5, 1), max(n / 5, 1)
        else:
            n, ns, no = st
    if not _is_var(o) and not _is_var(p) and not s_b:
        return float(_capped_count(cc, cc.tid(p), cc.tid(o), cap))
    est = float(n)
    if s_b:
        est /= ns
    if o_b:
        est /= no
    if s_b and o_b:
        est = min(est, 1.0)
    return est


def _capped_count(cc: CompileContext, p: int, o: int, cap: int = _COUNT_CAP) -> int:
    key = (p, o) if cap == _COUNT_CAP else (p, o, cap)
    cache = cc.shared_cache("po_counts")
    if key not in cache:
        row = cc.store.db.fetchone(
            "SELECT COUNT(*) FROM (SELECT 1 FROM kg_quads WHERE p = ? AND o = ? LIMIT ?) AS x",
            (p, o, cap),
        )
        cache[key] = int(row[0]) if row else 0
    return cache[key]


def _order(cc: CompileContext, triples: Sequence[tuple], bound: set[Variable]) -> list[tuple]:
    todo = list(triples)
    done: list[tuple] = []
    bound = set(bound)
    while todo:
        def key(t: tuple, bound: set[Variable] = bound, cap: int = _COUNT_CAP) -> tuple[int, float]:
            vs = {x for x in t if _is_var(x)}
            connected = not vs or bool(vs & bound) or not bound
            return (0 if connected else 1, _estimate(cc, t, bound, cap))
        best = min(todo, key=key)
        if key(best)[1] == _COUNT_CAP:  # capped counts tie: count those again, deeper
            tied = [t for t in todo if key(t) == key(best)]
            if len(tied) > 1:
                best = min(tied, key=lambda t: key(t, cap=_DEEP_COUNT_CAP))
        todo.remove(best)
        done.append(best)
        bound |= {x for x in best if _is_var(x)}
    return done


def pin_verdict(cc: CompileContext, order: Sequence[tuple], bound: set[Variable]) -> bool | None:
    """Whether a BGP joined in ``order`` is better run as the compiler ordered it (PostgreSQL).

    ``None``: fewer than three patterns (PostgreSQL's own plan is fine); ``False``: a
    property path or variable predicate, or an intermediate result the compiler estimates
    above ``_PIN_MAX_ROWS`` rows (hash joins pay off there); ``True``: small by the compiler's
    per-predicate statistics, which PostgreSQL lacks. A first pattern whose count hit the cap
    is counted again, deeper (one capped index count, cached per store).
    """
    if len(order) < _PIN_MIN_PATTERNS:
        return None
    if any(isinstance(t[1], Path) or _is_var(t[1]) for t in order):
        return False
    rows, peak, known = 1.0, 0.0, set(bound)
    for k, t in enumerate(order):
        est = _estimate(cc, t, known)
        if k == 0 and est >= _COUNT_CAP:
            est = _estimate(cc, t, known, _DEEP_COUNT_CAP)
        rows *= est
        peak = max(peak, rows)
        known |= {x for x in t if _is_var(x)}
    return peak <= _PIN_MAX_ROWS


def graph_conditions(cc: CompileContext, alias: str, scope: GraphScope, block: Block) -> list[Sql]:
    """WHERE conditions restricting ``alias`` (a kg_quads alias) to the active graph."""
    g = Sql(f"{alias}.g")
    if scope.mode == "ids":
        if len(scope.ids) == 1:
            return [sql("{} = {}", g, param(scope.ids[0]))]
        if not scope.ids:
            return [FALSE]
        # SQLite: `+g` keeps g out of the index choice; the (s, p, o) prefixes of the
        # covering indexes are selective and g is a filter (measured 3x on LUBM q5). With g in
        # the index key, an IN list of n graphs was n index probes per row of each pattern
        # and of the sub-query below (FROM with 16,384 graphs: 83 s)
        member = _graph_member(cc, sql("+{}", g) if cc.sqlite else g, scope.ids)
        if scope.disjoint:
            return [member]
        other = _graph_member(cc, Sql("+x.g" if cc.sqlite else "x.g"), scope.ids)
        dedup = sql(
            f"{{}} = (SELECT MIN(x.g) FROM kg_quads x WHERE x.s = {alias}.s AND x.p = {alias}.p "
            f"AND x.o = {alias}.o AND {{}})", g, other)
        return [member, dedup]
    if scope.mode == "union":
        return [sql(
            f"{{}} = (SELECT MIN(x.g) FROM kg_quads x WHERE x.s = {alias}.s AND x.p = {alias}.p "
            f"AND x.o = {alias}.o)", g)]
    # GRAPH ?g
    assert scope.var is not None
    conds: list[Sql] = []
    named = cc.dataset.named
    if named is None:
        conds.append(sql("{} <> 0", g))
    else:
        ids = [cc.tid(n) for n in named]
        ids = [i for i in ids if i > 0]
        conds.append(sql("{} IN ({})", g, Sql.join(", ", [param(i) for i in ids])) if ids else FALSE)
    _bind(block, scope.var, g, conds, cc)
    return conds


def _graph_member(cc: CompileContext, g: Sql, ids: Sequence[int]) -> Sql:
    """``g`` is one of the graphs ``ids``: a list of parameters, or past
    :data:`GRAPH_LIST_MAX` graphs one parameter holding them all (FROM with 16,384 graphs was
    65,536 parameters in two patterns, past PostgreSQL's 65,535: rdflib answered)."""
    if len(ids) > GRAPH_LIST_MAX:
        return in_set(g, list(ids), cc.sqlite)
    return sql("{} IN ({})", g, Sql.join(", ", [param(i) for i in ids]))


def _bind(block: Block, var: Variable, expr: Sql, conds: list[Sql], cc: CompileContext | None = None) -> None:
    col = block.cols.get(var)
    if col is None:
        block.cols[var] = Col.id(expr)
        outer = cc.env.get(var) if cc is not None else None
        if outer is not None:
            if not outer.is_id:
                from .block import Decline
                raise Decline(f"variable ?{var} is bound to a computed value outside")
            if cc is not None and var in cc.env_nullable:
                conds.append(sql("({} IS NULL OR {} = {})", outer.e, outer.e, expr))
            else:
                conds.append(sql("{} = {}", expr, outer.e))
    elif col.is_id:
        if var in block.nullable:
            conds.append(sql("({} IS NULL OR {} = {})", col.e, col.e, expr))
            block.cols[var] = Col.id(sql("COALESCE({}, {})", col.e, expr))
            block.nullable.discard(var)
        else:
            conds.append(sql("{} = {}", col.e, expr))
    else:
        from .block import Decline
        raise Decline(f"variable ?{var} is a computed value and is used in a triple pattern")


def compile_bgp(
    cc: CompileContext,
    triples: Sequence[tuple],
    scope: GraphScope,
    block: Block | None = None,
    prebound: set[Variable] | frozenset[Variable] = frozenset(),
) -> Block:
    """Add the triple patterns to ``block`` (a new one by default) and return it.

    Args:
        cc: compile context.
        triples: the patterns (terms, variables, blank nodes, rdflib paths).
        scope: the active graph.
        block: a plain block to extend (its variables count as bound).
        prebound: variables bound from outside (only used for the join order).
    """
    block = block if block is not None else Block()
    triples = [tuple(norm(x) if not isinstance(x, Path) else x for x in t) for t in triples]
    consts = [x for t in triples for x in t if not _is_var(x) and not isinstance(x, Path)]
    cc.resolve(consts)
    bound = set(block.cols) | set(prebound) | set(cc.env)
    if scope.var is not None:
        bound.add(scope.var)
    order = _order(cc, triples, bound - block.nullable)
    if not cc.sqlite:
        verdict = pin_verdict(cc, order, bound - block.nullable)
        if verdict is not None:
            cc.pin_joins = verdict and cc.pin_joins is not False
    for t in order:
        s, p, o = t
        if cc.sqlite and block.tables() >= SQLITE_JOIN_SPLIT:
            # the patterns joined so far become one derived table (SQLite's join limit)
            block = wrap(cc, block, barrier=True)
        if isinstance(p, Path):
            from .paths import compile_path
            alias = cc.alias("p")
            table = compile_path(cc, s, p, o, scope)
            block.froms.append(FromItem("JOIN", sql(f"({{}}) AS {alias}", table)))
            conds: list[Sql] = []
            positions = (("s", s), ("o", o))
            if scope.var is not None:
                _bind(block, scope.var, Sql(f"{alias}.g"), conds, cc)
        else:
            alias = cc.alias("q")
            block.froms.append(FromItem("JOIN", Sql(f"kg_quads {alias}")))
            conds = []
            positions = (("s", s), ("p", p), ("o", o))
            conds.extend(graph_conditions(cc, alias, scope, block))
        for colname, term in positions:
            e = Sql(f"{alias}.{colname}")
            if _is_var(term):
                _bind(block, term, e, conds, cc)
            else:
                i = cc.tid(term)
                if i < 0 and not isinstance(p, Path):
                    block.empty = True
                conds.append(sql("{} = {}", e, param(i)))
        block.where.extend(conds)
    return block
