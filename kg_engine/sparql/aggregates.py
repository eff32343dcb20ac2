"""SPARQL 1.1 aggregation (§18.5) for the parts of a query rdflib's evaluator runs.

Replaces rdflib's ``AggregateJoin`` evaluation for kg-engine queries, fixing:

* an empty solution sequence gives no group when the query has ``GROUP BY`` (and one group,
  with ``COUNT`` 0, ``SUM`` 0, ``AVG`` 0 and ``MIN``/``MAX``/``SAMPLE`` unbound, without it);
* ``SUM``/``AVG`` are errors (the variable stays unbound) when a value is not numeric;
* an unbound value in a group makes every aggregate but ``COUNT`` an error (``Flatten`` keeps
  error elements; only ``Count`` removes them, §18.5.1), as Jena and Oxigraph do;
* ``MIN``/``MAX`` use the SPARQL ``ORDER BY`` ordering over all terms
  (:func:`kg_engine.sparql.ordering.order_key`, as ORDER BY does) and return the stored term;
* numeric results follow XPath type promotion; exact decimals (no float rounding);
* ``GROUP_CONCAT`` requires strings, returns a simple literal, honours ``SEPARATOR``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from rdflib import Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.plugins.sparql.evalutils import _eval
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import FrozenBindings, NotBoundError, SPARQLError

from kg_engine.core import float32
from kg_engine.sparql import xsd
from kg_engine.sparql.ordering import order_key

__all__ = ["eval_aggregate_join"]

_ERR = object()  # an expression error inside a group


def _value(expr: Any, row: Any) -> Any:
    """Evaluate ``expr`` on a row: the term, None when unbound, or _ERR."""
    try:
        v = _eval(expr, row)
    except NotBoundError:
        return None
    except SPARQLError:
        return _ERR
    if isinstance(v, SPARQLError):
        return _ERR if not isinstance(v, NotBoundError) else None
    return v


def _numeric_result(v: Any, dt: URIRef) -> Literal:
    if dt == XSD.float:  # single precision, written with its shortest digits
        return Literal(xsd._canonical_double(float32.shortest(float32.round32(float(v)))),
                       datatype=dt, normalize=False)
    if dt == XSD.double:
        return Literal(xsd._canonical_double(float(v)), datatype=dt, normalize=False)
    if dt == XSD.decimal:
        return Literal(xsd._canonical_decimal(Decimal(v)), datatype=XSD.decimal, normalize=False)
    return Literal(str(int(v)), datatype=XSD.integer, normalize=False)


_RANK = {XSD.integer: 0, XSD.decimal: 1, XSD.float: 2, XSD.double: 3}


def _sum(values: list[Any]) -> tuple[Any, URIRef] | None:
    total: Any = 0
    dt = XSD.integer
    for v in values:
        if v is _ERR or not isinstance(v, Literal) or xsd.category(v) != "numeric":
            return None
        n = xsd.numeric_value(v)
        vdt = XSD.integer if v.datatype in xsd.INTEGER_TYPES else v.datatype
        if _RANK[vdt] > _RANK[dt]:
            dt = vdt
        if dt == XSD.float:  # op:numeric-add on floats: rounded to single precision each time
            total = float32.round32(float32.round32(float(total)) + float32.round32(float(n)))
        elif dt == XSD.double:
            total = float(total) + float(n)
        elif dt == XSD.decimal:
            total = Decimal(total) + Decimal(n)
        else:
            total = total + n
    return total, dt


def _aggregate(agg: CompValue, rows: list[Any]) -> Any:
    name = agg.name
    distinct = bool(agg.distinct)
    if name == "Aggregate_Count" and agg.vars == "*":
        return Literal(len(set(rows)) if distinct else len(rows))
    values = [_value(agg.vars, r) for r in rows]
    if name == "Aggregate_Sample":
        for v in values:
            if v is not None and v is not _ERR:
                return v
        return None
    if None in values and name != "Aggregate_Count":
        return None  # an unbound value is an error element: the aggregate is unbound (§18.5.1)
    present = [v for v in values if v is not None]
    if distinct:
        seen: list[Any] = []
        keys: set[Any] = set()
        for v in present:
            k = id(v) if v is _ERR else v
            if k not in keys:
                keys.add(k)
                seen.append(v)
        present = seen
    if name == "Aggregate_Count":
        return Literal(sum(1 for v in present if v is not _ERR))
    if name == "Aggregate_Sum":
        r = _sum(present)
        return None if r is None else _numeric_result(*r)
    if name == "Aggregate_Avg":
        if not present:
            return Literal("0", datatype=XSD.integer, normalize=False)
        r = _sum(present)
        if r is None:
            return None
        total, dt = r
        if dt in (XSD.float, XSD.double):
            return _numeric_result(float(total) / len(present), dt)
        return _numeric_result(Decimal(total) / Decimal(len(present)), XSD.decimal)
    if name in ("Aggregate_Min", "Aggregate_Max"):
        if any(v is _ERR for v in present):
            present = [v for v in present if v is not _ERR]
        if not present:
            return None
        pick = min if name == "Aggregate_Min" else max
        return pick(present, key=order_key)
    if name == "Aggregate_GroupConcat":
        sep = agg.separator if agg.separator is not None else " "
        parts = []
        for v in present:
            if v is _ERR or not isinstance(v, Literal) or xsd.category(v) not in ("string", "lang"):
                return None
            parts.append(str(v))
        return Literal(str(sep).join(parts))  # always a simple literal (W3C agg-groupconcat-4..6)
    raise SPARQLError(f"unknown aggregate {name}")


def eval_aggregate_join(ctx: Any, agg: CompValue) -> Iterator[FrozenBindings]:
    """``AggregateJoin`` node: group the solutions of ``agg.p`` and compute ``agg.A``."""
    from rdflib.plugins.sparql.evaluate import evalPart

    group = agg.p
    rows_iter = evalPart(ctx, group)
    group_expr = group.expr
    groups: dict[Any, list[Any]] = {}
    if group_expr is None:
        groups[()] = []
    for row in rows_iter:
        if group_expr is None:
            key: Any = ()
        else:
            key = tuple(
                ("err",) if (v := _value(e, row)) is _ERR else v for e in group_expr
            )
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        bindings: dict[Variable, Any] = {}
        for a in agg.A:
            try:
                v = _aggregate(a, rows)
            except SPARQLError:
                v = None
            if v is not None:
                bindings[a.res] = v
        yield FrozenBindings(ctx, bindings)
