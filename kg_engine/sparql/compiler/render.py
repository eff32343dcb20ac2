"""Render a :class:`~.block.Block` as one SQL SELECT, and wrap it as a derived table."""

from __future__ import annotations

from rdflib.term import Variable

from .block import Block, Col, FromItem
from .context import CompileContext
from .sql import Sql, sql

__all__ = ["Layout", "from_clause", "render", "wrap"]

#: per output variable: its Col kind ("id"/"val") and its first output column index
Layout = list[tuple[Variable, str, int]]


def from_clause(ctx: CompileContext, froms: list[FromItem]) -> Sql:
    """``FROM …`` (empty when there is no table)."""
    if not froms:
        return Sql("")
    if froms[0].on is not None:  # a join onto the one empty solution (no table before it)
        froms = [FromItem("JOIN", Sql("(SELECT 1 AS one_) AS " + ctx.alias("e"))), *froms]
    parts: list[Sql] = [Sql(" FROM ") + froms[0].table]
    for item in froms[1:]:
        kw = item.kw
        if kw == "JOIN":
            # SQLite: CROSS JOIN pins the join order chosen by the compiler.
            kw = "CROSS JOIN" if ctx.sqlite or item.on is None else "JOIN"
        if item.on is None:
            if kw == "LEFT JOIN":
                parts.append(sql(" LEFT JOIN {} ON (1=1)", item.table))
            else:
                parts.append(sql(f" {kw} {{}}", item.table))
        else:
            parts.append(sql(f" {kw} {{}} ON {{}}", item.table, item.on))
    return Sql.join("", parts)


def where_clause(conds: list[Sql], kw: str = " WHERE ") -> Sql:
    if not conds:
        return Sql("")
    return kw + Sql.join(" AND ", [c if c.text.startswith("(") else c.paren() for c in conds])


def render(
    ctx: CompileContext,
    block: Block,
    out: list[Variable] | None = None,
    *,
    distinct: bool | None = None,
    order: list[tuple[Sql, bool]] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    names: bool = True,
    hidden_order: bool = False,
) -> tuple[Sql, Layout]:
    """The SELECT statement of ``block`` projecting ``out`` (default: every variable).

    Output columns are named ``c0, c1, …`` (a value column takes three: value, type code,
    divisor). Returns the statement and its layout.
    """
    if out is None:
        out = list(block.cols)
    select: list[Sql] = []
    layout: Layout = []
    i = 0
    for v in out:
        col = block.cols.get(v)
        if col is None:
            col = Col.id(ctx.null_id)
        layout.append((v, col.kind, i))
        parts = col.parts()
        if not ctx.sqlite:  # bare NULLs would become text columns on PostgreSQL
            typed = [ctx.null_id] if col.is_id else list(ctx.null_val())
            parts = [t if p.text == "NULL" else p for p, t in zip(parts, typed)]
        for part in parts:
            select.append(part + (f" AS c{i}" if names else ""))
            i += 1
    if not select:
        select.append(Sql("1 AS c_" if names else "1"))
    dist = block.distinct if distinct is None else distinct
    ords = block.order if order is None else order
    order_sql: list[Sql] = []
    for j, (key, desc) in enumerate(ords):
        if dist or hidden_order:
            select.append(key + f" AS o{j}")
            order_sql.append(Sql(f"o{j}" + (" DESC" if desc else "")))
        else:
            order_sql.append(key + (" DESC" if desc else ""))
    head = Sql("SELECT DISTINCT " if dist else "SELECT ") + Sql.join(", ", select)
    body = head + from_clause(ctx, block.froms) + where_clause(block.where)
    if block.group_by is not None:
        if block.group_by:
            body = body + " GROUP BY " + Sql.join(", ", block.group_by)
        body = body + where_clause(block.having, " HAVING ")
    if order_sql:
        body = body + " ORDER BY " + Sql.join(", ", order_sql)
    lim = block.limit if limit is None else limit
    off = block.offset if offset is None else offset
    if lim is not None:
        body = body + f" LIMIT {int(lim)}"
    elif off:
        body = body + (" LIMIT -1" if ctx.sqlite else "")
    if off:
        body = body + f" OFFSET {int(off)}"
    return body, layout


def wrap(ctx: CompileContext, block: Block, out: list[Variable] | None = None,
         barrier: bool = False) -> Block:
    """A new plain block whose only table is ``(SELECT … block …) AS tN``.

    ``barrier`` (SQLite): the derived table is one table of the join around it. SQLite
    flattens a plain sub-select into the query that reads it, and a join of more than
    :data:`~.block.SQLITE_JOIN_TABLES` tables fails; a sub-select with a LIMIT is not
    flattened into a join, so ``LIMIT -1`` (no limit) keeps it apart.
    """
    barrier = barrier and ctx.sqlite and block.limit is None
    body, layout = render(ctx, block, out, limit=-1 if barrier else None)
    alias = ctx.alias("t")
    new = Block(froms=[FromItem("JOIN", sql(f"({{}}) AS {alias}", body),
                                tables=1 if barrier or block.group_by is not None or block.distinct
                                or block.limit is not None else max(block.tables(), 1))])
    for v, kind, i in layout:
        if kind == "id":
            new.cols[v] = Col.id(Sql(f"{alias}.c{i}"))
        else:
            old = block.cols.get(v)  # its SQL type (text or not) goes with it: a UNION
            # beside this sub-select casts its other branches to text (see patterns._union)
            new.cols[v] = Col.val(Sql(f"{alias}.c{i}"), Sql(f"{alias}.c{i + 1}"), Sql(f"{alias}.c{i + 2}"),
                                  risky=bool(old is not None and old.risky),
                                  text=bool(old is not None and old.text))
    new.nullable = {v for v in new.cols if v in block.nullable or v not in block.cols}
    new.empty = block.empty
    return new

