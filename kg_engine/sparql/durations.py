"""XSD durations as values: parsing, XPath's comparisons, sums and their canonical forms.

A duration is a number of months and a number of seconds (XSD 1.1 §3.3.6). Two durations are
equal when both numbers are (``"PT1H"`` = ``"PT60M"``, ``"P1Y"`` = ``"P12M"``, ``"P0M"`` =
``"PT0S"``); they are ordered by adding each to four reference dateTimes (XSD 1.1 §3.3.6.2,
as Oxigraph does): ``"P1M"`` and ``"P30D"`` are not ordered (28 to 31 days), ``"P1M"`` is
shorter than ``"P32D"``. An ``xsd:yearMonthDuration`` only has months, an
``xsd:dayTimeDuration`` only seconds, so either is totally ordered.

Example:
    >>> from rdflib import Literal
    >>> from rdflib.namespace import XSD
    >>> d = lambda lex, dt=XSD.dayTimeDuration: Literal(lex, datatype=dt)
    >>> value(d("PT90M")), value(d("-P1Y2M", XSD.yearMonthDuration))
    ((0, Decimal('5400')), (-14, Decimal('0')))
    >>> compare(value(d("P1M", XSD.duration)), value(d("P32D")))
    -1
    >>> str(add(d("PT1H"), d("PT30M")))
    'PT1H30M'
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql.sparql import SPARQLError

__all__ = ["DURATION_TYPES", "add", "compare", "is_duration", "lexical", "negate", "order_value",
           "time_arith", "time_value", "value"]

DURATION_TYPES = frozenset({XSD.duration, XSD.dayTimeDuration, XSD.yearMonthDuration})

_RE = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
                 r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.ASCII)

#: XSD 1.1 §3.3.6.2: durations are ordered by the dateTimes they reach from these four
_REFERENCES = ((1696, 9), (1697, 2), (1903, 3), (1903, 7))


def is_duration(term: object) -> bool:
    """Whether ``term`` is a literal of one of the three duration datatypes."""
    return isinstance(term, Literal) and term.datatype in DURATION_TYPES


def value(lit: Literal) -> tuple[int, Decimal]:
    """(months, seconds) of a duration literal; SPARQLError if its lexical form is not one of
    its datatype (an ``xsd:yearMonthDuration`` has no days or time, an ``xsd:dayTimeDuration``
    no years or months). ``"P1DT"`` is read as ``"P1D"``, as Oxigraph reads it."""
    lex = str(lit).strip()
    m = _RE.match(lex)
    if m is None or lex.rstrip("T") in ("P", "-P"):
        raise SPARQLError(f"not a valid duration: {lit.n3()}")
    neg, y, mo, d, h, mi, s = m.groups()
    if lit.datatype == XSD.yearMonthDuration and (d or h or mi or s or "T" in lex):
        raise SPARQLError(f"not a valid xsd:yearMonthDuration: {lit.n3()}")
    if lit.datatype == XSD.dayTimeDuration and (y or mo):
        raise SPARQLError(f"not a valid xsd:dayTimeDuration: {lit.n3()}")
    months = int(y or 0) * 12 + int(mo or 0)
    secs = Decimal(int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60) + Decimal(s or 0)
    return (-months, -secs) if neg else (months, secs)


def _days(ref: tuple[int, int], months: int) -> int:
    """Days from the first of month ``ref`` to the first of the month ``months`` later
    (exact for any count: 400 Gregorian years are 146097 days)."""
    cycles, rest = divmod(months, 4800)
    y, mo = ref
    y2, mo2 = divmod(y * 12 + mo - 1 + rest, 12)
    return cycles * 146097 + (_dt.date(y2, mo2 + 1, 1) - _dt.date(y, mo, 1)).days


def compare(a: tuple[int, Decimal], b: tuple[int, Decimal]) -> int:
    """-1, 0 or 1; SPARQLError where XSD leaves the two unordered (``P1M`` and ``P30D``)."""
    (ma, sa), (mb, sb) = a, b
    if ma == mb or sa == sb:
        x, y = (sa, sb) if ma == mb else (ma, mb)
        return (x > y) - (x < y)
    signs = {(d > 0) - (d < 0) for d in
             (Decimal((_days(r, ma) - _days(r, mb)) * 86400) + sa - sb for r in _REFERENCES)}
    if len(signs) != 1:
        raise SPARQLError("the two durations are not ordered (XSD 1.1 §3.3.6.2)")
    return signs.pop()


def order_value(v: tuple[int, Decimal]) -> Decimal:
    """A total order of durations that keeps :func:`compare`'s (ORDER BY, MIN, MAX): the
    seconds reached from 1697-02-01 (so ``P1M`` sorts beside ``P28D``)."""
    return Decimal(_days(_REFERENCES[1], v[0]) * 86400) + v[1]


def _seconds(s: Decimal) -> str:
    t = format(s.normalize(), "f") if s != s.to_integral_value() else str(int(s))
    return t


def lexical(months: int, secs: Decimal, datatype: URIRef) -> str:
    """The canonical lexical form Oxigraph writes (``P0M``/``PT0S`` for zero); SPARQLError if
    the months and seconds have opposite signs (no duration has that value)."""
    if months and secs and (months < 0) != (secs < 0):
        raise SPARQLError("a duration's months and seconds must have the same sign")
    if not months and not secs:
        return "P0M" if datatype == XSD.yearMonthDuration else "PT0S"
    neg = months < 0 or secs < 0
    months, secs = abs(months), abs(secs)
    out = "-P" if neg else "P"
    y, mo = divmod(months, 12)
    out += (f"{y}Y" if y else "") + (f"{mo}M" if mo else "")
    days, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    mi, s = divmod(rest, 60)
    out += f"{int(days)}D" if days else ""
    if h or mi or s:
        out += "T" + (f"{int(h)}H" if h else "") + (f"{int(mi)}M" if mi else "") + \
            (f"{_seconds(s)}S" if s else "")
    return out


def add(a: Literal, b: Literal, sign: int = 1) -> Literal:
    """``a + b`` (``a - b`` with ``sign=-1``) of two durations: two yearMonthDurations or two
    dayTimeDurations keep their type, any other pair is an ``xsd:duration`` (as Oxigraph)."""
    (ma, sa), (mb, sb) = value(a), value(b)
    dt = a.datatype if a.datatype == b.datatype else XSD.duration
    return Literal(lexical(ma + sign * mb, sa + sign * sb, dt), datatype=dt, normalize=False)


_TIME_RE = re.compile(r"^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)?$", re.ASCII)


def _time(lit: Literal) -> tuple[Decimal, str]:
    """(seconds after midnight as written, timezone as written) of an ``xsd:time``."""
    m = _TIME_RE.match(str(lit).strip())
    if m is None or int(m.group(1)) > 24 or int(m.group(2)) > 59 or Decimal(m.group(3)) >= 60 or \
            (int(m.group(1)) == 24 and (int(m.group(2)) or Decimal(m.group(3)))):
        raise SPARQLError(f"not a valid xsd:time: {lit.n3()}")
    secs = Decimal(int(m.group(1)) % 24 * 3600 + int(m.group(2)) * 60) + Decimal(m.group(3))
    return secs, m.group(4) or ""


def time_value(lit: Literal) -> tuple[Decimal, bool]:
    """(seconds on XSD's timeline for times, has a timezone) of an ``xsd:time``: the time on
    1972-12-31, moved to UTC by its timezone (XSD 1.1 §D.2.3, so ``"23:00:00-05:00"`` is
    past midnight), ``24:00:00`` read as ``00:00:00`` (XSD 1.1 §3.3.8), as Oxigraph does.
    SPARQLError if the lexical form is not a time.

    Example:
        >>> t = lambda lex: Literal(lex, datatype=XSD.time)
        >>> time_value(t("10:00:00+01:00")) == time_value(t("09:00:00Z"))
        True
        >>> time_value(t("24:00:00")), time_value(t("23:00:00-05:00"))
        ((Decimal('0'), False), (Decimal('100800'), True))
    """
    secs, tz = _time(lit)
    return secs - _tz_seconds(tz), bool(tz)


def _tz_seconds(tz: str) -> int:
    return 0 if tz in ("", "Z") else (-1 if tz[0] == "-" else 1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)


def time_arith(a: Literal, op: str, b: Literal) -> Literal:
    """``xsd:time - xsd:time`` (an ``xsd:dayTimeDuration``; both with a timezone or both
    without) and ``xsd:time ± duration`` (the duration's days and months-free part, around the
    clock), as XPath's ``op:subtract-times`` / ``op:add-dayTimeDuration-to-time`` and Oxigraph.

    Example:
        >>> t = lambda lex: Literal(lex, datatype=XSD.time)
        >>> str(time_arith(t("10:00:00Z"), "-", t("08:00:00+01:00")))
        'PT3H'
        >>> str(time_arith(t("01:00:00"), "-", Literal("PT2H", datatype=XSD.dayTimeDuration)))
        '23:00:00'
    """
    sa, tza = _time(a)
    if b.datatype == XSD.time and op == "-":
        sb, tzb = _time(b)
        if bool(tza) != bool(tzb):
            raise SPARQLError("subtracting a time without a timezone from one with a timezone")
        diff = (sa - _tz_seconds(tza)) - (sb - _tz_seconds(tzb))
        return Literal(lexical(0, diff, XSD.dayTimeDuration), datatype=XSD.dayTimeDuration,
                       normalize=False)
    if b.datatype not in DURATION_TYPES:
        raise SPARQLError(f"time arithmetic on {a.n3()} and {b.n3()}")
    months, secs = value(b)
    if months:
        raise SPARQLError("a time plus months")
    t = (sa + (secs if op == "+" else -secs)) % 86400
    t = t + 86400 if t < 0 else t  # (a Decimal's remainder keeps the dividend's sign)
    h, rest = divmod(t, 3600)
    mi, s = divmod(rest, 60)
    frac = _seconds(s)
    whole, _, dec = frac.partition(".")
    lex = f"{int(h):02d}:{int(mi):02d}:{int(whole):02d}" + (f".{dec}" if dec else "") + tza
    return Literal(lex, datatype=XSD.time, normalize=False)


def negate(a: Literal) -> Literal:
    """``-a`` (an extension: §17.3's unary minus is numeric; Oxigraph negates durations)."""
    m, s = value(a)
    return Literal(lexical(-m, -s, a.datatype), datatype=a.datatype, normalize=False)
