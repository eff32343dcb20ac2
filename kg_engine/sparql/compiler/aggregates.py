"""GROUP BY and the SPARQL aggregates → SQL ``GROUP BY`` (+ HAVING via Filter).

rdflib's algebra: ``AggregateJoin(A=[Aggregate_X(vars, distinct, res)…], p=Group(p, expr))``;
group keys reach the solution through ``Aggregate_Sample``. Each aggregate becomes a value
column (see :mod:`.block`); the decoder turns it into the RDF term SPARQL prescribes:
COUNT → xsd:integer, SUM → the promoted numeric type, AVG → xsd:decimal for integers and
decimals (computed exactly in Python from SQL's SUM and COUNT), MIN/MAX → the value in its
datatype (numbers) or a simple literal (strings), SAMPLE → one of the group's terms,
GROUP_CONCAT → a simple literal. Cases SQL cannot answer exactly (mixed datatypes in
MIN/MAX, SUM over non-numbers) are flagged with type code -99 and make the query decline at
run time (rdflib then evaluates it).
"""

from __future__ import annotations

import re

from rdflib.namespace import XSD
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from kg_engine.sparql.xsd import EXACT_INTEGERS

from .block import Block, Col
from .context import CompileContext, GraphScope
from .expressions import Ex, ExprCompiler, TermAccess
from .sql import NULL, Sql, param, sql

__all__ = ["compile_aggregate"]


def compile_aggregate(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    from .patterns import compile_pattern, plain
    group = node.p
    if scope.mode == "var":
        raise cc.decline("aggregates inside GRAPH ?g (empty groups per graph)")
    if group.name != "Group":
        raise cc.decline("AggregateJoin without Group")
    block = plain(cc, compile_pattern(cc, group.p, scope))
    xc = ExprCompiler(cc, block, TermAccess(cc, block))
    keys: list[Sql] = []
    for k in group.expr or []:
        if not isinstance(k, Variable):
            raise cc.decline("GROUP BY an expression")
        col = block.cols.get(k)
        if col is None:
            continue  # grouping by an unbound variable: one group
        keys.extend(p for p in col.parts() if p.text not in ("?", "NULL"))  # constants: no key
    cols: dict[Variable, Col] = {}
    grouped = {(k.text, k.params) for k in keys}
    for agg in node.A:
        cols[agg.res] = _aggregate(cc, xc, block, agg, nonempty=bool(group.expr), grouped=grouped)
    block.group_by = keys
    if not keys and group.expr:
        # GROUP BY keys that are unbound or constant: one group, but none over no rows
        block.having.append(Sql("(COUNT(*) > 0)"))
    elif not keys:
        block.empty = False  # aggregating no rows without GROUP BY still gives one group
    block.cols = cols
    block.nullable = set(cols)
    return block


#: a column reference (the compiler qualifies every column: ``q1.s``) or a sub-query
_COLUMN_SQL = re.compile(r"\b[A-Za-z_]\w*\.[A-Za-z_]|\bSELECT\b", re.IGNORECASE)


def _aggregate(cc: CompileContext, xc: ExprCompiler, block: Block, agg: CompValue,
               nonempty: bool = False, grouped: set[tuple[str, tuple]] | None = None) -> Col:
    """``nonempty``: every group has a row (GROUP BY given), so a constant needs no MIN().
    ``grouped``: the GROUP BY key columns (text, params), which a SAMPLE of the key reads bare."""
    name = agg.name
    distinct = bool(agg.distinct)
    dkw = "DISTINCT " if distinct else ""
    if name == "Aggregate_Count":
        if agg.vars == "*":
            if distinct:
                raise cc.decline("COUNT(DISTINCT *)")
            return Col.val(Sql("COUNT(*)"), Sql("-1"))
        ex = xc.value(agg.vars)
        if distinct and ex.kind in ("val", "num"):
            # _countable of a computed value is its type code (NULL when unbound), of a number
            # its value: DISTINCT over them counted types ("1", "2", "3" from a sub-select's
            # COUNT → 1) or merged 1 and 1.0 — distinct terms, so rdflib's aggregate decides
            return _in_python(cc, xc, agg, "COUNT(DISTINCT) of a computed value")
        e = _countable(xc, ex)
        return Col.val(sql(f"COUNT({dkw}{{}})", e), Sql("-1"))
    if name == "Aggregate_Sample":
        ex = xc.value(agg.vars)
        if nonempty and ex.kind == "term" and not _COLUMN_SQL.search(ex.e.text):
            # a GROUP BY key bound to a constant: MIN(?) has no column of this query, so
            # inside a correlated HAVING EXISTS it would be the sub-query's aggregate
            # ("aggregate functions are not allowed in WHERE" / "misuse of aggregate")
            return Col.id(ex.e)
        if ex.kind == "term" and grouped and not ex.e.params and (ex.e.text, ()) in grouped:
            # the group's key column itself: MIN(q1.s) inside a correlated HAVING EXISTS is an
            # aggregate in the sub-query's WHERE, which SQLite refuses ("misuse of aggregate").
            # Only a key without parameters: PostgreSQL takes "COALESCE(p1.s, $3)" in SELECT
            # and "COALESCE(p1.s, $7)" in GROUP BY for two expressions
            return Col.id(ex.e)
        if ex.kind == "term":
            return Col.id(sql("MIN({})", ex.e))
        if ex.kind == "val":
            # MIN(NULL) would be a text column on PostgreSQL: a bare NULL is typed by render()
            return Col.val(*(p if p.text == "NULL" else sql("MIN({})", p)
                             for p in (ex.e, _sql(ex.rank), _sql(ex.lang))), text=ex.text)
        if ex.kind == "const":
            return Col.id(cc.tparam(ex.const))
        return _in_python(cc, xc, agg, "SAMPLE of an expression")
    if name in ("Aggregate_Sum", "Aggregate_Avg", "Aggregate_Min", "Aggregate_Max") and cc.sqlite \
            and (cc.exact_aggregates or agg.res in _read_in_expressions(cc)):
        # its value is compared or ordered: SQL's (exact only over integers, or strings for
        # MIN/MAX) would have to decline; the rdflib path's aggregate is exact
        col = xc.python_aggregate(agg)
        if col is not None:
            return col
    ex = xc.value(agg.vars)
    if name in ("Aggregate_Sum", "Aggregate_Avg", "Aggregate_Min", "Aggregate_Max"):
        cc.inexact_aggregates = True  # SQL's value below (type code -99 where inexact)
    if name in ("Aggregate_Sum", "Aggregate_Avg"):
        n = xc.num(ex)
        bound = _countable(xc, ex)
        rank = n.rank if isinstance(n.rank, Sql) else Sql(str(n.rank))
        err = sql("COUNT({}) > COUNT({})", bound, n.e)
        total = sql(f"SUM({dkw}{{}})", n.e)
        cnt = sql(f"COUNT({dkw}{{}})", n.e)
        maxr = sql("MAX(CASE WHEN {} IS NOT NULL THEN {} END)", n.e, rank)
        # exact only over integers (kg_terms.num is a double): decimals/doubles -> rdflib
        # an unbound value in the group is an error element: the aggregate is unbound (§18.5.1)
        unbound = sql("COUNT(*) > COUNT({})", bound)
        # and only while every partial sum stays below 2^53: beyond, a double is not the integer
        # (9007199254740993 is read as ...992, and two of them sum to ...984 in SQL)
        big = sql(f"SUM(ABS({{}})) >= {EXACT_INTEGERS}", n.e)
        if name == "Aggregate_Sum":
            t = sql("(CASE WHEN {} THEN NULL WHEN {} THEN -99 WHEN {} = 0 THEN -1 WHEN {} > 1 THEN -99 "
                    "WHEN {} THEN -99 ELSE -1 END)", unbound, err, cnt, maxr, big)
            return Col.val(sql("COALESCE({}, 0)", total), t, risky=True)
        t = sql("(CASE WHEN {} THEN NULL WHEN {} THEN -99 WHEN {} = 0 THEN -1 WHEN {} > 1 THEN -99 "
                "WHEN {} THEN -99 ELSE -2 END)", unbound, err, cnt, maxr, big)
        return Col.val(sql("COALESCE({}, 0)", total), t, sql("NULLIF({}, 0)", cnt), risky=True)
    if name in ("Aggregate_Min", "Aggregate_Max"):
        fn = "MIN" if name == "Aggregate_Min" else "MAX"
        if ex.kind != "term":
            return _in_python(cc, xc, agg, f"{fn} of an expression")
        # The result must be the stored term itself. SQL can give it exactly when every value
        # is an xsd:integer in canonical form below 2^53 (its double is exact), or every value
        # is a simple literal (code-point order); any other mix is left to rdflib (type code
        # -99). The bound also keeps the cast in range: 2^63 - 1 is the double 2^63, which
        # PostgreSQL refused as a BIGINT ("bigint out of range": the statement failed)
        f = xc.f
        num, dt, lex = f(ex, "num"), f(ex, "dt"), f(ex, "lex")
        big = "INTEGER" if cc.sqlite else "BIGINT"
        exact = sql(f"(CASE WHEN ABS({{}}) < {EXACT_INTEGERS} THEN {{}} END)", num, num)
        canon_int = sql(f"(CASE WHEN {{}} = {{}} AND {{}} = CAST(CAST({{}} AS {big}) AS TEXT) THEN 1 END)",
                        dt, xc.dt(XSD.integer), lex, exact)
        simple = sql("(CASE WHEN {} = 3 AND {} = 0 AND {} = '' THEN {} END)",
                     f(ex, "kind"), dt, f(ex, "lang"), lex)
        all_int = sql("COUNT({}) = COUNT({})", canon_int, ex.e)
        all_str = sql("COUNT({}) = COUNT({})", simple, ex.e)
        numv = sql(f"{fn}({{}})", num) if cc.sqlite else sql(f"CAST({fn}({{}}) AS TEXT)", num)
        v = sql(f"(CASE WHEN {{}} THEN {{}} WHEN {{}} THEN {fn}({{}}) END)",
                all_int, numv, all_str, cc.text_key(simple))
        t = sql("(CASE WHEN COUNT({}) < COUNT(*) OR COUNT({}) = 0 THEN NULL WHEN {} THEN -1 "
                "WHEN {} THEN -5 ELSE -99 END)", ex.e, ex.e, all_int, all_str)
        # PostgreSQL: text either way (the number is cast), a UNION casts its other branches
        return Col.val(v, t, risky=True, text=not cc.sqlite)
    if name == "Aggregate_GroupConcat":
        # SQLite's group_concat has no DISTINCT with a separator: the rdflib path's own
        # GROUP_CONCAT, called back over the group's solutions
        if cc.sqlite or distinct or ex.kind != "term":
            return _in_python(cc, xc, agg, "GROUP_CONCAT (DISTINCT, of an expression) is left to rdflib")
        # PostgreSQL: string_agg of the string literals' lexical forms (the order of the parts
        # is not defined by SPARQL); an unbound or non-string value makes it an error (unbound)
        text = sql("(CASE WHEN {} THEN {} END)", xc.is_string_lit(ex), xc.f(ex, "lex"))
        sep = agg.separator if agg.separator is not None else " "
        v = sql("COALESCE(string_agg({}, CAST({} AS TEXT)), '')", text, param(str(sep)))
        t = sql("(CASE WHEN COUNT(*) > COUNT({}) OR COUNT({}) > COUNT({}) THEN NULL ELSE -5 END)",
                ex.e, ex.e, text)
        return Col.val(v, t, text=True)
    raise cc.decline(f"aggregate {name}")


def _read_in_expressions(cc: CompileContext) -> set[Variable]:
    """The variables of the query being compiled that ORDER BY, a FILTER (HAVING) or a
    computed BIND reads, through renamings (``(AVG(?x) AS ?a)`` reads ``?a`` as the
    aggregate's own variable); every variable when the query is not known."""
    top = cc.__dict__.get("_top")
    if top is None:
        return _ALL
    cached = cc.__dict__.get("_read_in_expressions")
    if cached is not None:
        return cached
    alias: dict[Variable, Variable] = {}
    read: set[Variable] = set()

    def walk(node: object, reading: bool) -> None:
        if isinstance(node, Variable):
            if reading:
                read.add(node)
        elif isinstance(node, CompValue):
            if node.name == "Extend" and isinstance(node.expr, Variable):
                alias[node.var] = node.expr
                walk(node.p, reading)
                return
            for k, v in node.items():
                walk(v, reading or (node.name in ("Filter", "Extend", "LeftJoin", "OrderCondition", "OrderBy")
                                    and k == "expr"))
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v, reading)

    walk(top, False)
    for v in list(read):
        seen = set()
        while v in alias and v not in seen:
            seen.add(v)
            v = alias[v]
            read.add(v)
    cc._read_in_expressions = read  # type: ignore[attr-defined]
    return read


class _Everything(set):
    def __contains__(self, item: object) -> bool:
        return True


_ALL = _Everything()


def _in_python(cc: CompileContext, xc: ExprCompiler, agg: CompValue, why: str) -> Col:
    """The aggregate computed by a Python callback (SQLite), else the compiler declines."""
    col = xc.python_aggregate(agg)
    if col is None:
        raise cc.decline(why)
    return col


def _countable(xc: ExprCompiler, ex: Ex) -> Sql:
    """An expression that is NULL exactly when ``ex`` is unbound or an error."""
    if ex.kind in ("term", "num", "str", "py"):
        return ex.e
    if ex.kind == "val":
        return ex.rank if isinstance(ex.rank, Sql) else Sql(str(ex.rank))
    if ex.kind == "bool":
        return sql("(CASE WHEN {} THEN 1 WHEN NOT {} THEN 0 END)", ex.e, ex.e)
    if ex.kind == "const":
        return Sql("1")
    return NULL


def _sql(x: Sql | int | str) -> Sql:
    """A value's type code / divisor as SQL (``Ex.rank`` / ``Ex.lang`` of a ``val``)."""
    return x if isinstance(x, Sql) else Sql(str(x)) if isinstance(x, int) else NULL
