"""The SPARQL ``ORDER BY`` ordering of RDF terms (§15.1), shared by ORDER BY and MIN/MAX.

§18.5.1 defines ``MIN``/``MAX`` through the ``ORDER BY`` ordering, so both use this one key
(the SQL compiler orders stored terms the same way): unbound < blank nodes < IRIs < literals;
literals with a numeric value by that value (an integer's or decimal's exact value breaks the
ties of their doubles), then dates and times by instant, then durations by length (see
:func:`kg_engine.sparql.durations.order_value`), then booleans, then the rest by lexical form and
language tag. A NaN (``"NaN"^^xsd:double``) has no numeric position (``NaN < x`` and ``NaN > x``
are false), so it sorts after the numbers, among the other literals, by its lexical form.

Example:
    >>> from rdflib import Literal
    >>> from rdflib.namespace import XSD
    >>> def double(lex):  # as written (rdflib would normalise "NaN" to "nan")
    ...     return Literal(lex, datatype=XSD.double, normalize=False)
    >>> [str(t) for t in sorted([double("NaN"), Literal(3), double("-INF")], key=order_key)]
    ['-INF', '3', 'NaN']
    >>> big = [Literal("-9223372036854775807", datatype=XSD.integer),
    ...        Literal("-9223372036854775808", datatype=XSD.integer)]
    >>> str(min(big, key=order_key))  # one double, two integers
    '-9223372036854775808'
"""

from __future__ import annotations

from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql.sparql import SPARQLError

from kg_engine.sparql import durations, xsd

__all__ = ["order_key"]


def order_key(term: Any) -> tuple:
    """The SPARQL ORDER BY sort key of a term (errors and unbound values sort first)."""
    from kg_engine.store.terms import typed_values

    if isinstance(term, BNode):
        return (1, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0, str(term), "", 0)
    if isinstance(term, URIRef):
        return (2, 0, 0.0, 0, 0.0, 0, 0.0, 0, 0, str(term), "", 0)
    if isinstance(term, Literal):
        num = dtm = bln = dur = None
        if term.datatype in durations.DURATION_TYPES:
            try:
                dur = durations.order_value(durations.value(term))
            except SPARQLError:  # ill-typed: among the other literals, by its lexical form
                pass
        elif term.datatype == XSD.time:  # no store value: by its instant, among the dates
            try:
                dtm = float(durations.time_value(term)[0])
            except SPARQLError:
                pass
        elif term.datatype is not None:
            num, dtm, bln = typed_values(str(term), str(term.datatype))
        exact: Any = 0 if num is None else num
        if num is not None and term.datatype not in (XSD.double, XSD.float):
            # an integer's or decimal's own value breaks ties of the doubles where the double
            # does not decide (9007199254740993 and ...992 are one double; 0.1 and 0.1e0 stay
            # equal); last, so only equal doubles compare it (never NaN)
            try:
                v = xsd.numeric_value(term)
                if not xsd.decided_as_double(v):
                    exact = v
            except SPARQLError:
                pass
        plain = num is None and dtm is None and bln is None and dur is None
        return (3, num is None, num or 0.0, dtm is None, dtm or 0.0, dur is None, dur or 0,
                bln is None, bln or 0, str(term) if plain else "", term.language or "", exact)
    return (0,)
