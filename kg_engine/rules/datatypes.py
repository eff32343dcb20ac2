"""Literal membership in OWL 2 RL datatypes (rule dt-type2 / dt-not-type), as SQL.

OWL 2 RL types every literal with each supported datatype whose value space holds its
value (dt-type2: ``"5"^^xsd:integer`` is an ``xsd:byte``, an ``xsd:decimal``, an
``owl:real``…) and makes a literal typed with a datatype that does not hold it inconsistent
(dt-not-type). kg-engine never writes a triple with a literal subject, so these typings are
not materialised; the rules that read them test membership instead with two built-ins:

* ``isDatatype(?d)`` — ``?d`` is one of :data:`SUPPORTED` (the datatypes whose value spaces
  are decided here);
* ``inDatatype(?v, ?d)`` — ``?v`` is a literal whose data value is in the value space of the
  supported datatype ``?d`` (false for IRIs, blank nodes and ill-typed literals).

They serve ``cls-svf1/dt`` (``∃p.xsd:integer``: a property value that is an integer) and the
constraints ``dt-not-type/rng`` and ``dt-not-type/avf`` (a data range or ``allValuesFrom``
that a literal value is not in). Value spaces follow OWL 2 (§4 of the Structural
Specification): the decimal family (``owl:real``, ``owl:rational``, ``xsd:decimal``,
``xsd:integer`` and its 12 subtypes with their ranges) is compared by value — ``"5.0"^^
xsd:decimal`` is an ``xsd:integer``, ``"300"^^xsd:byte`` is ill-typed; ``xsd:double`` and
``xsd:float`` are disjoint from it and from each other; strings (``xsd:string`` and the
plain literals without language tag) are ``rdf:PlainLiteral``\\ s, as are language-tagged
literals; ``xsd:boolean`` and ``xsd:dateTime`` need a well-formed lexical form. Datatypes
outside :data:`SUPPORTED` (``xsd:token``, ``xsd:anyURI``, user ``rdfs:Datatype``\\ s,
enumerations) derive nothing and are never reported.

Example:
    >>> from rdflib import XSD
    >>> str(XSD.byte) in SUPPORTED and str(XSD.token) not in SUPPORTED
    True
    >>> member_sql("t", "dtlex", str(XSD.boolean))
    ('(t.kind = 3 AND dtlex = ? AND t.bln IS NOT NULL)', ['http://www.w3.org/2001/XMLSchema#boolean'])
"""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, XSD

from kg_engine.store.terms import INTEGER_RANGES

__all__ = ["SUPPORTED", "member_sql"]

_X = str(XSD)
_UNBOUNDED = (None, None)
#: integer datatypes and their inclusive value ranges (the store's: an out-of-range lexical
#: form is ill-typed and gets no ``num`` value)
INTEGERS = INTEGER_RANGES
#: datatypes whose literals are decimal numbers (the lexical forms the store gives a value)
DECIMALS = (_X + "decimal", *INTEGERS)
#: supertypes of the decimal family with no range (every decimal value)
_REALS = (str(OWL.real), str(OWL.rational), _X + "decimal")
_STRINGS = (_X + "string",)
_LITERAL, _PLAIN = str(RDFS.Literal), str(RDF.PlainLiteral)
_EXACT = (_X + "double", _X + "float", _X + "boolean", _X + "dateTime")

#: Datatype IRIs whose value spaces :func:`member_sql` decides.
SUPPORTED = frozenset((_LITERAL, _PLAIN, *_STRINGS, *_REALS, *INTEGERS, *_EXACT))


def _bounds(t: str, dt: str) -> tuple[str, list]:
    lo, hi = INTEGERS.get(dt, _UNBOUNDED)
    conds, params = [], []
    if lo is not None:
        conds.append(f"{t}.num >= ?")
        params.append(float(lo))
    if hi is not None:
        conds.append(f"{t}.num <= ?")
        params.append(float(hi))
    return " AND ".join(conds) or "1 = 1", params


def _in(expr: str, values: tuple[str, ...]) -> tuple[str, list]:
    return f"{expr} IN ({', '.join('?' * len(values))})", list(values)


def member_sql(t: str, dtlex: str, dt: str) -> tuple[str, list]:
    """SQL condition: the term whose ``kg_terms`` row is aliased ``t`` (its datatype IRI
    is the SQL expression ``dtlex``, ``''`` for plain and language literals) is a literal in
    the value space of datatype ``dt`` (one of :data:`SUPPORTED`)."""
    lit = f"{t}.kind = 3"
    if dt == _LITERAL:
        return lit, []
    if dt in (_PLAIN, *_STRINGS):
        s, ps = _in(dtlex, _STRINGS)
        plain = f"{t}.dt = 0" if dt == _PLAIN else f"({t}.dt = 0 AND {t}.lang = '')"
        return f"({lit} AND ({plain} OR {s}))", ps
    if dt in _REALS or dt in INTEGERS:
        # a well-formed decimal-family literal within its own datatype's range ...
        src = []
        params: list = []
        for d in DECIMALS:
            b, bp = _bounds(t, d)
            src.append(f"({dtlex} = ? AND {b})")
            params += [d, *bp]
        cond = f"{lit} AND {t}.num IS NOT NULL AND ({' OR '.join(src)})"
        if dt in INTEGERS:  # ... whose value is an integer in the target's range
            b, bp = _bounds(t, dt)
            cond += f" AND {t}.num = round({t}.num) AND {b}"
            params += bp
        return f"({cond})", params
    if dt in _EXACT:
        value = {_X + "boolean": "bln", _X + "dateTime": "dtm"}.get(dt, "num")
        return f"({lit} AND {dtlex} = ? AND {t}.{value} IS NOT NULL)", [dt]
    raise ValueError(f"unsupported datatype {dt}")  # pragma: no cover - callers check SUPPORTED
