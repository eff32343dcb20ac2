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

from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from .block import Block, Col
from .context import CompileContext, GraphScope
from .expressions import Ex, ExprCompiler, TermAccess
from .sql import NULL, Sql, param, sql

__all__ = ["compile_aggregate"]


def compile_aggregate(cc: CompileContext, node: CompValue, scope: GraphScope) -> Block:
    from .patterns import compile_pattern, plain
    group = node.p
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
        keys.extend(col.parts())
    cols: dict[Variable, Col] = {}
    for agg in node.A:
        cols[agg.res] = _aggregate(cc, xc, block, agg)
    block.group_by = keys
    if not keys:
        block.empty = False  # aggregating no rows still gives one group
    block.cols = cols
    block.nullable = set(cols)
    return block


def _aggregate(cc: CompileContext, xc: ExprCompiler, block: Block, agg: CompValue) -> Col:
    name = agg.name
    distinct = bool(agg.distinct)
    dkw = "DISTINCT " if distinct else ""
    if name == "Aggregate_Count":
        if agg.vars == "*":
            if distinct:
                raise cc.decline("COUNT(DISTINCT *)")
            return Col.val(Sql("COUNT(*)"), Sql("-1"))
        ex = xc.value(agg.vars)
        e = _countable(xc, ex)
        return Col.val(sql(f"COUNT({dkw}{{}})", e), Sql("-1"))
    if name == "Aggregate_Sample":
        ex = xc.value(agg.vars)
        if ex.kind == "term":
            return Col.id(sql("MIN({})", ex.e))
        if ex.kind == "val":
            return Col.val(sql("MIN({})", ex.e), sql("MIN({})", ex.rank), sql("MIN({})", ex.lang))
        if ex.kind == "const":
            return Col.id(cc.tparam(ex.const))
        raise cc.decline("SAMPLE of an expression")
    ex = xc.value(agg.vars)
    if name in ("Aggregate_Sum", "Aggregate_Avg"):
        n = xc.num(ex)
        bound = _countable(xc, ex)
        rank = n.rank if isinstance(n.rank, Sql) else Sql(str(n.rank))
        err = sql("COUNT({}) > COUNT({})", bound, n.e)
        total = sql(f"SUM({dkw}{{}})", n.e)
        cnt = sql(f"COUNT({dkw}{{}})", n.e)
        maxr = sql("MAX(CASE WHEN {} IS NOT NULL THEN {} END)", n.e, rank)
        if name == "Aggregate_Sum":
            t = sql("(CASE WHEN {} THEN -99 WHEN {} = 0 THEN -1 ELSE - {} END)", err, cnt, maxr)
            return Col.val(sql("COALESCE({}, 0)", total), t)
        t = sql("(CASE WHEN {} THEN -99 WHEN {} = 0 THEN -1 WHEN {} <= 2 THEN -2 ELSE - {} END)",
                err, cnt, maxr, maxr)
        return Col.val(sql("COALESCE({}, 0)", total), t, sql("NULLIF({}, 0)", cnt))
    if name in ("Aggregate_Min", "Aggregate_Max"):
        fn = "MIN" if name == "Aggregate_Min" else "MAX"
        if ex.kind != "term":
            n = xc.num(ex)
            rank = n.rank if isinstance(n.rank, Sql) else Sql(str(n.rank))
            return Col.val(sql(f"{fn}({{}})", n.e),
                           sql("(CASE WHEN COUNT({}) = 0 THEN NULL ELSE - MAX({}) END)", n.e, rank))
        f = xc.f
        num, dt = f(ex, "num"), f(ex, "dt")
        strv = sql("(CASE WHEN {} AND {} = '' THEN {} END)", xc.is_string_lit(ex), f(ex, "lang"), f(ex, "lex"))
        all_num = sql("COUNT({}) = COUNT({})", num, ex.e)
        all_str = sql("COUNT({}) = COUNT({})", strv, ex.e)
        numv = sql(f"{fn}({{}})", num) if cc.sqlite else sql(f"CAST({fn}({{}}) AS TEXT)", num)
        v = sql(f"(CASE WHEN {{}} THEN {{}} WHEN {{}} THEN {fn}({{}}) END)",
                all_num, numv, all_str, cc.text_key(strv))
        rank = xc.rank_of(ex)
        t = sql("(CASE WHEN COUNT({}) = 0 THEN NULL WHEN {} AND MIN({}) = MAX({}) THEN MIN({}) "
                "WHEN {} THEN -100 - MAX({}) WHEN {} THEN -5 ELSE -99 END)",
                ex.e, all_num, dt, dt, dt, all_num, rank, all_str)
        return Col.val(v, t, sql("MIN({})", rank))
    if name == "Aggregate_GroupConcat":
        sep = agg.separator if agg.separator is not None else " "
        s = _concat_text(xc, ex)
        bound = _countable(xc, ex)
        if cc.sqlite:
            if distinct and sep != ",":
                raise cc.decline("GROUP_CONCAT(DISTINCT …; SEPARATOR) on SQLite")
            agg_sql = sql("group_concat(DISTINCT {})", s) if distinct else sql("group_concat({}, {})", s, param(str(sep)))
        else:
            agg_sql = sql(f"string_agg({dkw}{{}}, {{}})", s, param(str(sep)))
        t = sql("(CASE WHEN COUNT({}) > COUNT({}) THEN -99 ELSE -5 END)", bound, s)
        return Col.val(sql("COALESCE({}, '')", agg_sql), t)
    raise cc.decline(f"aggregate {name}")


def _countable(xc: ExprCompiler, ex: Ex) -> Sql:
    """An expression that is NULL exactly when ``ex`` is unbound or an error."""
    if ex.kind in ("term", "num", "str"):
        return ex.e
    if ex.kind == "val":
        return ex.rank if isinstance(ex.rank, Sql) else Sql(str(ex.rank))
    if ex.kind == "bool":
        return sql("(CASE WHEN {} THEN 1 WHEN NOT {} THEN 0 END)", ex.e, ex.e)
    if ex.kind == "const":
        return Sql("1")
    return NULL


def _concat_text(xc: ExprCompiler, ex: Ex) -> Sql:
    if ex.kind == "term":
        return sql("(CASE WHEN {} IN (1, 3) THEN {} END)", xc.f(ex, "kind"), xc.f(ex, "lex"))
    if ex.kind == "str":
        return ex.e
    return xc.string(ex).e
