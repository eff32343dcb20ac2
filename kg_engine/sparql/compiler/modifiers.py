"""Solution modifiers → SQL: projection, DISTINCT/REDUCED, ORDER BY (SPARQL ordering of
mixed terms), LIMIT/OFFSET; plus GROUP BY / aggregates (see :mod:`.aggregates`).

SPARQL's ORDER BY order of terms: unbound < blank node < IRI < literal; numeric literals
by value, then dates, then booleans by value, then lexical form (code point order).
"""

from __future__ import annotations

from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from .block import Block, Col, Decline
from .context import CompileContext, GraphScope
from .expressions import ExprCompiler, TermAccess
from .render import wrap
from .sql import Sql, sql

__all__ = ["compile_select", "order_keys"]


def order_keys(cc: CompileContext, xc: ExprCompiler, expr: object, desc: bool) -> list[tuple[Sql, bool]]:
    """SQL sort keys implementing SPARQL's ordering for one ORDER BY condition."""
    xc.allow_risky = cc.sqlite and isinstance(expr, Variable)  # see the "val" keys below
    try:
        ex = xc.value(expr)
    finally:
        xc.allow_risky = False
    if ex.kind == "term":
        if xc.may_hold_unvalued():
            # the store's value columns have no duration's length or time: rdflib's path
            # orders them
            raise Decline("ORDER BY over a store holding durations or times")
        f = xc.f
        rank = sql("(CASE WHEN {} IS NULL THEN 0 WHEN {} = 2 THEN 1 WHEN {} = 1 THEN 2 ELSE 3 END)",
                   ex.e, f(ex, "kind"), f(ex, "kind"))
        return [
            (rank, desc),
            (sql("(CASE WHEN {} IS NULL THEN 1 ELSE 0 END)", f(ex, "num")), desc),
            # an integer/decimal whose double is not its value (beyond 2^53, a long decimal)
            # may tie with another it differs from: the statement aborts, rdflib's path sorts
            (sql("COALESCE({}, 0)", xc.sort_num(ex)), desc),
            (sql("(CASE WHEN {} IS NULL THEN 1 ELSE 0 END)", f(ex, "dtm")), desc),
            (sql("COALESCE({}, 0)", f(ex, "dtm")), desc),
            # booleans by value: "0" and false before "1" and true
            (sql("(CASE WHEN {} IS NULL THEN 1 ELSE 0 END)", f(ex, "bln")), desc),
            (sql("COALESCE({}, 0)", f(ex, "bln")), desc),
            # numbers, dates and booleans that compare equal are ties: no lexical tie-break
            (cc.text_key(sql("(CASE WHEN {} IS NULL AND {} IS NULL AND {} IS NULL THEN {} ELSE '' END)",
                             f(ex, "num"), f(ex, "dtm"), f(ex, "bln"), f(ex, "lex"))), desc),
            (cc.text_key(f(ex, "lang")), desc),
        ]
    if ex.kind == "const":
        return []
    if ex.kind == "py":  # a term computed by a Python callback: its key, part by part
        return [(cc.text_key(sql(f"kg_key({{}}, {k})", ex.e)) if k >= 9 else sql(f"kg_key({{}}, {k})", ex.e),
                 desc) for k in range(11)]
    if ex.kind == "val" and cc.sqlite:
        # numbers (the common case) in SQL; any other value (-5 string, -6 boolean, -7 term
        # computed in Python) by its term's key (kg_val → kg_key), as a stored term sorts; a
        # value SQL could not compute exactly (-99) makes kg_val raise: the statement fails
        # and rdflib evaluates the query
        n = xc.num(ex).e
        native = ["3", "0", n, "1", "0", "1", "0", "1", "0", "''", "''"]
        keys = []
        for k in range(11):
            other = sql(f"kg_key(kg_val({{}}, {{}}, {{}}, NULL), {k})", ex.e, ex.rank, ex.lang)
            key = sql(f"(CASE WHEN {{}} IS NULL THEN {'0' if k == 0 else 'NULL'} "
                      "WHEN {} IN (-1, -2, -3, -4) THEN {} ELSE {} END)",
                      ex.rank, ex.rank, native[k] if isinstance(native[k], Sql) else Sql(native[k]), other)
            keys.append((cc.text_key(key) if k >= 9 else key, desc))
        return keys
    if ex.kind == "val":  # PostgreSQL: unbound first, then as stored terms sort (see above)
        n = xc.num(ex).e
        t = ex.rank
        return [(sql("(CASE WHEN {} IS NULL THEN 0 ELSE 1 END)", t), desc),
                (sql("(CASE WHEN {} IS NULL THEN 1 ELSE 0 END)", n), desc),
                (sql("COALESCE({}, 0)", n), desc),
                (sql("(CASE WHEN {} = -6 THEN 0 ELSE 1 END)", t), desc),  # booleans by value
                (sql("(CASE WHEN {} = -6 THEN CAST({} AS DOUBLE PRECISION) ELSE 0 END)", t, ex.e), desc),
                (cc.text_key(sql("(CASE WHEN {} = -5 THEN CAST({} AS TEXT) ELSE '' END)", t, ex.e)), desc)]
    if ex.kind == "num":
        n = ex
        return [(sql("(CASE WHEN {} IS NULL THEN 0 ELSE 1 END)", n.e), desc),
                (sql("COALESCE({}, 0)", n.e), desc)]
    if ex.kind == "str":  # by text, then language tag (as stored terms sort)
        keys = [(sql("(CASE WHEN {} IS NULL THEN 0 ELSE 1 END)", ex.e), desc),
                (cc.text_key(sql("COALESCE({}, '')", ex.e)), desc)]
        if not (isinstance(ex.lang, str) and ex.lang == ""):
            keys.append((cc.text_key(sql("(CASE WHEN {} IS NULL THEN '' ELSE COALESCE({}, '') END)",
                                         ex.e, xc._text(xc.lang_sql(ex)))), desc))
        return keys
    if ex.kind == "bool":
        return [(sql("(CASE WHEN {} THEN 2 WHEN NOT {} THEN 1 ELSE 0 END)", ex.e, ex.e), desc)]
    raise Decline("ORDER BY expression")


def compile_select(cc: CompileContext, node: CompValue, scope: GraphScope) -> tuple[Block, list[Variable]]:
    """Compile a chain Slice? / Distinct|Reduced? / Project / OrderBy? / pattern.

    Returns the (sealed) block and the projected variables.
    """
    limit: int | None = None
    offset = 0
    distinct = False
    pv: list[Variable] | None = None
    order: list[CompValue] | None = None
    cur = node
    if cur.name == "Slice":
        offset = int(cur.start or 0)
        limit = None if cur.length is None else int(cur.length)
        cur = cur.p
    if cur.name in ("Distinct", "Reduced"):
        distinct = True
        cur = cur.p
    if cur.name == "Project":
        pv = list(cur.PV)
        cur = cur.p
    if cur.name == "OrderBy":
        order = list(cur.expr)
        cur = cur.p
    if cur.name in ("Slice", "Distinct", "Reduced", "Project", "OrderBy"):
        inner, inner_out = compile_select(cc, cur, scope)
        block = wrap(cc, inner, inner_out)
    elif cur.name == "AggregateJoin":
        from .aggregates import compile_aggregate
        block = compile_aggregate(cc, cur, scope)
    else:
        from .patterns import compile_pattern
        block = compile_pattern(cc, cur, scope)
    if block.sealed:
        block = wrap(cc, block)
    if pv is None:
        pv = [v for v in block.cols if not str(v).startswith("__")]
    for v in pv:  # pre-bound (initBindings) variables the pattern does not bind: before any
        if v not in block.cols and v in cc.env:  # DISTINCT/ORDER BY wrapping projects them
            block.cols[v] = cc.env[v]
            if order and distinct:
                # sort keys read its term columns through the wrapped column, where the
                # binding's parameter is no longer visible: a term the store never saw
                # must go to rdflib (see CompiledQuery.run)
                cc.fields_of_bindings = True
    keys: list[tuple[Sql, bool]] = []
    if order and (limit is not None or offset or cc.__dict__.get("_top") is node):
        if block.group_by is not None:
            block = wrap(cc, block)  # sort keys look terms up: not inside the aggregate query
        hidden = False
        if distinct:
            # sort keys may only use projected variables (they become hidden columns): a key
            # variable projected under another name (``(?c AS ?d)``) is read through it; a
            # variable bound nowhere is unbound in every row (a constant key)
            alias: dict[Variable, Variable] = {}
            for v in set().union(*(_vars_of(c.expr) for c in order)) - set(pv):
                if v not in block.cols and v not in cc.env:
                    continue
                same = [w for w in pv if v in block.cols and block.cols.get(w) == block.cols[v]]
                if not same:
                    hidden = True
                    break
                alias[v] = same[0]
            if hidden:
                block, keys = _distinct_first_occurrence(cc, block, pv, order)
            else:
                block = wrap(cc, block, pv)
                for v, w in alias.items():
                    block.cols[v] = block.cols[w]
                    if w in block.nullable:
                        block.nullable.add(v)
        if not hidden:
            access = TermAccess(cc, block)
            xc = ExprCompiler(cc, block, access)
            for c in order:
                keys.extend(order_keys(cc, xc, c.expr, c.order == "DESC"))
            distinct_now = distinct
        else:
            distinct_now = False  # the GROUP BY of _distinct_first_occurrence removed them
    else:
        distinct_now = distinct
    block.order = keys
    block.distinct = distinct_now
    block.limit = limit
    block.offset = offset
    block.sealed = True
    return block, pv


def _distinct_first_occurrence(cc: CompileContext, block: Block, pv: list[Variable],
                               order: list[CompValue]) -> tuple[Block, list[tuple[Sql, bool]]]:
    """DISTINCT over a sequence ordered by keys that are not projected (§15: ORDER BY comes
    before projection and DISTINCT): each distinct row keeps the place of its first occurrence,
    ``GROUP BY <projection> ORDER BY MIN(ROW_NUMBER() OVER (ORDER BY <keys>))``."""
    if not pv:
        raise cc.decline("DISTINCT of no variables ordered by an unprojected key")
    xc = ExprCompiler(cc, block, TermAccess(cc, block))
    keys: list[tuple[Sql, bool]] = []
    for c in order:
        keys.extend(order_keys(cc, xc, c.expr, c.order == "DESC"))
    rn = Variable("__rownum")
    over = Sql.join(", ", [k + (" DESC" if d else "") for k, d in keys]) if keys else Sql("1")
    block.cols[rn] = Col.id(Sql("ROW_NUMBER() OVER (ORDER BY ") + over + ")")
    outer = wrap(cc, block, [*pv, rn])
    rn_col = outer.cols.pop(rn)
    outer.group_by = [part for v in pv for part in outer.cols[v].parts()]
    return outer, [(sql("MIN({})", rn_col.e), False)]


def _vars_of(expr: object) -> set[Variable]:
    if isinstance(expr, Variable):
        return {expr}
    out: set[Variable] = set()
    if isinstance(expr, CompValue):
        for v in expr.values():
            out |= _vars_of(v)
    elif isinstance(expr, (list, tuple)):
        for v in expr:
            out |= _vars_of(v)
    return out
