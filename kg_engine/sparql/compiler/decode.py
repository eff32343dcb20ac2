"""Turn SQL result rows back into rdflib terms.

Id columns are decoded with one batched ``kg_terms`` lookup per 900 distinct ids (lexical
forms are kept exactly). Value columns (aggregates, arithmetic, string functions) are turned
into literals by their type code:

====  ===========================================================
code  term
====  ===========================================================
-1    xsd:integer          -2  xsd:decimal (exact; AVG = SUM/COUNT)
-3    xsd:float            -4  xsd:double
-5    simple literal       -6  xsd:boolean
> 0   the datatype with that term id (MIN/MAX of typed numbers)
-99   SQL could not compute it exactly: :class:`RuntimeDecline`
NULL  unbound
====  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib.namespace import XSD
from rdflib.term import Identifier, Literal, URIRef

from kg_engine.store.schema import IRI, LITERAL
from kg_engine.store.terms import decode as decode_term

from .block import Decline
from .context import NUMERIC_DTS
from .render import Layout

__all__ = ["RuntimeDecline", "decode_rows", "fetch_terms"]

_CHUNK = 900
_INTEGER_FAMILY = NUMERIC_DTS - {str(XSD.decimal), str(XSD.float), str(XSD.double)}


class RuntimeDecline(Decline):
    """A result SQL computed cannot be represented exactly; rdflib must evaluate instead."""


def fetch_terms(store: Any, ids: Sequence[int]) -> dict[int, Identifier]:
    """Decode positive term ids with their exact lexical forms."""
    out: dict[int, Identifier] = {}
    ids = list(ids)
    for k in range(0, len(ids), _CHUNK):
        chunk = ids[k:k + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = store.db.fetchall(
            "SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
            f"LEFT JOIN kg_terms d ON d.id = t.dt AND t.dt <> 0 WHERE t.id IN ({marks})", chunk)
        for i, kind, lex, dt, lang in rows:
            out[int(i)] = decode_term(kind, lex, dt, lang)
    return out


def _dec(v: Any) -> Decimal:
    if isinstance(v, int):
        return Decimal(v)
    f = float(v)
    if f.is_integer():
        return Decimal(int(f))
    return Decimal(repr(f))


def _value(v: Any, t: int, n: Any, dts: dict[int, Identifier]) -> Identifier | None:
    if t == -1:
        return Literal(int(round(float(v))) if not isinstance(v, int) else v)
    if t == -2:
        try:
            d = _dec(v) / Decimal(int(n)) if n else _dec(v)
        except (InvalidOperation, ValueError):
            raise RuntimeDecline("decimal value") from None
        if n:
            return Literal(d)
        return Literal(d, datatype=XSD.decimal)
    if t in (-3, -4):
        f = float(v) / float(n) if n else float(v)
        if n:
            return Literal(f)
        return Literal(f, datatype=XSD.float if t == -3 else XSD.double)
    if t == -5:
        return Literal(str(v))
    if t == -6:
        return Literal(bool(int(v)))
    if -105 < t < -100:
        # MIN/MAX over mixed numeric types: the winner's type is not known exactly; an
        # integral value with an integer among the inputs is taken as xsd:integer
        f = float(v)
        if f.is_integer() and n == 1:
            return Literal(int(f))
        return _value(v, -(-t - 100), None, dts) if -t - 100 > 2 else Literal(_dec(f))
    if t > 0:
        dt = dts.get(t)  # noqa: SIM102
        if dt is None:
            raise RuntimeDecline("unknown datatype")
        s = str(dt)
        f = float(v)
        if s in _INTEGER_FAMILY:
            return Literal(str(int(f)), datatype=dt)
        if s == str(XSD.decimal):
            return Literal(str(_dec(f)), datatype=dt)
        return Literal(f, datatype=dt)
    raise RuntimeDecline(f"value with type code {t}")


def _fast_term(kind: int, lex: str, dt: Identifier | None, lang: str) -> Identifier:
    """An rdflib term from a dictionary row, skipping rdflib's re-validation for IRIs and
    plain / language-tagged / xsd:string literals (stored terms were validated on input)."""
    if kind == IRI:
        return str.__new__(URIRef, lex)
    if kind == LITERAL and (dt is None or dt == XSD.string):
        lit = str.__new__(Literal, lex)
        lit._language = lang or None
        lit._datatype = dt
        lit._value = lex
        lit._ill_typed = None if dt is None else False
        return lit
    return decode_term(kind, lex, str(dt) if dt is not None else None, lang)


def decode_rows(
    store: Any,
    layout: Layout,
    rows: Sequence[Sequence[Any]],
    constant: Callable[[int], Identifier],
) -> list[tuple[Identifier | None, ...]]:
    """Decode SQL rows (``layout`` says where each variable's columns are).

    ``"term"`` entries carry the term's dictionary row inline (id, kind, lex, dt, lang);
    ``"id"`` entries only the id (looked up here); ``"val"`` entries a computed value.

    Args:
        store: the SQL store (for the ``kg_terms`` lookups).
        layout: from :func:`~.render.render` / :func:`~.render.render_final`.
        rows: the SQL rows.
        constant: maps a negative id to the query constant it stands for.

    Raises:
        RuntimeDecline: a value SQL could not compute exactly (rdflib must evaluate).
    """
    need: set[int] = set()
    for v, kind, i in layout:
        if kind == "id":
            for r in rows:
                x = r[i]
                if x is not None and x > 0:
                    need.add(int(x))
        elif kind == "term":
            for r in rows:
                d = r[i + 3]
                if d:
                    need.add(int(d))
        else:
            for r in rows:
                t = r[i + 1]
                if t is not None and t > 0:
                    need.add(int(t))
    need -= _DT_CACHE.keys()
    terms: dict[int, Identifier] = fetch_terms(store, sorted(need)) if need else {}
    dts = terms
    cache: dict[int, Identifier] = {}
    out: list[tuple[Identifier | None, ...]] = []
    get = cache.get
    for r in rows:
        vals: list[Identifier | None] = []
        for v, kind, i in layout:
            if kind == "term":
                x = r[i]
                if x is None:
                    vals.append(None)
                    continue
                term = get(x)
                if term is None:
                    if x < 0:
                        term = constant(int(x))
                    else:
                        d = r[i + 3]
                        term = _fast_term(r[i + 1], r[i + 2], (dts.get(d) or _DT_CACHE.get(d)) if d else None,
                                          r[i + 4])
                    cache[x] = term
                vals.append(term)
            elif kind == "id":
                x = r[i]
                if x is None:
                    vals.append(None)
                elif x > 0:
                    vals.append(terms[int(x)])
                else:
                    vals.append(constant(int(x)))
            else:
                t = r[i + 1]
                vals.append(None if t is None else _value(r[i], int(t), r[i + 2], {**_DT_CACHE, **terms}))
        out.append(tuple(vals))
    return out


#: datatype IRIs are few: not cached across stores (ids differ); filled per call only
_DT_CACHE: dict[int, Identifier] = {}
