"""Dictionary encoding of RDF terms: rdflib term ⇄ ``kg_terms`` row.

A term is identified by ``(kind, lex, datatype IRI, lang)`` exactly as written — no
canonicalisation, so ``"01"^^xsd:integer`` and ``"1"^^xsd:integer`` are different terms, as
RDF says (and ``"x"^^xsd:string`` is the simple literal ``"x"``, also as RDF 1.1 says). One
exception: language tags are stored in lower case, so ``"x"@EN`` and ``"x"@en`` are one term.
BCP 47 tags are case-insensitive, RDF 1.1 gives them a lower-case value space (and lets
systems lower-case them), RDF 1.2 makes such literals term-equal, rdflib's ``Literal``
compares and hashes them as equal (so any rdflib-keyed cache or set would merge them anyway)
and Oxigraph lower-cases them too; the W3C SPARQL tests (``dawg-lang-3``) expect it. Its 64-bit hash ``h`` is the lookup key in the database; typed value columns
(``num``, ``dtm``, ``bln``) carry the value of numeric, date/time and boolean literals for
FILTER, ORDER BY and aggregate pushdown.

Example:
    >>> from rdflib import Literal, XSD
    >>> row = encode(Literal("01", datatype=XSD.integer, normalize=False))
    >>> row.kind, row.lex, row.num
    (3, '01', 1.0)
    >>> decode(row.kind, row.lex, row.datatype, row.lang)
    rdflib.term.Literal('01', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#integer'))
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import re
from typing import NamedTuple

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.core.float32 import of_lexical
from kg_engine.core.terms import Term
from kg_engine.store.schema import BNODE, IRI, LITERAL

__all__ = [
    "INTEGER_RANGES",
    "NUMERIC_DATATYPES",
    "VALUED_DATATYPES",
    "TermRow",
    "decode",
    "encode",
    "ill_typed",
    "make_row",
    "term_hash",
    "typed_values",
]

_X = str(XSD)
#: Datatypes whose literals get a ``num`` value.
NUMERIC_DATATYPES = frozenset(
    _X + n
    for n in ["integer", "decimal", "float", "double", "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte", "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "positiveInteger"]
)
#: Value ranges (inclusive; ``None``: unbounded) of the integer datatypes: a lexical form out
#: of its datatype's range is ill-typed (``"300"^^xsd:byte`` has no value, SPARQL
#: ``isNumeric`` is false for it).
INTEGER_RANGES: dict[str, tuple[int | None, int | None]] = {
    _X + "integer": (None, None), _X + "nonNegativeInteger": (0, None), _X + "positiveInteger": (1, None),
    _X + "nonPositiveInteger": (None, 0), _X + "negativeInteger": (None, -1),
    _X + "long": (-(2**63), 2**63 - 1), _X + "int": (-(2**31), 2**31 - 1), _X + "short": (-32768, 32767),
    _X + "byte": (-128, 127), _X + "unsignedLong": (0, 2**64 - 1), _X + "unsignedInt": (0, 2**32 - 1),
    _X + "unsignedShort": (0, 65535), _X + "unsignedByte": (0, 255),
}
_FLOATS = frozenset((_X + "float", _X + "double"))
_DECIMAL = _X + "decimal"
_DATETIMES = frozenset((_X + "dateTime", _X + "dateTimeStamp", _X + "date"))
XSD_DATE = _X + "date"
_BOOLEAN = _X + "boolean"
#: Datatypes whose literals the store gives a value (``num``, ``dtm``, ``bln``).
VALUED_DATATYPES = NUMERIC_DATATYPES | _DATETIMES | {_BOOLEAN}
_STRING = _X + "string"

_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_FLOAT_RE = re.compile(r"([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)")
_DATETIME_RE = re.compile(
    r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


class TermRow(NamedTuple):
    """The dictionary row of one term (without its id)."""

    h: int
    kind: int
    lex: str
    datatype: str | None  # datatype IRI; the store maps it to the ``dt`` term id
    lang: str
    num: float | None
    dtm: float | None
    bln: int | None


def term_hash(kind: int, lex: str, datatype: str | None, lang: str) -> int:
    """Signed 64-bit hash of a term's identity (fits BIGINT and SQLite INTEGER)."""
    key = f"{kind}\x1f{lex}\x1f{datatype or ''}\x1f{lang}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big", signed=True)


def typed_values(lex: str, datatype: str | None) -> tuple[float | None, float | None, int | None]:
    """``(num, dtm, bln)`` for a literal; ``None`` where the datatype does not apply or the
    lexical form is ill-typed (an ill-typed literal is still stored, just without a value)."""
    if datatype is None:
        return None, None, None
    if datatype in NUMERIC_DATATYPES:
        s = lex.strip()
        if datatype in _FLOATS:
            if not _FLOAT_RE.fullmatch(s):
                return None, None, None
            # an xsd:float's value is single precision: "0.1" is 0.100000001490116…
            value = of_lexical(s) if datatype == _X + "float" else float(s.replace("INF", "inf"))
            return (None if math.isnan(value) else value), None, None
        if datatype == _DECIMAL:
            return (float(s) if _DECIMAL_RE.fullmatch(s) else None), None, None
        if not _INTEGER_RE.fullmatch(s):
            return None, None, None
        lo, hi = INTEGER_RANGES[datatype]
        v = int(s)
        return (float(v) if (lo is None or v >= lo) and (hi is None or v <= hi) else None), None, None
    if datatype in _DATETIMES:
        return None, _epoch_seconds(lex.strip()), None
    if datatype == _BOOLEAN:
        s = lex.strip()
        return None, None, 1 if s in ("true", "1") else 0 if s in ("false", "0") else None
    return None, None, None


def ill_typed(lex: str, datatype: str) -> bool:
    """Whether ``lex`` is not a value of ``datatype``, for the datatypes the store gives a
    value (numbers, booleans, dates and dateTimes); ``False`` for any other datatype.

    Dates outside the years 1-9999 (which the store keeps without a value) are judged by
    their form only.

    Example:
        >>> ill_typed("2024-13-01", XSD_DATE), ill_typed("2024-02-29", XSD_DATE)
        (True, False)
        >>> ill_typed("12,50", _DECIMAL), ill_typed("300", _X + "byte"), ill_typed("NaN", _X + "double")
        (True, True, False)
    """
    if datatype in _DATETIMES:
        s = lex.strip()
        m = _DATETIME_RE.fullmatch(s)
        if m is None or (m.group(4) is None) != (datatype == XSD_DATE):
            return True
        return 1 <= int(m.group(1)) <= 9999 and _epoch_seconds(s) is None
    if datatype in NUMERIC_DATATYPES:
        if datatype in _FLOATS:
            return _FLOAT_RE.fullmatch(lex.strip()) is None
        return typed_values(lex, datatype)[0] is None
    if datatype == _BOOLEAN:
        return typed_values(lex, datatype)[2] is None
    return False


def _epoch_seconds(lex: str) -> float | None:
    m = _DATETIME_RE.fullmatch(lex)
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        if int(year) < 1 or int(year) > 9999:
            return None
        hour = int(hh or 0)
        extra = 0.0
        if hour == 24:  # 24:00:00 is the end of the day
            hour, extra = 0, 86400.0
        moment = _dt.datetime(
            int(year), int(month), int(day), hour, int(mm or 0), int(ss or 0),
            tzinfo=_dt.UTC,
        )
    except ValueError:
        return None
    seconds = (moment - _EPOCH).total_seconds() + extra + (float(frac) if frac else 0.0)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        seconds -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return seconds


def make_row(kind: int, lex: str, datatype: str | None = None, lang: str = "") -> TermRow:
    """The dictionary row of a term given by its parts (``xsd:string`` folded to plain)."""
    if kind != LITERAL:
        return TermRow(term_hash(kind, lex, None, ""), kind, lex, None, "", None, None, None)
    if datatype == _STRING:  # RDF 1.1: "x"^^xsd:string and "x" are the same term
        datatype = None
    if lang:  # language tags are case-insensitive: "x"@EN is the term "x"@en (see above)
        lang = lang.lower()
    num, dtm, bln = typed_values(lex, datatype)
    return TermRow(term_hash(LITERAL, lex, datatype, lang), LITERAL, lex, datatype, lang,
                   num, dtm, bln)


def encode(term: Term) -> TermRow:
    """The dictionary row of an rdflib term.

    Raises:
        TypeError: for anything that is not an IRI, blank node or literal.
    """
    if isinstance(term, URIRef):
        return make_row(IRI, str(term))
    if isinstance(term, BNode):
        return make_row(BNODE, str(term))
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype is not None else None
        return make_row(LITERAL, str(term), datatype, term.language or "")
    raise TypeError(f"not an RDF term: {term!r}")


def decode(kind: int, lex: str, datatype: str | None, lang: str | None) -> Term:
    """The rdflib term for a dictionary row, with its lexical form kept exactly."""
    if kind == IRI:
        return URIRef(lex)
    if kind == BNODE:
        return BNode(lex)
    if kind == LITERAL:
        return Literal(lex, lang=lang or None, datatype=datatype or None, normalize=False)
    raise ValueError(f"unknown term kind {kind!r} in kg_terms")
