"""Differential testing of kg-engine's SPARQL engine against pyoxigraph (and rdflib).

A seeded generator builds a small dataset (a default graph and two named graphs with typed,
non-canonical and language-tagged literals and blank nodes) and SPARQL 1.1 queries from a
grammar (basic graph patterns, property paths, OPTIONAL, UNION, MINUS, FILTER with
builtins, [NOT] EXISTS, BIND, VALUES with UNDEF and empty, GRAPH, sub-queries, aggregates
with GROUP BY/HAVING, DISTINCT, ORDER BY, LIMIT/OFFSET; SELECT, ASK, CONSTRUCT; FROM and
FROM NAMED; the later widenings: see :class:`QueryGenerator`). Each query runs on kg-engine
and on pyoxigraph; answers are compared

* as bags of rows, by variable name (blank nodes compared as "some blank node");
* literals by value where a store canonicalises them (pyoxigraph stores ``"01"^^xsd:integer``
  as ``"1"``); a difference that disappears on the dataset with canonical literals is the
  documented deviation ``non-canonical`` (kg-engine keeps RDF's term identity);
* ORDER BY: each engine's sequence must be ordered on the ORDER BY keys as far as the spec
  orders them (§15.1); rows with equal keys may come in any order; with LIMIT/OFFSET rows
  whose keys tie at a cut of the window are not compared;
* ``P|Q`` paths and a repeated ``FROM``: a bag difference that is equal as a set is the
  documented deviation (pyoxigraph drops the duplicates the spec keeps);
* any other difference gets rdflib's opinion: where rdflib's evaluator (over its own memory
  store) agrees with kg-engine and not with pyoxigraph the outcome is ``majority:kg`` —
  listed in the report for a human to judge, not counted as agreement.

Every failing query is shrunk (:func:`shrink`) to a smaller query that fails the same way.
rdflib's own evaluator gives a second opinion on each failure. :func:`run` drives it all
and returns a :class:`Report`; ``benchmarks/sparql_differential.py`` is the command line.

Example:
    >>> gen = QueryGenerator(7)
    >>> q = gen.query()
    >>> q.render().split()[0] in ("SELECT", "ASK", "CONSTRUCT", "PREFIX")
    True
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD


class _Renderable(Protocol):
    def render(self) -> str: ...


#: A shrinkable case: a query :class:`Case` or an update request (anything with ``render()``).
T = TypeVar("T", bound=_Renderable)

__all__ = [
    "Case",
    "Outcome",
    "QueryGenerator",
    "Report",
    "canonical_dataset",
    "compare",
    "make_dataset",
    "run",
    "shrink",
]

EX = "http://example.org/"
PREFIXES = f"PREFIX ex: <{EX}> PREFIX xsd: <{XSD}> "
NODES = [f"ex:n{i}" for i in range(6)]
PREDS = [f"ex:p{i}" for i in range(4)]
GRAPHS = ["ex:g1", "ex:g2"]
VARS = [f"?v{i}" for i in range(5)]
_X = str(XSD)
_INTS = {_X + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                          "positiveInteger", "negativeInteger", "nonPositiveInteger")}

# -- dataset ---------------------------------------------------------------------------------
LITERALS = [
    "1", "2", "3", "10", "-4", "2.5", "0.50", "1.0e1", '"01"^^xsd:integer', '"+3"^^xsd:integer',
    '"1.50"^^xsd:decimal', '"abc"', '"Abc"', '"abc"@en', '"abc"@en-GB', '"b"@fr', '""',
    '"x y"', "true", "false", '"1"^^xsd:boolean', '"2020-01-02T03:04:05Z"^^xsd:dateTime',
    '"2021-06-01"^^xsd:date', '"abc"^^xsd:string', '"zz"^^ex:custom', '"12"',
]
NON_CANONICAL = {'"01"^^xsd:integer': "1", '"+3"^^xsd:integer': "3", '"1.50"^^xsd:decimal': "1.5",
                 "0.50": "0.5", '"1"^^xsd:boolean': "true",
                 # pyoxigraph lower-cases language tags (LANG gives "en-gb")
                 '"abc"@en-GB': '"abc"@en-gb',
                 # pyoxigraph writes a double's STR as "10": the canonical dataset says the same
                 "1.0e1": '"10"^^xsd:double',
                 # the fifth widening's data (LITERALS5)
                 "1.0": '"1"^^xsd:decimal', '"-0.0E0"^^xsd:double': '"-0"^^xsd:double'}


#: literals of the fourth widening's data: non-ASCII and surrogate-pair text, language tags
#: on it, floats, negative decimals, dateTimes with an offset, durations (all written as
#: pyoxigraph's store keeps them, so they are not the ``non-canonical`` deviation)
LITERALS4 = ['"héllo wörld"', '"straße"', '"😀x😀"@en', '"ÅBC"@sv', '"ａｂｃ"', '"a/b c?d&e"',
             '"1.5"^^xsd:float', '"-0.5"^^xsd:decimal', '"4.25E0"^^xsd:double',
             '"2021-06-01T10:00:00+02:00"^^xsd:dateTime', '"2020-01-02T03:04:05Z"^^xsd:dateTime',
             '"P1Y2M"^^xsd:yearMonthDuration', '"PT1H30M"^^xsd:dayTimeDuration', '"-7"']


#: literals of the fifth widening's data: integers past 2^53 (inexact as doubles), a decimal
#: past double precision, xsd:float beside the same-looking xsd:double, signed zero, INF and
#: NaN, dateTimes with and without a timezone (equal instants written differently), language
#: tags in upper case, a newline (REGEX's "s"/"m" flags)
LITERALS5 = ["9007199254740993", "9007199254740992", '"9223372036854775807"^^xsd:integer',
             '"1.000000000000000000001"^^xsd:decimal', "1.0", '"0.1"^^xsd:float', '"0.1"^^xsd:double',
             '"-0.0E0"^^xsd:double', '"INF"^^xsd:double', '"-INF"^^xsd:double', '"NaN"^^xsd:double',
             '"2021-01-01T00:00:00"^^xsd:dateTime', '"2021-01-01T05:00:00+05:00"^^xsd:dateTime',
             '"2021-01-01T00:00:00Z"^^xsd:dateTime', '"a"@EN', '"a"@en-US', '"A\\nb"', '"a.b"@fr']


#: literals of the sixth widening's data: durations of the three types (equal values written
#: in other forms across types, a month beside 28 to 31 days, negative, zero) and dateTimes /
#: dates to subtract (journeys of 45 minutes, 90 minutes and a day); written as pyoxigraph's
#: store keeps them (canonical), so they are not the ``non-canonical`` deviation
LITERALS6 = ['"PT1H"^^xsd:dayTimeDuration', '"PT1H"^^xsd:duration', '"PT45M"^^xsd:duration',
             '"P1D"^^xsd:dayTimeDuration', '"P30D"^^xsd:dayTimeDuration', '"P1M"^^xsd:duration',
             '"P1Y"^^xsd:yearMonthDuration', '"P1Y1M"^^xsd:yearMonthDuration', '"-PT1H"^^xsd:dayTimeDuration',
             '"P1MT1H"^^xsd:duration', '"PT0S"^^xsd:dayTimeDuration', '"P0M"^^xsd:yearMonthDuration',
             '"PT1H30M"^^xsd:dayTimeDuration', '"2020-01-01T08:00:00Z"^^xsd:dateTime',
             '"2020-01-01T08:45:00Z"^^xsd:dateTime', '"2020-01-01T09:30:00Z"^^xsd:dateTime',
             '"2020-01-02T08:00:00Z"^^xsd:dateTime', '"2020-01-01"^^xsd:date', '"2020-03-01"^^xsd:date']

#: duration constants the sixth widening's expressions compare and add
DURATIONS6 = ['"PT1H"^^xsd:dayTimeDuration', '"PT1H"^^xsd:duration', '"PT60M"^^xsd:dayTimeDuration',
              '"P1M"^^xsd:yearMonthDuration', '"P30D"^^xsd:dayTimeDuration', '"P32D"^^xsd:dayTimeDuration',
              '"P12M"^^xsd:yearMonthDuration', '"PT0S"^^xsd:dayTimeDuration', '"-PT30M"^^xsd:dayTimeDuration',
              '"P1Y2M"^^xsd:duration', '"P1DT2H"^^xsd:duration', '"PT1H"^^xsd:yearMonthDuration']


def make_dataset(seed: int, size: int = 40, widen4: bool = True, widen5: bool | None = None,
                 widen6: bool | None = None) -> str:
    """A TriG document: default graph + ``ex:g1``/``ex:g2``, ~``size`` triples in all
    (``widen4``: plus a dozen statements with the fourth widening's literals, drawn from
    their own stream so the others stay those earlier runs had; ``widen5`` (default:
    ``widen4``): the fifth widening's literals and a cycle in each named graph, likewise;
    ``widen6`` (default: ``widen5``): the sixth widening's durations and dates, likewise)."""
    widen5 = widen4 if widen5 is None else widen5
    widen6 = widen5 if widen6 is None else widen6
    rng = random.Random(seed)
    graphs: dict[str, list[str]] = {"": [], "ex:g1": [], "ex:g2": []}
    bnodes = ["_:b1", "_:b2"]
    for _ in range(size):
        g = rng.choice(["", "", "ex:g1", "ex:g2"])
        s = rng.choice(NODES + NODES + bnodes)
        p = rng.choice(PREDS)
        r = rng.random()
        o = rng.choice(NODES + bnodes) if r < 0.45 else rng.choice(LITERALS)
        graphs[g].append(f"{s} {p} {o} .")
    # shared triples: the same statement in two graphs, a chain for paths
    graphs["ex:g1"].append("ex:n0 ex:p0 ex:n1 .")
    graphs["ex:g2"].append("ex:n0 ex:p0 ex:n1 .")
    graphs[""].extend(["ex:n0 ex:p0 ex:n1 .", "ex:n1 ex:p0 ex:n2 .", "ex:n2 ex:p1 ex:n0 ."])
    if widen4:
        r4 = random.Random(seed * 15485863 + 5)
        for lit in LITERALS4:
            g = r4.choice(["", "", "ex:g1", "ex:g2"])
            graphs[g].append(f"{r4.choice(NODES)} {r4.choice(PREDS)} {lit} .")
        # a second cycle (n3 -> n4 -> n3 over p2) and a self-loop for * and + with both ends free
        graphs[""].extend(["ex:n3 ex:p2 ex:n4 .", "ex:n4 ex:p2 ex:n3 .", "ex:n5 ex:p3 ex:n5 ."])
    if widen5:
        r5 = random.Random(seed * 32452843 + 7)
        for lit in LITERALS5:
            g = r5.choice(["", "", "ex:g1", "ex:g2"])
            graphs[g].append(f"{r5.choice(NODES)} {r5.choice(PREDS)} {lit} .")
        # cycles inside the named graphs (paths inside GRAPH ?g), one sharing an edge with the
        # default graph's n0 -> n1 -> n2 -> n0
        graphs["ex:g1"].extend(["ex:n1 ex:p0 ex:n0 .", "ex:n2 ex:p1 ex:n2 ."])
        graphs["ex:g2"].extend(["ex:n3 ex:p0 ex:n4 .", "ex:n4 ex:p0 ex:n5 .", "ex:n5 ex:p0 ex:n3 ."])
    if widen6:
        r6 = random.Random(seed * 49979687 + 17)
        for lit in LITERALS6:
            g = r6.choice(["", "", "", "ex:g1", "ex:g2"])
            graphs[g].append(f"{r6.choice(NODES)} {r6.choice(PREDS)} {lit} .")
    out = [f"@prefix ex: <{EX}> .", f"@prefix xsd: <{XSD}> ."]
    out.extend(sorted(set(graphs[""])))
    for g in GRAPHS:
        out.append(f"{g} {{ " + " ".join(sorted(set(graphs[g]))) + " }")
    return "\n".join(out) + "\n"


def canonical_dataset(trig: str) -> str:
    """The same dataset with its non-canonical literals written canonically."""
    for lit, canon in sorted(NON_CANONICAL.items(), key=lambda kv: -len(kv[0])):
        trig = trig.replace(f" {lit} .", f" {canon} .")
    return trig


# -- query generator ---------------------------------------------------------------------------
# A query is a tree of nodes ``[kind, *children]`` (lists, so the shrinker can edit them);
# leaves are strings. ``render`` turns it into SPARQL text.

Node = list


class QueryGenerator:
    """Random SPARQL 1.1 queries from a grammar (see module docstring).

    Args:
        seed: the random seed (the same seed gives the same queries).
        max_depth: nesting depth of group graph patterns.
        widen: also generate the constructs of the third widening (see ``wide``).
    """

    def __init__(self, seed: int, max_depth: int = 3, widen: bool = True,
                 widen4: bool | None = None, widen5: bool | None = None,
                 widen6: bool | None = None) -> None:
        self.rng = random.Random(seed)
        #: decides on and builds the constructs added later (DESCRIBE, REDUCED, an outer
        #: VALUES, SEPARATOR, more builtins and paths) without changing ``rng``'s stream
        self.ext = random.Random(seed * 7919 + 1)
        #: decides on and builds the third widening (nested OPTIONAL over outer variables,
        #: MINUS without shared variables, EXISTS in OPTIONAL and HAVING, paths over the
        #: cycle with both ends bound, GROUP BY expressions, COALESCE/IF over errors, typed
        #: and language-tagged comparisons, sliced sub-selects); ``widen=False`` turns it off
        #: and gives the queries runs before it gave for the same seed
        self.wide = random.Random(seed * 104729 + 3)
        self.widen = widen
        #: decides on and builds the fourth widening (typed arithmetic and comparisons across
        #: numeric types, dates and durations; string functions on non-ASCII text; FROM /
        #: FROM NAMED with GRAPH ?g; CONSTRUCT templates with blank nodes over named graphs;
        #: aggregate sub-selects with ORDER BY + LIMIT/OFFSET; negated property sets inside
        #: sequences and alternatives, ``*``/``+`` with both ends free; BIND shadowing; VALUES
        #: inside OPTIONAL/GRAPH/MINUS/sub-selects; ORDER BY over mixed term kinds);
        #: ``widen4=False`` (or ``widen=False``) gives the queries runs before it gave
        self.w4 = random.Random(seed * 1299709 + 11)
        self.widen4 = widen if widen4 is None else widen4
        #: decides on and builds the fifth widening (see :meth:`_w5_element`, :meth:`_w5_expr`,
        #: :meth:`_w5_query`): paths over cycles inside GRAPH, zero-length paths at terms not in
        #: the data, alternatives of inverse paths, literal path ends; VALUES with UNDEF in
        #: several columns joined with each other, OPTIONAL, MINUS and EXISTS; FILTERs in nested
        #: OPTIONALs over outer variables, EXISTS over variables bound in some rows only;
        #: aggregates over empty input and mixed numeric types; big integers, float vs double,
        #: signed zero, INF/NaN, division by zero; language-tag case and ranges, STRBEFORE/
        #: STRAFTER with tagged and empty arguments, REGEX flags; dateTimes with and without a
        #: timezone; IN/NOT IN, COALESCE, IF over errors; sameTerm vs = across datatypes;
        #: DISTINCT over equal values in other forms; sliced ORDER BY with ties.
        #: ``widen5=False`` (or ``widen4=False``) gives the queries runs before it gave
        self.w5 = random.Random(seed * 15485867 + 13)
        self.widen5 = self.widen4 if widen5 is None else widen5
        #: decides on and builds the sixth widening (see :meth:`_w6_expr`, :meth:`_w6_query`):
        #: =, !=, <, >, <=, >= of durations of the three types (stored, constant, computed as
        #: ``?b - ?a`` of dateTimes/dates), duration sums and differences, dateTime ± duration,
        #: unary minus, STR/DATATYPE of computed durations; ORDER BY and MIN/MAX over durations.
        #: ``widen6=False`` (or ``widen5=False``) gives the queries runs before it gave
        self.w6 = random.Random(seed * 49979693 + 19)
        self.widen6 = self.widen5 if widen6 is None else widen6
        self.max_depth = max_depth

    # terms -----------------------------------------------------------------------------
    def var(self) -> str:
        return self.rng.choice(VARS[:4] if self.rng.random() < 0.9 else VARS)

    def subject(self) -> str:
        return self.var() if self.rng.random() < 0.75 else self.rng.choice(NODES)

    def obj(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            return self.var()
        return self.rng.choice(NODES + LITERALS[:6] + ['"abc"', '"abc"@en', "true"])

    def path(self) -> str:
        p = self.rng.choice(PREDS)
        q = self.rng.choice(PREDS)
        out = self.rng.choice([
            p, p, p, p, "?pp", f"{p}/{q}", f"{p}|{q}", f"{p}+", f"{p}*", f"^{p}", f"{p}?",
            f"!{p}", f"!({p}|{q})", f"({p}/{q})+", f"^{p}/{q}", "a",
        ])
        if self.ext.random() < 0.08:
            out = self.ext.choice([f"!^{p}", f"!({p}|^{q})", f"({p}|{q})*", f"{p}/^{q}",
                                   f"({p}/{q})?", f"^({p}/{q})", f"{p}+/{q}?"])
        return out

    # expressions -------------------------------------------------------------------------
    def expr(self, depth: int = 0) -> Node:
        out = self._expr(depth)
        if depth <= 1 and self.ext.random() < 0.08:
            out = self._more_builtins(out)
        if depth <= 1 and self.widen and self.wide.random() < 0.06:
            out = self._wide_expr(out)
        if depth <= 1 and self.widen4 and self.w4.random() < 0.08:
            out = self._w4_expr(out)
        if depth <= 1 and self.widen5 and self.w5.random() < 0.08:
            out = self._w5_expr(out)
        if depth <= 1 and self.widen6 and self.w6.random() < 0.1:
            out = self._w6_expr()
        return out

    def _w4_expr(self, e: Node) -> Node:
        """Typed arithmetic and comparisons, string functions on non-ASCII text (fourth
        widening; drawn from ``w4``)."""
        w = self.w4
        v, u = w.choice(VARS[:4]), w.choice(VARS[:4])
        num = w.choice(['"1.5"^^xsd:float', '"2"^^xsd:decimal', '"3"^^xsd:int', '"-2"^^xsd:short',
                        '"4.25E0"^^xsd:double', "2", "0.5", '"-0.5"^^xsd:decimal', '"7"^^xsd:byte'])
        when = w.choice(['"2021-06-01T08:00:00Z"^^xsd:dateTime', '"2021-06-01T10:00:00+02:00"^^xsd:dateTime',
                         '"2020-01-02T03:04:05Z"^^xsd:dateTime', '"2021-06-01"^^xsd:date'])
        text = w.choice(['"é"', '"ß"', '"😀"', '"x"@en', '"Å"@sv', '"ｂ"', '"/"', '""'])
        a = ["atom", v]
        k = w.randrange(14)
        if k == 0:  # arithmetic across numeric types; DATATYPE shows the promotion
            op = w.choice(["+", "-", "*", "/"])
            x = ["bin", op, a, ["atom", num]] if w.random() < 0.6 else ["bin", op, a, ["atom", u]]
            return w.choice([x, ["call", "DATATYPE", x], ["bin", w.choice(["<", ">=", "="]), x, ["atom", "2"]]])
        if k == 1:  # comparisons across numeric types
            return ["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), a, ["atom", num]]
        if k == 2:  # dateTime comparisons across offsets (date: an extension both support)
            return ["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), a, ["atom", when]]
        if k == 3:  # numeric builtins keep the type
            f = w.choice(["ABS", "CEIL", "FLOOR", "ROUND"])
            return w.choice([["call", f, a], ["call", "DATATYPE", ["call", f, a]],
                             ["call", f, ["bin", "*", a, ["atom", num]]]])
        if k == 4:
            return ["call", w.choice(["STRLEN", "UCASE", "LCASE", "ENCODE_FOR_URI"]), a]
        if k == 5:
            return ["call", "SUBSTR", a, ["atom", w.choice(["1", "2", "3", "0", "-1"])],
                    *([["atom", w.choice(["1", "2", "3"])]] if w.random() < 0.6 else [])]
        if k == 6:
            return ["call", "REPLACE", a, ["atom", w.choice(['"L"', '"ß"', '"."', '"(.)x"', '"^."', '"O"', '"å"'])],
                    ["atom", w.choice(['"_"', '"$1$1"', '"[$0]"', '""', '"\\\\$"'])],
                    ["atom", w.choice(['"i"', '"s"', '""', '"q"', '"iq"'])]]
        if k == 7:
            return ["call", w.choice(["STRBEFORE", "STRAFTER"]), a, ["atom", text]]
        if k == 8:
            return ["call", w.choice(["STRSTARTS", "STRENDS", "CONTAINS"]), a, ["atom", text]]
        if k == 9:
            return ["call", "CONCAT", ["call", "UCASE", a], ["atom", text]]
        if k == 10:
            return ["bin", w.choice(["<", ">", "="]), ["call", "STR", a], ["atom", w.choice(['"z"', '"ä"', '"😀"', '"Z"'])]]
        if k == 11:
            return ["call", w.choice(["MD5", "SHA1", "SHA256"]), a]
        if k == 12:
            return ["call", "REGEX", a, ["atom", w.choice(['"^.x"', '"HÉ"', '"^\\\\p{L}+$"', '"ß"'])],
                    ["atom", w.choice(['"i"', '"s"', '""'])]]
        return ["call", w.choice(["xsd:integer", "xsd:decimal", "xsd:double", "xsd:dateTime", "xsd:string"]), a]

    def _wide(self, build: Callable[[], Any]) -> Any:
        """``build()`` drawing from ``wide`` (so ``rng``'s stream is left as it was)."""
        return self._drawn_from(self.wide, build)

    def _drawn_from(self, stream: random.Random, build: Callable[[], Any]) -> Any:
        """``build()`` with ``rng`` standing for ``stream`` (``rng``'s own stream is left as
        it was)."""
        saved, self.rng = self.rng, stream
        try:
            return build()
        finally:
            self.rng = saved

    def _wide_expr(self, e: Node) -> Node:
        """Errors through COALESCE/IF, comparisons of typed and language-tagged literals."""
        w = self.wide
        v, u = w.choice(VARS[:4]), w.choice(VARS[:4])
        err = w.choice([["bin", "/", ["atom", v], ["atom", "0"]], ["call", "xsd:integer", ["atom", v]],
                        ["bin", "+", ["atom", v], ["atom", '"a"']], ["atom", "?unbound"]])
        lit = w.choice(['"abc"@en', '"abc"@EN', '"abc"^^xsd:string', '"1"^^xsd:decimal', '"1.0"^^xsd:double',
                        '"2021-01-01"^^xsd:date', '"2020-01-02T03:04:05Z"^^xsd:dateTime', '"b"@fr',
                        '"zz"^^ex:custom', '"1"^^xsd:int'])
        return w.choice([
            ["call", "COALESCE", err, ["atom", u], ["atom", '"d"']],
            ["call", "COALESCE", err, e],
            ["call", "IF", err, ["atom", "1"], ["atom", "2"]],
            ["call", "IF", e, err, ["atom", v]],
            ["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), ["atom", v], ["atom", lit]],
            ["bin", w.choice(["=", "<"]), ["call", "LANG", ["atom", v]], ["atom", w.choice(['"en"', '""'])]],
            ["bin", "=", ["call", "DATATYPE", ["atom", v]], ["atom", w.choice(["xsd:string", "xsd:integer"])]],
            ["in", w.choice(["IN", "NOT IN"]), ["atom", v], ["atom", lit], err],
        ])

    def _more_builtins(self, e: Node) -> Node:
        """A builtin call the base grammar lacks, over ``e`` or a variable; the random ones
        (RAND, NOW, UUID, STRUUID, BNODE) only where their value is determined."""
        x = self.ext
        v = x.choice(VARS[:4])
        str_v = ["call", "STR", ["atom", v]]
        return x.choice([
            ["call", x.choice(["MD5", "SHA1", "SHA256", "SHA384", "SHA512"]), str_v],
            ["call", x.choice(["DAY", "MINUTES", "SECONDS", "TIMEZONE"]), ["atom", v]],
            ["call", "IRI", ["call", "CONCAT", ["atom", '"http://example.org/"'], str_v]],
            ["call", x.choice(["isURI", "isIRI", "isNumeric"]), e],
            ["call", "-", e],
            ["call", "SUBSTR", e, ["atom", x.choice(["1", "2", "0"])]],
            ["call", "REGEX", e, ["atom", x.choice(['"A"', '"^1"', '"y"'])]],
            ["call", "REPLACE", e, ["atom", '"A"'], ["atom", '"z"'], ["atom", '"i"']],
            ["call", "CONCAT", e, ["atom", '"/"'], ["atom", v]],
            ["call", "LANGMATCHES", ["call", "LANG", ["atom", v]], ["atom", x.choice(['"*"', '"en"'])]],
            ["atom", x.choice(["isBlank(BNODE())", "(STRLEN(STRUUID()) = 36)", "isIRI(UUID())",
                               "(RAND() < 1)", "(YEAR(NOW()) > 2000)", "(BNODE() != BNODE())"])],
        ])

    def _expr(self, depth: int = 0) -> Node:
        rng = self.rng
        v = self.var()
        if depth > 1:
            return ["atom", rng.choice([v, v, "1", "2.5", '"abc"', "true", "ex:n1"])]
        k = rng.randrange(22)
        if k == 0:
            return ["bin", rng.choice(["=", "!=", "<", ">", "<=", ">="]), self.expr(depth + 1), self.expr(depth + 1)]
        if k == 1:
            return ["bin", rng.choice(["&&", "||"]), self.expr(depth + 1), self.expr(depth + 1)]
        if k == 2:
            return ["bin", rng.choice(["+", "-", "*", "/"]), self.expr(depth + 1), self.expr(depth + 1)]
        if k == 3:
            return ["not", self.expr(depth + 1)]
        if k == 4:
            return ["call", rng.choice(["isIRI", "isBlank", "isLiteral", "isNumeric", "bound"]), ["atom", v]]
        if k == 5:
            return ["call", rng.choice(["STR", "LANG", "DATATYPE", "STRLEN", "UCASE", "LCASE",
                                        "ENCODE_FOR_URI", "ABS", "CEIL", "FLOOR", "ROUND"]),
                    self.expr(depth + 1)]
        if k == 6:
            return ["call", rng.choice(["CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE", "STRAFTER",
                                        "LANGMATCHES", "sameTerm"]),
                    self.expr(depth + 1), ["atom", rng.choice(['"a"', '"b"', '"en"', '"*"', v])]]
        if k == 7:
            return ["call", "SUBSTR", self.expr(depth + 1), ["atom", rng.choice(["0", "1", "2", "-1"])],
                    ["atom", rng.choice(["1", "2", "10"])]]
        if k == 8:
            return ["call", "REGEX", self.expr(depth + 1), ["atom", rng.choice(['"^a"', '"b"', '"C$"'])],
                    ["atom", rng.choice(['""', '"i"'])]]
        if k == 9:
            return ["call", "IF", self.expr(depth + 1), self.expr(depth + 1), self.expr(depth + 1)]
        if k == 10:
            return ["call", "COALESCE", self.expr(depth + 1), self.expr(depth + 1)]
        if k == 11:
            return ["in", rng.choice(["IN", "NOT IN"]), self.expr(depth + 1),
                    ["atom", rng.choice(["1", "2", '"abc"', "ex:n1"])], ["atom", rng.choice(["3", "ex:n2"])]]
        if k == 12:
            return ["exists", rng.choice(["EXISTS", "NOT EXISTS"]), self.group(self.max_depth)]
        if k == 13:
            return ["call", rng.choice(["xsd:integer", "xsd:string", "xsd:double", "xsd:boolean"]),
                    self.expr(depth + 1)]
        if k == 14:
            return ["call", "CONCAT", self.expr(depth + 1), ["atom", rng.choice(['"-"', v])]]
        if k == 15:
            return ["call", rng.choice(["STRDT", "STRLANG"]), ["call", "STR", ["atom", v]],
                    ["atom", rng.choice(['"en"', "xsd:string"])]]
        if k == 16:
            return ["call", rng.choice(["YEAR", "MONTH", "HOURS", "TZ"]), ["atom", v]]
        if k == 17:
            return ["call", "REPLACE", self.expr(depth + 1), ["atom", '"b"'], ["atom", '"B"']]
        if k == 18:
            return ["bin", "=", ["atom", v], ["atom", rng.choice(NODES + ['"abc"', "1", '"abc"@en'])]]
        return ["atom", rng.choice([v, v, "1", '"abc"', "true", "false", "ex:n1"])]

    # patterns ------------------------------------------------------------------------------
    def triple(self) -> Node:
        return ["triple", self.subject(), self.path(), self.obj()]

    def group(self, depth: int) -> Node:
        """``["group", element…]``: a group graph pattern."""
        rng = self.rng
        n = rng.choice([1, 1, 2, 2, 3])
        items: list[Node] = []
        for _ in range(n):
            items.append(self.element(depth + 1))
        if rng.random() < 0.3:
            items.append(["filter", self.expr()])
        return ["group", *items]

    def element(self, depth: int) -> Node:
        if depth >= self.max_depth:
            return self.triple()
        if self.widen and self.wide.random() < 0.1:
            self._element(depth)  # drawn and dropped: ``rng``'s stream stays as it was
            return self._wide(lambda: self._wide_element(depth))
        if self.widen4 and self.w4.random() < 0.08:
            self._element(depth)  # drawn and dropped, as above
            return self._drawn_from(self.w4, lambda: self._w4_element(depth))
        if self.widen5 and self.w5.random() < 0.1:
            self._element(depth)  # drawn and dropped, as above
            return self._drawn_from(self.w5, lambda: self._w5_element(depth))
        return self._element(depth)

    def _w4_element(self, depth: int) -> Node:
        """A pattern of the fourth widening (``rng`` is ``w4`` here: see ``__init__``)."""
        rng = self.rng
        a, b = rng.sample(VARS[:4], 2)
        p, q = rng.sample(PREDS, 2)
        k = rng.randrange(8)
        if k == 0:  # negated property sets inside sequences and alternatives
            path = rng.choice([f"!{p}/{q}", f"{p}/!({q}|^{p})", f"!(^{p})|{q}", f"(!{p})+",
                               f"^{q}/!{p}", f"!({p}|{q})/^{p}", f"({p}|!{q})*", f"!{p}?"])
            return ["triple", rng.choice([a, a, NODES[0]]), path, b]
        if k == 1:  # * and + over the cycles with both ends variable (or the same variable)
            path = rng.choice(["ex:p0+", "ex:p0*", "ex:p2+", "ex:p2*", "(ex:p0|ex:p1)+", "ex:p3+",
                               "(ex:p2/ex:p2)*", "^ex:p2+", "(ex:p0/ex:p0/ex:p1)+", "ex:p3*"])
            return ["triple", a, path, rng.choice([b, b, a])]
        if k == 2:  # BIND in an inner group / OPTIONAL, the name used outside too
            inner = ["group", ["triple", a, p, b], ["bind", ["bin", "+", ["atom", b], ["atom", "1"]], "?b1"]]
            return rng.choice([
                ["group", ["group", ["bind", ["atom", rng.choice(['"x"', "1", "ex:n1"])], a]],
                 ["triple", a, p, b]],
                ["optional", inner],
                ["group", inner, ["bind", ["call", "COALESCE", ["atom", "?b1"], ["atom", "0"]], "?b2"]],
                ["union", ["group", ["bind", ["atom", "ex:n1"], a]], ["group", ["triple", a, p, b]]]])
        if k == 3:  # VALUES inside OPTIONAL, GRAPH, MINUS and a sub-select
            vals = ["values", [a], [[rng.choice([*NODES[:3], "1", '"abc"', "UNDEF"])]
                                    for _ in range(rng.choice([1, 2]))]]
            body = ["group", ["triple", a, p, b], vals]
            return rng.choice([["optional", body], ["graph", rng.choice(["?g", "ex:g1"]), body],
                               ["minus", body],
                               ["subquery", ["select", [a, b], body, _mods()]]])
        if k == 4:  # a sub-select with an aggregate, ordered on every column, sliced
            fn = rng.choice(["COUNT(*)", f"COUNT(DISTINCT {b})", f"MAX({b})", f"MIN({b})",
                             f"SUM({b})", f"SAMPLE({a})"])
            where = ["group", ["triple", a, rng.choice([p, "?pp", f"{p}|{q}"]), b],
                     ["filter", ["call", "isIRI", ["atom", a]]]]
            mods = _mods(group=[a], order=[rng.choice(["DESC(?agg)", "?agg"]), a],
                         limit=rng.choice([1, 2, 3]), offset=rng.choice([None, None, 1]))
            if rng.random() < 0.3:
                mods["having"] = "(COUNT(*) >= 1)"
            return ["subquery", ["select", [a, ["as", fn, "?agg"]], where, mods]]
        if k == 5:  # a nested sub-select over a sub-select
            inner = ["subquery", ["select", [a, b], ["group", ["triple", a, p, b]],
                                  _mods(order=[a, b], limit=rng.choice([2, 4]),
                                        distinct=True)]]
            return ["subquery", ["select", [a, ["as", "COUNT(*)", "?agg"]],
                                 ["group", inner, ["filter", ["call", "isIRI", ["atom", a]]]],
                                 _mods(group=[a], order=[a])]]
        if k == 6:  # GRAPH ?g over named graphs, ?g used after
            return ["group", ["graph", "?g", ["group", ["triple", a, rng.choice([p, "?pp"]), b]]],
                    ["filter", ["bin", rng.choice(["=", "!="]), ["atom", "?g"],
                                ["atom", rng.choice(["ex:g1", "ex:g2", "ex:g3"])]]]]
        return ["triple", a, p, rng.choice([*LITERALS4[:6], '"1.5"^^xsd:float', '"-7"'])]

    def _element(self, depth: int) -> Node:
        rng = self.rng
        k = rng.randrange(20)
        if k < 8:
            return self.triple()
        if k == 8:
            return ["optional", self.group(depth)]
        if k == 9:
            return ["union", self.group(depth), self.group(depth)]
        if k == 10:
            return ["minus", self.group(depth)]
        if k == 11:
            return ["bind", self.expr(1), rng.choice(["?b1", "?b2"])]
        if k == 12:
            return self.values()
        if k == 13:
            return ["graph", rng.choice(["?g", "?g", "ex:g1", "ex:g2"]), self.group(depth)]
        if k == 14:
            return ["filter", self.expr()]
        if k == 15:
            return ["subquery", self.select(depth, sub=True)]
        if k == 16:
            return ["optional", ["group", self.triple(), ["filter", self.expr()]]]
        return self.group(depth)

    def _wide_element(self, depth: int) -> Node:
        """A pattern of the third widening (built from ``wide``: see ``__init__``)."""
        rng = self.rng
        outer, inner = rng.sample(VARS[:4], 2)
        p, q = rng.sample(PREDS, 2)
        k = rng.randrange(7)
        if k == 0:  # nested OPTIONAL whose filter reads a variable bound outside it
            return ["optional", ["group", ["triple", outer, p, inner],
                                 ["optional", ["group", ["triple", inner, q, "?v4"],
                                               ["filter", rng.choice([
                                                   ["bin", "!=", ["atom", outer], ["atom", "?v4"]],
                                                   ["call", "bound", ["atom", outer]],
                                                   ["bin", "=", ["atom", "?v4"], ["atom", outer]]])]]]]]
        if k == 1:  # MINUS sharing no variable with the rest: removes nothing
            return ["minus", ["group", ["triple", "?m1", p, rng.choice(["?m2", *NODES[:2]])]]]
        if k == 2:  # [NOT] EXISTS inside an OPTIONAL, over the OPTIONAL's and outer variables
            return ["optional", ["group", ["triple", outer, p, inner], rng.choice([
                ["filter", ["exists", rng.choice(["EXISTS", "NOT EXISTS"]),
                            ["group", ["triple", inner, q, rng.choice(["?x9", outer])]]]],
                ["bind", ["exists", "EXISTS", ["group", ["triple", inner, q, "?x9"]]], "?b1"]])]]
        if k == 3:  # paths over the n0 -> n1 -> n2 -> n0 cycle, ends bound or the same variable
            path = rng.choice(["ex:p0*", "ex:p0+", "ex:p0?", "(ex:p0|ex:p1)*", "(ex:p0|ex:p1)+",
                               "(ex:p0/ex:p0)+", "^ex:p0*", "(ex:p0/ex:p1)?", "ex:p1*/ex:p0"])
            ends = rng.choice([(outer, outer), (NODES[0], NODES[0]), (NODES[0], NODES[2]),
                               (NODES[1], outer), (outer, NODES[0]), (outer, inner)])
            return ["triple", ends[0], path, ends[1]]
        if k == 4:  # a sliced sub-select, ordered on IRIs only (a total order), under a join
            path = rng.choice([p, p, f"{p}/{q}", f"{p}*", f"^{p}"])
            where = ["group", ["triple", outer, path, inner],
                     ["filter", ["bin", "&&", ["call", "isIRI", ["atom", outer]],
                                 ["call", "isIRI", ["atom", inner]]]]]
            keys = rng.choice([[outer, inner], [inner, outer], [f"DESC({outer})", inner]])
            return ["subquery", ["select", rng.choice([[outer, inner], ["*"]]), where,
                                 {"distinct": rng.random() < 0.3, "order": keys, "group": [],
                                  "having": None, "limit": rng.choice([1, 2, 3]),
                                  "offset": rng.choice([None, 1, 2])}]]
        if k == 5:  # GRAPH ?g sharing variables with the default graph, ?g filtered outside
            # (inside, ?g is unbound: §18.6, a documented deviation from pyoxigraph)
            return ["group", ["graph", "?g", ["group", ["triple", outer, p, inner]]],
                    ["filter", rng.choice([["call", "isIRI", ["atom", "?g"]],
                                           ["bin", "!=", ["atom", "?g"], ["atom", "ex:g1"]]])]]
        return self._values_undef()

    def _values_undef(self) -> Node:
        """VALUES over two variables, UNDEF in some cells, values of several kinds."""
        rng = self.rng
        vs = rng.sample(VARS[:4], 2)
        cells = [*NODES[:3], "UNDEF", "UNDEF", "1", '"abc"@en', '"abc"', '"x y"']
        return ["values", vs, [[rng.choice(cells) for _ in vs] for _ in range(rng.choice([1, 2, 3]))]]

    def values(self) -> Node:
        rng = self.rng
        vs = rng.sample(VARS[:4], rng.choice([1, 1, 2]))
        rows = []
        for _ in range(rng.choice([0, 1, 2, 3])):
            rows.append([rng.choice(NODES[:3] + ["1", "2", '"abc"', '"new"', "UNDEF", "ex:zz"])
                         for _ in vs])
        return ["values", vs, rows]

    # query forms ---------------------------------------------------------------------------
    def select(self, depth: int = 0, sub: bool = False) -> Node:
        rng = self.rng
        where = self.group(depth)
        scope = sorted(_vars(where))
        agg = rng.random() < 0.2
        mods: dict[str, Any] = {"distinct": rng.random() < 0.25, "order": [], "limit": None,
                                "offset": None, "group": [], "having": None}
        if agg:
            keys = rng.sample(scope, min(len(scope), rng.choice([0, 1, 1, 2]))) if scope else []
            mods["group"] = keys
            fn = rng.choice(["COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE", "GROUP_CONCAT", "COUNT"])
            arg = rng.choice(scope) if scope else "?v0"
            dist = "DISTINCT " if rng.random() < 0.3 else ""
            if fn == "COUNT" and rng.random() < 0.4:
                aggx = "COUNT(*)"
            elif fn == "SAMPLE":  # SAMPLE is nondeterministic: only over a grouped key
                aggx = f"SAMPLE({keys[0]})" if keys else "COUNT(*)"
            elif fn == "GROUP_CONCAT" and self.ext.random() < 0.5:
                aggx = f'GROUP_CONCAT({dist}{arg}; SEPARATOR="|")'
            else:
                aggx = f"{fn}({dist}{arg})"
            proj = [*keys, ["as", aggx, "?agg"]]
            if rng.random() < 0.3:
                mods["having"] = f"(COUNT(*) > {rng.choice([0, 1])})"
            if not sub and rng.random() < 0.5:
                mods["order"] = [rng.choice(["?agg", *keys])]
            w = self.wide
            if not self.widen:
                pass
            elif keys and w.random() < 0.15:  # HAVING [NOT] EXISTS over a grouping variable
                mods["having"] = (f"({w.choice(['EXISTS', 'NOT EXISTS'])} "
                                  f"{{ {keys[0]} {w.choice(PREDS)} ?h{w.randrange(2)} }})")
            elif scope and w.random() < 0.12:  # GROUP BY an expression, projected by name
                gv = w.choice(scope)
                gx = w.choice([f"STR({gv})", f"LANG({gv})", f"DATATYPE({gv})", f"isIRI({gv})",
                               f"({gv} + 1)", f"COALESCE({gv}, 0)"])
                mods["group"] = [f"({gx} AS ?gk)"]
                proj = ["?gk", ["as", aggx if not aggx.startswith("SAMPLE") else "COUNT(*)", "?agg"]]
                mods["order"] = [w.choice(["?gk", "?agg"])] if mods["order"] else []
        else:
            if not scope or rng.random() < 0.3:
                proj = ["*"]
            else:
                proj = rng.sample(scope, rng.randint(1, min(3, len(scope))))
                if rng.random() < 0.25:
                    proj.append(["as", _render_expr(self.expr(1)), "?e1"])
            visible = scope if proj == ["*"] else [p for p in proj if isinstance(p, str)]
            if visible and rng.random() < (0.2 if sub else 0.4):
                mods["order"] = [rng.choice(["", "DESC"]) + "(" + k + ")" if rng.random() < 0.3 else k
                                 for k in rng.sample(visible, min(len(visible), rng.choice([1, 1, 2])))]
                if not sub and rng.random() < 0.5:
                    mods["limit"] = rng.choice([1, 2, 3, 5])
                    if rng.random() < 0.3:
                        mods["offset"] = rng.choice([1, 2])
                if sub:  # deterministic sub-query slices: ordered on every projected variable
                    mods["order"] = [f"?{v[1:]}" for v in visible]
                    mods["limit"] = rng.choice([None, 2, 3])
        if not mods["distinct"] and not sub and self.ext.random() < 0.06:
            mods["reduced"] = True  # compared as a set
        if not sub and self.ext.random() < 0.06:
            mods["values"] = self.values()  # the query's trailing VALUES clause
        return ["select", proj, where, mods]

    def query(self) -> Case:
        """One generated query (a :class:`Case`)."""
        rng = self.rng
        r = rng.random()
        if r < 0.72:
            tree = self.select()
        elif r < 0.84:
            tree = ["ask", self.group(0)]
        else:
            where = self.group(0)
            tmpl = [["triple", self.subject(), rng.choice(PREDS), self.obj()] for _ in range(rng.choice([1, 2]))]
            tree = ["construct", tmpl, where]
        if self.ext.random() < 0.05:
            where = tree[2] if tree[0] in ("select", "construct") else tree[1]
            scope = sorted(_vars(where))
            targets = ["*"] if not scope or self.ext.random() < 0.4 else \
                self.ext.sample(scope, min(2, len(scope)))
            if self.ext.random() < 0.3 and targets != ["*"]:  # ``*`` stands alone
                targets.append(self.ext.choice(NODES))
            tree = ["describe", targets, where]
        dataset: list[str] = []
        if rng.random() < 0.12:
            dataset = rng.choice([["FROM ex:g1"], ["FROM ex:g1", "FROM ex:g2"], ["FROM NAMED ex:g1"],
                                  ["FROM ex:g2", "FROM NAMED ex:g1"], ["FROM ex:g1", "FROM ex:g1"]])
        if self.widen4 and self.w4.random() < 0.1:
            tree, dataset = self._w4_query(tree, dataset)
        if self.widen5 and self.w5.random() < 0.12:
            tree, dataset = self._w5_query(tree, dataset)
        if self.widen6 and self.w6.random() < 0.12:
            tree = self._w6_query()
        return Case(tree, dataset)

    # the sixth widening ----------------------------------------------------------------------
    def _w6_operand(self) -> Node:
        """A duration-valued (or not) operand: a variable, a constant, a difference of two
        variables (dateTimes/dates give a dayTimeDuration), a sum with a duration."""
        w = self.w6
        v, u = w.sample(VARS[:4], 2)
        return w.choice([["atom", v], ["atom", v], ["atom", w.choice(DURATIONS6)],
                         ["bin", "-", ["atom", v], ["atom", u]],
                         ["bin", w.choice(["+", "-"]), ["atom", v], ["atom", w.choice(DURATIONS6)]],
                         ["call", "-", ["atom", v]]])

    def _w6_expr(self) -> Node:
        """Comparisons and arithmetic of durations (sixth widening; drawn from ``w6``)."""
        w = self.w6
        k = w.randrange(4)
        if k <= 1:
            return ["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), self._w6_operand(), self._w6_operand()]
        if k == 2:
            return ["call", w.choice(["STR", "DATATYPE", "isLITERAL"]), self._w6_operand()]
        return ["in", w.choice(["IN", "NOT IN"]), self._w6_operand(), ["atom", w.choice(DURATIONS6)],
                ["atom", w.choice(DURATIONS6)]]

    def _w6_query(self) -> Node:
        """ORDER BY, MIN/MAX and projected arithmetic over durations (sixth widening)."""
        w = self.w6
        a, b, c = w.sample(VARS[:4], 3)
        p, q = w.choice(PREDS), w.choice(PREDS)
        where: Node = ["group", ["triple", a, p, b]]
        if w.random() < 0.5:
            where.append(["triple", a, q, c])
            val: Node = ["bin", "-", ["atom", b], ["atom", c]]
        else:
            val = w.choice([["atom", b], ["bin", "+", ["atom", b], ["atom", w.choice(DURATIONS6)]]])
        if w.random() < 0.4:
            where.append(["filter", self._w6_expr()])
        if w.random() < 0.5:
            fns = [f"MIN({_render_expr(val)})", f"MAX({_render_expr(val)})", f"COUNT({_render_expr(val)})"]
            proj = [["as", fn, f"?c{i}"] for i, fn in enumerate(w.sample(fns, w.choice([1, 2])))]
            if w.random() < 0.5:  # per subject
                return ["select", [a, *proj], where, _mods(group=[a], order=[a])]
            return ["select", proj, where, _mods()]
        where.append(["bind", val, "?d6"])
        keys = w.choice([["?d6", a, b], ["DESC(?d6)", a, b]])
        return ["select", [a, b, "?d6"], where, _mods(order=keys, limit=w.choice([None, None, 3]))]

    def _w4_query(self, tree: Node, dataset: list[str]) -> tuple[Node, list[str]]:
        """Query-level constructs of the fourth widening: a dataset clause with ``GRAPH ?g``,
        a CONSTRUCT template with blank nodes over named graphs, ORDER BY over mixed kinds."""
        w = self.w4
        k = w.randrange(3)
        a, b = w.sample(VARS[:4], 2)
        if k == 0:
            dataset = w.choice([["FROM NAMED ex:g1", "FROM NAMED ex:g2"], ["FROM ex:g2", "FROM NAMED ex:g2"],
                                ["FROM NAMED ex:g3"], ["FROM ex:g3", "FROM NAMED ex:g1"],
                                ["FROM ex:g1", "FROM NAMED ex:g2"]])
            where = ["group", ["graph", "?g", ["group", ["triple", a, w.choice([*PREDS, "?pp"]), b]]],
                     *([["triple", a, w.choice(PREDS), "?v4"]] if w.random() < 0.4 else [])]
            if tree[0] == "select" and w.random() < 0.5:
                return ["select", ["?g", a, b], where, _mods(distinct=w.random() < 0.5)], dataset
            return ["ask", where], dataset
        if k == 1:
            where = ["group", ["graph", w.choice(["?g", "ex:g1", "ex:g2"]),
                               ["group", ["triple", a, w.choice(PREDS), b]]]]
            tmpl = [["triple", a, "ex:p0", "_:c"], ["triple", "_:c", "ex:p1", b]]
            if w.random() < 0.5:
                tmpl.append(["triple", "_:d", w.choice(PREDS), a])
            return ["construct", tmpl, where], dataset if w.random() < 0.5 else []
        p = w.choice([*PREDS, "?pp"])
        where = ["group", ["triple", a, p, b]]
        keys = w.choice([[b], [f"DESC({b})"], [b, a], [f"DESC({b})", a]])
        return ["select", [a, b], where, _mods(order=keys, limit=w.choice([None, None, 3, 5]))], dataset

    # the fifth widening ---------------------------------------------------------------------
    def _w5_expr(self, e: Node) -> Node:
        """Numeric, string, language-tag, dateTime and error edges (fifth widening; drawn
        from ``w5``). ``e`` is the expression it stands in for (some forms keep it)."""
        w = self.w5
        v = ["atom", w.choice(VARS[:4])]
        err = w.choice([["bin", "/", v, ["atom", "0"]], ["atom", "?unbound"],
                        ["call", "xsd:integer", ["atom", '"x"']], ["bin", "+", v, ["atom", '"a"']]])
        k = w.randrange(13)
        if k == 0:  # comparisons at the edges of double precision, float vs double, zero, INF, NaN
            c = w.choice(["9007199254740992", "9007199254740993", '"9223372036854775807"^^xsd:integer',
                          '"0.1"^^xsd:float', '"0.1"^^xsd:double', "0.1", '"-0.0"^^xsd:double', "0",
                          '"INF"^^xsd:double', '"NaN"^^xsd:double', "1.000000000000000000001", "1.0"])
            return ["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), v, ["atom", c]]
        if k == 1:  # division by zero (integer vs double), arithmetic past 2^53
            x = w.choice([["bin", "/", v, ["atom", w.choice(["0", "0.0", "0e0", '"-0.0"^^xsd:double'])]],
                          ["bin", "+", v, ["atom", "1"]], ["bin", "-", v, ["atom", "9007199254740992"]],
                          ["bin", "*", v, ["atom", "1e0"]], ["call", "-", v]])
            return w.choice([x, ["call", "DATATYPE", x], ["bin", w.choice(["=", "<", ">"]), x,
                                                         ["atom", w.choice(["0", "1", '"INF"^^xsd:double'])]]])
        if k == 2:  # NaN is not equal to itself; = and sameTerm of a value with itself
            return w.choice([["bin", w.choice(["=", "!="]), v, v], ["call", "sameTerm", v, v]])
        if k == 3:  # sameTerm vs = across datatypes and language-tag case
            lit = w.choice(["1", "1.0", "1e0", '"1"^^xsd:decimal', '"a"@en', '"a"@EN', '"a"',
                            '"a"^^xsd:string', '"A\\\\nb"'])
            return ["bin", w.choice(["=", "!="]), v, ["atom", lit]] if w.random() < 0.5 else \
                ["call", "sameTerm", v, ["atom", lit]]
        if k == 4:  # langMatches with ranges, tags in other case
            return ["call", "LANGMATCHES", ["call", "LANG", v],
                    ["atom", w.choice(['"en"', '"EN"', '"en-us"', '"EN-US"', '"*"', '""', '"fr"', '"e"'])]]
        if k == 5:  # STRBEFORE/STRAFTER with tagged and empty arguments
            return ["call", w.choice(["STRBEFORE", "STRAFTER"]), v,
                    ["atom", w.choice(['""', '"a"@en', '"a"@EN', '"a"@fr', '"."', '""@en', '"a"^^xsd:string', '"b"'])]]
        if k == 6:
            return ["call", w.choice(["CONTAINS", "STRSTARTS", "STRENDS"]), v,
                    ["atom", w.choice(['"a"@EN', '""@en', '"A"', '"b"@fr', '""'])]]
        if k == 7:  # REGEX flags (the data has "A\nb", "a.b"@fr)
            return ["call", "REGEX", v, ["atom", w.choice(['"^b"', '"a$"', '"A.B"', '"a . b"', '"."', '"^a"',
                                                           '"b$"', '"\\\\."', '"^A.b$"'])],
                    ["atom", w.choice(['"i"', '"s"', '"m"', '"x"', '"q"', '"iq"', '"ms"', '"xi"', '"sm"'])]]
        if k == 8:  # surrogate pairs
            return w.choice([["call", "STRLEN", ["call", "CONCAT", v, ["atom", '"😀"']]],
                             ["call", "SUBSTR", ["call", "CONCAT", ["atom", '"😀"'], v], ["atom", "2"], ["atom", "1"]],
                             ["call", "UCASE", ["call", "CONCAT", v, ["atom", '"😀é"']]]])
        if k == 9:  # dateTimes with and without a timezone
            when = w.choice(['"2021-01-01T00:00:00"^^xsd:dateTime', '"2021-01-01T00:00:00Z"^^xsd:dateTime',
                             '"2021-01-01T05:00:00+05:00"^^xsd:dateTime', '"2020-12-30T00:00:00"^^xsd:dateTime',
                             '"2021-01-03T00:00:00Z"^^xsd:dateTime'])
            return w.choice([["bin", w.choice(["=", "!=", "<", ">", "<=", ">="]), v, ["atom", when]],
                             ["call", w.choice(["TIMEZONE", "TZ"]), v],
                             ["bin", "=", ["call", "TZ", v], ["atom", '""']]])
        if k == 10:  # IN / NOT IN with errors among the candidates
            items = [["atom", w.choice(["1", '"a"@en', "ex:n1", "1.0", '"a"'])], err]
            w.shuffle(items)
            return ["in", w.choice(["IN", "NOT IN"]), v, *items]
        if k == 11:  # COALESCE / IF over errors
            return w.choice([["call", "COALESCE", err, v], ["call", "COALESCE", err, err, ["atom", '"d"']],
                             ["call", "IF", err, ["atom", "1"], ["atom", "2"]],
                             ["call", "IF", ["call", "bound", v], err, e],
                             ["call", "COALESCE", ["call", "IF", e, err, v], ["atom", "0"]]])
        return ["call", w.choice(["isNumeric", "ABS", "ROUND", "CEIL"]), v]

    def _w5_values(self, vs: list[str]) -> Node:
        """VALUES over ``vs`` with UNDEF in any column (drawn from ``w5``)."""
        w = self.w5
        cells = [*NODES[:4], "UNDEF", "UNDEF", "UNDEF", "1", '"a"@en', "ex:zz", "9007199254740993"]
        return ["values", vs, [[w.choice(cells) for _ in vs] for _ in range(w.choice([1, 2, 3, 4]))]]

    def _w5_element(self, depth: int) -> Node:
        """A pattern of the fifth widening (``rng`` is ``w5`` here: see ``__init__``)."""
        w = self.rng
        a, b, c, d = w.sample(VARS[:4], 4)
        p, q, r = w.sample(PREDS, 3)
        k = w.randrange(8)
        if k == 0:  # paths over cycles inside GRAPH, ends free, equal, bound, not in the data
            path = w.choice(["ex:p0*", "ex:p0+", "ex:p0?", "(ex:p0|ex:p1)*", "^ex:p0+", "(ex:p0/ex:p0)*",
                             "(ex:p0|^ex:p0)+", "ex:p1*"])
            ends = w.choice([(a, b), (a, b), (a, a), (NODES[0], b), (a, NODES[3]), (NODES[5], b),
                             (a, "ex:zz"), ("ex:zz", "ex:zz")])
            return ["graph", w.choice(["?g", "?g", "ex:g1", "ex:g2"]), ["group", ["triple", ends[0], path, ends[1]]]]
        if k == 1:  # alternatives of inverse paths; literals at a path's end
            if w.random() < 0.5:
                path = w.choice([f"(^{p}|^{q})", f"(^{p}|{q})+", f"^({p}|{q})*", f"(^{p}|{q})?", f"^{p}/^{q}",
                                 f"(^{p}|^{q})*"])
                return ["triple", a, path, w.choice([b, b, a, NODES[1]])]
            lit = w.choice(['"abc"', '"a"@en', "1.0", "9007199254740993", '"NaN"^^xsd:double', '"x y"'])
            path = w.choice([f"{p}*", f"{p}+", f"{p}?", f"^{p}", f"({p}|{q})"])
            return w.choice([["triple", a, path, lit], ["triple", lit, f"^{p}", a], ["triple", lit, f"^{p}*", a]])
        if k == 2:  # VALUES with UNDEF in several columns, joined with each other and OPTIONAL
            out: Node = ["group", self._w5_values([a, b]), self._w5_values([b, c])]
            if w.random() < 0.6:
                out.append(["optional", ["group", ["triple", a, p, w.choice([b, c, d])]]])
            return out
        if k == 3:  # VALUES inside OPTIONAL / MINUS / EXISTS
            vals = self._w5_values(w.choice([[a], [a, b], [b, c]]))
            inner = ["group", vals, ["triple", a, p, b]] if w.random() < 0.6 else ["group", vals]
            return ["group", ["triple", a, q, w.choice([b, d])], w.choice([
                ["optional", inner], ["minus", inner],
                ["filter", ["exists", w.choice(["EXISTS", "NOT EXISTS"]), inner]]])]
        if k == 4:  # FILTERs in nested OPTIONALs reading outer variables
            cond = w.choice([["bin", "!=", ["atom", a], ["atom", d]], ["bin", "=", ["atom", b], ["atom", d]],
                             ["call", "bound", ["atom", a]], ["not", ["call", "bound", ["atom", c]]],
                             ["bin", "||", ["bin", "=", ["atom", a], ["atom", NODES[0]]],
                              ["call", "isLiteral", ["atom", d]]]])
            innermost = ["optional", ["group", ["triple", c, r, d], ["filter", cond]]]
            return ["group", ["triple", a, p, b],
                    ["optional", ["group", ["triple", b, q, c], innermost]]]
        if k == 5:  # [NOT] EXISTS over a variable an OPTIONAL binds in some rows only
            ex = ["exists", w.choice(["EXISTS", "NOT EXISTS"]),
                  ["group", ["triple", c, r, w.choice([a, "?x9", b])]]]
            return ["group", ["triple", a, p, b], ["optional", ["group", ["triple", b, q, c]]],
                    w.choice([["filter", ex], ["bind", ex, "?b1"],
                              ["filter", ["bin", "||", ["not", ["call", "bound", ["atom", c]]], ex]]])]
        if k == 6:  # a FILTER in an OPTIONAL over a variable bound only outside it
            return ["group", ["triple", a, p, b],
                    ["optional", ["group", ["triple", c, q, d],
                                  ["filter", w.choice([["bin", "=", ["atom", c], ["atom", a]],
                                                       ["bin", "=", ["atom", d], ["atom", b]],
                                                       ["call", "sameTerm", ["atom", c], ["atom", b]]])]]]]
        return ["triple", a, w.choice([p, "?pp"]), w.choice(LITERALS5)]

    def _w5_query(self, tree: Node, dataset: list[str]) -> tuple[Node, list[str]]:
        """Query-level constructs of the fifth widening: aggregates over empty input and mixed
        numeric types without GROUP BY, DISTINCT over equal values in other forms, ASK, sliced
        ORDER BY with ties."""
        w = self.w5
        a, b = w.sample(VARS[:4], 2)
        p = w.choice(PREDS)
        k = w.randrange(4)
        if k == 0:
            if w.random() < 0.5:  # maybe empty: a predicate and a FILTER that may match nothing
                where = ["group", ["triple", a, w.choice([p, "ex:nope"]), b],
                         *([["filter", self._w5_expr(["atom", "true"])]] if w.random() < 0.5 else [])]
            else:  # mixed numeric types (big integers, decimals, floats, doubles, INF, NaN)
                nums = ["1", "2.5", '"1.5"^^xsd:float', "1e0", "9007199254740993", "9007199254740992",
                        '"9223372036854775807"^^xsd:integer', "0.1", '"0.1"^^xsd:float', '"INF"^^xsd:double',
                        '"NaN"^^xsd:double', "1.000000000000000000001", '"-0.0"^^xsd:double', '"a"', "UNDEF"]
                where = ["group", ["values", [b], [[w.choice(nums)] for _ in range(w.choice([1, 2, 3, 4]))]]]
            fns = [f"COUNT({b})", "COUNT(*)", f"SUM({b})", f"AVG({b})", f"MIN({b})", f"MAX({b})",
                   f"COUNT(DISTINCT {b})", f"SUM(DISTINCT {b})", f"SUM({b} / 0)", f"COUNT({b} / 0)",
                   f"AVG(xsd:integer({b}))", f"MAX({b} + 1)", f"SAMPLE({b})"]
            proj = [["as", fn, f"?c{i}"] for i, fn in enumerate(w.sample(fns, w.choice([1, 2, 3])))]
            if any("SAMPLE" in x[1] for x in proj) and not (where[1][0] == "values" and len(where[1][2]) == 1):
                # SAMPLE of several values is any of them: only over one row
                proj = [x for x in proj if "SAMPLE" not in x[1]] or [["as", "COUNT(*)", "?c0"]]
            if w.random() < 0.3:
                proj.append(["as", w.choice([f"GROUP_CONCAT(DISTINCT {b}; SEPARATOR=\"|\")",
                                             f"GROUP_CONCAT({b})"]), "?agg"])
            return ["select", proj, where, _mods()], dataset
        if k == 1:  # DISTINCT / REDUCED over values equal in value, different as terms
            cells = ["1", "1e0", '"1"^^xsd:decimal', '"a"@en', '"a"', '"a"^^xsd:string', "UNDEF",
                     '"2021-01-01T00:00:00Z"^^xsd:dateTime', '"2021-01-01T05:00:00+05:00"^^xsd:dateTime']
            where = ["group", ["values", [a], [[w.choice(cells)] for _ in range(w.choice([2, 3, 4]))]]]
            if w.random() < 0.4:
                where.append(["optional", ["group", ["triple", b, p, a]]])
            mods = _mods(distinct=w.random() < 0.7)
            if not mods["distinct"]:
                mods["reduced"] = True
            return ["select", [a] if w.random() < 0.6 else [a, b], where, mods], dataset
        if k == 2:  # ASK
            return ["ask", ["group", self._drawn_from(w, lambda: self._w5_element(1))]], dataset
        # ORDER BY with ties over mixed numbers/dates/strings, a window cut among the ties
        keys = w.choice([[b], [f"DESC({b})"], [b, a], [f"DESC({b})", f"DESC({a})"]])
        mods = _mods(order=keys, limit=w.choice([1, 2, 3, 5]), offset=w.choice([None, 1, 2]),
                     distinct=w.random() < 0.3)
        return ["select", [a, b], ["group", ["triple", a, w.choice([p, "?pp"]), b]], mods], dataset

def _mods(**changes: Any) -> dict[str, Any]:
    """A SELECT's modifiers: none, but for ``changes``."""
    mods: dict[str, Any] = {"distinct": False, "order": [], "limit": None, "offset": None,
                            "group": [], "having": None}
    mods.update(changes)
    return mods


def _vars(node: Any) -> set[str]:
    """Variables a generated pattern may bind (approximation of §18.2.1 scope)."""
    out: set[str] = set()
    if isinstance(node, str):
        if node.startswith("?") and node != "?pp":
            out.add(node)
        return out
    if not isinstance(node, list) or not node:
        return out
    kind = node[0]
    if kind in ("filter", "minus", "exists"):
        return out
    if kind == "bind":
        return {node[2]}
    if kind == "values":
        return set(node[1])
    if kind == "subquery":
        proj, where = node[1][1], node[1][2]
        if proj == ["*"]:
            return _vars(where)
        return {p if isinstance(p, str) else p[2] for p in proj}
    if kind == "triple":
        return {t for t in node[1:] if isinstance(t, str) and t.startswith("?") and t != "?pp"} | (
            {"?pp"} if node[2] == "?pp" else set())
    for c in node[1:]:
        out |= _vars(c)
    return out


def _render_expr(e: Any) -> str:
    if isinstance(e, str):
        return e
    kind = e[0]
    if kind == "atom":
        return e[1]
    if kind == "bin":
        return f"({_render_expr(e[2])} {e[1]} {_render_expr(e[3])})"
    if kind == "not":
        return f"(!{_render_expr(e[1])})"
    if kind == "call":
        if e[1] == "-":
            return f"(-{_render_expr(e[2])})"
        return f"{e[1]}({', '.join(_render_expr(a) for a in e[2:])})"
    if kind == "in":
        return f"({_render_expr(e[2])} {e[1]} ({', '.join(_render_expr(a) for a in e[3:])}))"
    if kind == "exists":
        return f"{e[1]} {_render_pattern(e[2])}"
    raise ValueError(kind)


def _render_pattern(n: Any) -> str:
    kind = n[0]
    if kind == "group":
        return "{ " + " ".join(_render_pattern(c) for c in n[1:]) + " }"
    if kind == "triple":
        return f"{n[1]} {n[2]} {n[3]} ."
    if kind == "optional":
        return "OPTIONAL " + _render_pattern(n[1])
    if kind == "union":
        return _render_pattern(n[1]) + " UNION " + _render_pattern(n[2])
    if kind == "minus":
        return "MINUS " + _render_pattern(n[1])
    if kind == "bind":
        return f"BIND({_render_expr(n[1])} AS {n[2]})"
    if kind == "filter":
        return f"FILTER({_render_expr(n[1])})"
    if kind == "values":
        head = " ".join(n[1])
        rows = " ".join("(" + " ".join(r) + ")" for r in n[2])
        return f"VALUES ({head}) {{ {rows} }}"
    if kind == "graph":
        return f"GRAPH {n[1]} " + _render_pattern(n[2])
    if kind == "subquery":
        return "{ " + _render_select(n[1]) + " }"
    raise ValueError(kind)


def _render_select(n: Node, dataset: list[str] | None = None) -> str:
    _, proj, where, mods = n
    head = "SELECT " + ("DISTINCT " if mods["distinct"] else "REDUCED " if mods.get("reduced") else "")
    head += " ".join(p if isinstance(p, str) else f"({p[1]} AS {p[2]})" for p in proj)
    text = head + " " + " ".join(dataset or []) + " WHERE " + _render_pattern(where)
    if mods["group"]:
        text += " GROUP BY " + " ".join(mods["group"])
    if mods["having"]:
        text += " HAVING " + mods["having"]
    if mods["order"]:
        text += " ORDER BY " + " ".join(mods["order"])
    if mods["limit"] is not None:
        text += f" LIMIT {mods['limit']}"
    if mods["offset"] is not None:
        text += f" OFFSET {mods['offset']}"
    if mods.get("values"):
        text += " " + _render_pattern(mods["values"])
    return text


@dataclass
class Case:
    """A generated query: its tree and dataset clause."""

    tree: Node
    dataset: list[str] = field(default_factory=list)

    def render(self) -> str:
        t = self.tree
        ds = " ".join(self.dataset)
        if t[0] == "select":
            return PREFIXES + _render_select(t, self.dataset)
        if t[0] == "ask":
            return PREFIXES + f"ASK {ds} WHERE " + _render_pattern(t[1])
        if t[0] == "describe":
            return PREFIXES + f"DESCRIBE {' '.join(t[1])} {ds} WHERE " + _render_pattern(t[2])
        tmpl = " ".join(_render_pattern(x) for x in t[1])
        return PREFIXES + f"CONSTRUCT {{ {tmpl} }} {ds} WHERE " + _render_pattern(t[2])

    @property
    def order(self) -> list[tuple[str, bool]]:
        """ORDER BY keys of the top-level query as (variable, descending)."""
        if self.tree[0] != "select":
            return []
        out = []
        for k in self.tree[3]["order"]:
            desc = k.startswith("DESC")
            out.append((k.strip("ASCDE()?"), desc))
        return out

    @property
    def limited(self) -> bool:
        t = self.tree
        return t[0] == "select" and (t[3]["limit"] is not None or t[3]["offset"] is not None)


# -- engines -----------------------------------------------------------------------------------
def ox_answer(store: Any, text: str) -> Any:
    """pyoxigraph's answer to ``text`` over ``store``, normalised as the engines' answers are
    compared: a bool (ASK), a set of triples (CONSTRUCT/DESCRIBE) or (variables, rows)."""
    import pyoxigraph as ox

    res = store.query(text)
    if isinstance(res, ox.QueryBoolean):
        return bool(res)
    if isinstance(res, ox.QueryTriples):
        return {tuple(_norm_ox(x, labels=True) for x in (t.subject, t.predicate, t.object))
                for t in res}
    names = [v.value for v in res.variables]
    return names, [tuple(_norm_ox(s[v]) for v in names) for s in res]


def rdflib_dataset(trig: str) -> Any:
    """An rdflib ``Dataset`` (its own Memory store) holding the TriG ``trig``."""
    from rdflib import Dataset

    ds = Dataset()
    ds.parse(data=trig, format="trig")
    return ds


def rdflib_answer(ds: Any, text: str) -> Any:
    """rdflib's answer to ``text`` over ``ds`` (the default graph is not the union), as
    :func:`ox_answer` shapes it."""
    import rdflib.plugins.sparql as rsparql

    saved = rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS
    rsparql.SPARQL_DEFAULT_GRAPH_UNION = rsparql.SPARQL_LOAD_GRAPHS = False
    try:
        res = ds.query(text)
        if res.type == "ASK":
            return bool(res.askAnswer)
        if res.type in ("CONSTRUCT", "DESCRIBE"):
            return {tuple(_norm(t, labels=True) for t in tr) for tr in res.graph}
        names = [str(v) for v in res.vars]
        return names, [tuple(_norm(b.get(v)) for v in res.vars) for b in res.bindings]
    finally:
        rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS = saved


class Engines:
    """The engines under comparison, all loaded with the same dataset."""

    def __init__(self, trig: str, url: str = "sqlite://", rdflib_opinion: bool = True) -> None:
        import pyoxigraph as ox

        from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
        from kg_engine.store import open_store

        self.trig = trig
        self.kg = KgDataset(store=KgSparqlStore(store=open_store(url)))
        self.kg.parse(data=trig, format="trig")
        self.ox = ox.Store()
        self.ox.load(trig.encode(), ox.RdfFormat.TRIG)
        self.rdflib_opinion = rdflib_opinion
        self._rdflib: Any = None
        self.kg_seconds = self.ox_seconds = 0.0

    def close(self) -> None:
        """Close kg-engine's store (its database connection)."""
        self.kg.store.close()

    def run_kg(self, text: str, timeout: float) -> Any:
        res = self.kg.query(text, timeout=timeout)
        if res.type == "ASK":
            return bool(res.askAnswer)
        if res.type in ("CONSTRUCT", "DESCRIBE"):
            return {tuple(_norm(t, labels=True) for t in tr) for tr in res.graph}
        names = [str(v) for v in res.vars]
        return names, [tuple(_norm(t) for t in row) for row in res]

    def run_ox(self, text: str) -> Any:
        if "ORDER BY" in text and hasattr(os, "fork"):
            return _in_child(lambda: self._run_ox(text))
        return self._run_ox(text)

    def _run_ox(self, text: str) -> Any:
        return ox_answer(self.ox, text)

    def run_rdflib(self, text: str) -> Any:
        if self._rdflib is None:
            self._rdflib = rdflib_dataset(self.trig)
        return rdflib_answer(self._rdflib, text)


class ReferencePanic(RuntimeError):
    """pyoxigraph aborted the process (a Rust panic: its ORDER BY comparison is not a total
    order for some mixes of terms, e.g. seed 700601); the query is not comparable."""


def _in_child(fn: Callable[[], Any], timeout: float | None = None) -> Any:
    """``fn()`` run in a forked child, its result (or exception) sent back pickled: a panic
    that aborts pyoxigraph's process becomes :class:`ReferencePanic` instead of ending the run.

    With ``timeout`` (seconds), a child still running then is killed and :class:`TimeoutError`
    raised (a computation in Rust cannot be interrupted inside the process)."""
    import pickle
    import select
    import signal

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            try:
                payload = pickle.dumps((True, fn()))
            except Exception as exc:  # noqa: BLE001 - sent to the parent as it is
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(w, "wb") as fh:
                fh.write(payload)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        if timeout is not None and not select.select([fh], [], [], timeout)[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"no answer within {timeout:g} s")
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if not data or status != 0:
        raise ReferencePanic(f"pyoxigraph aborted (wait status {status})")
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value


def _canon_lex(lex: str, dt: str | None) -> str:
    try:
        if dt in _INTS:
            return str(int(lex))
        if dt == _X + "decimal":
            d = Decimal(lex).normalize()
            return format(d, "f") if d == d.to_integral() else str(d)
        if dt in (_X + "double", _X + "float"):
            return repr(float(lex.replace("INF", "inf")))
        if dt == _X + "boolean":
            return {"1": "true", "0": "false"}.get(lex.strip(), lex.strip())
    except (ValueError, InvalidOperation):
        return lex
    return lex


def _norm(t: Any, labels: bool = False) -> Any:
    """A comparable form of an rdflib term; a blank node is "some blank node" (``labels``:
    keeps its label, for graphs compared up to blank-node renaming)."""
    if t is None:
        return None
    if isinstance(t, BNode):
        return ("bnode", str(t)) if labels else ("bnode",)
    if isinstance(t, URIRef):
        return ("iri", str(t))
    if isinstance(t, Literal):
        dt = str(t.datatype) if t.datatype is not None and str(t.datatype) != _X + "string" else None
        if t.language:
            dt = None
        return ("lit", _canon_lex(str(t), dt), dt, (t.language or "").lower())
    return ("other", str(t))


def _norm_ox(t: Any, labels: bool = False) -> Any:
    if t is None:
        return None
    name = type(t).__name__
    if name == "BlankNode":
        return ("bnode", "o" + t.value) if labels else ("bnode",)
    if name == "NamedNode":
        return ("iri", t.value)
    if name == "Literal":
        lang = t.language
        dt = None if lang else t.datatype.value
        if dt == _X + "string":
            dt = None
        return ("lit", _canon_lex(t.value, dt), dt, (lang or "").lower())
    return ("other", str(t))


# -- comparison --------------------------------------------------------------------------------
def _key_cmp(a: Any, b: Any) -> int | None:
    """SPARQL's order of two normalised terms where the spec defines it (§15.1), else None."""
    rank = {None: 0, "bnode": 1, "iri": 2, "lit": 3}

    def r(t: Any) -> int:
        return rank[None if t is None else t[0]]
    if r(a) != r(b):
        return -1 if r(a) < r(b) else 1
    if a is None:
        return 0
    if a[0] == "bnode":  # blank nodes are compared as "some blank node": their order is open
        return None
    if a[0] == "iri":
        return (a[1] > b[1]) - (a[1] < b[1])
    num = _INTS | {_X + "decimal", _X + "double", _X + "float"}
    if a[2] in num and b[2] in num:
        try:
            x, y = Decimal(a[1]), Decimal(b[1])
        except InvalidOperation:
            return None
        if x.is_nan() or y.is_nan():  # NaN is not ordered (op:numeric-less-than is false)
            return None
        return (x > y) - (x < y)
    if a[2] is None and b[2] is None and not a[3] and not b[3]:
        return (a[1] > b[1]) - (a[1] < b[1])
    if a == b:
        return 0
    return None


def _ordered(rows: list[tuple], idx: list[tuple[int, bool]]) -> bool:
    """Whether ``rows`` are ordered on the key columns as far as the spec orders them."""
    keys = [tuple(r[i] for i, _ in idx) for r in rows]
    for a, b in itertools.pairwise(keys):
        for (_, desc), x, y in zip(idx, a, b):
            c = _key_cmp(x, y)
            if c is None:
                break  # not ordered by the spec: anything goes from here
            if desc:
                c = -c
            if c < 0:
                break
            if c > 0:
                return False
    return True


@dataclass
class Outcome:
    """The verdict on one query."""

    status: str  # agree | differ | kg-error | kg-timeout | ox-error | deviation:<name>
    detail: str = ""


def compare(case: Case, kg: Any, ox: Any) -> Outcome:
    """Compare kg-engine's and pyoxigraph's answers to ``case`` (see module docstring)."""
    if isinstance(kg, bool) or isinstance(ox, bool):
        return Outcome("agree" if kg == ox else "differ", f"kg={kg} ox={ox}")
    if isinstance(kg, set):
        if case.tree[0] == "describe":
            # §16.4: the description is the service's choice; both give the statements about
            # each resource (kg-engine's CBD adds those of blank nodes they lead to)
            kg = {t for t in kg if t[0][0] != "bnode"}
            ox = {t for t in ox if t[0][0] != "bnode"}
        same = same_graph(kg, ox)
        if same:
            return Outcome("agree")
        if same is None:
            return Outcome("undecided", f"{len(kg)} triples each; the blank-node comparison did "
                                        "not finish")
        kg_ground, ox_ground = _ground_triples(kg), _ground_triples(ox)
        return Outcome("differ", f"{len(kg)} vs {len(ox)} triples; kg-only="
                                 f"{sorted(kg_ground - ox_ground, key=repr)[:5]} ox-only="
                                 f"{sorted(ox_ground - kg_ground, key=repr)[:5]}")
    kn, krows = kg
    on, orows = ox
    if set(kn) != set(on):
        return Outcome("differ", f"variables kg={kn} ox={on}")
    perm = [on.index(v) for v in kn]
    orows = [tuple(r[i] for i in perm) for r in orows]
    if "GROUP_CONCAT" in case.render() and "agg" in kn:  # the order of the parts is free
        sep = "|" if 'SEPARATOR="|"' in case.render() else " "
        j = kn.index("agg")
        krows, orows = ([r[:j] + (_sorted_parts(r[j], sep),) + r[j + 1:] for r in rows]
                        for rows in (krows, orows))
    if case.tree[0] == "select" and case.tree[3].get("reduced"):
        krows, orows = list(dict.fromkeys(krows)), list(dict.fromkeys(orows))  # order kept
    # the keys up to the first one not projected: rows that tie on the projected ones may be
    # in any order of a later key (ORDER BY ?hidden ?x orders by ?x only among equal ?hidden)
    order = list(itertools.takewhile(lambda k: k[0] >= 0, ((kn.index(v) if v in kn else -1, d)
                                                           for v, d in case.order)))
    if order and not _ordered(krows, order):
        return Outcome("differ", "kg-engine's rows are not ordered on the ORDER BY keys")
    if case.limited:
        if len(krows) != len(orows):
            if "|" in case.render() and len(krows) > len(orows):
                return Outcome("deviation:duplicates", "P|Q duplicates before the LIMIT")
            return Outcome("differ", f"{len(krows)} rows vs {len(orows)}")
        if not order:
            return Outcome("agree")
        # ties may be cut at the end (LIMIT) and, with OFFSET, at the start of the window
        edges = {tuple(krows[-1][i] for i, _ in order)} if krows else set()
        if krows and case.tree[3]["offset"]:
            edges.add(tuple(krows[0][i] for i, _ in order))
        kb = Counter(r for r in krows if tuple(r[i] for i, _ in order) not in edges)
        ob = Counter(r for r in orows if tuple(r[i] for i, _ in order) not in edges)
        keys = {tuple(r[i] for i, _ in order) for r in krows + orows}
        if kb == ob or any(_key_cmp(a[j], b[j]) is None for a in keys for b in keys
                           for j in range(len(order))):
            return Outcome("agree")
        return Outcome("differ", f"limited rows differ: kg={sorted(kb.elements(), key=repr)[:4]} "
                                 f"ox={sorted(ob.elements(), key=repr)[:4]}")
    kc, oc = Counter(krows), Counter(orows)
    if kc == oc:
        return Outcome("agree")
    text = case.render()
    if set(kc) == set(oc) and ("|" in text or text.count("FROM ex:g1") > 1):
        return Outcome("deviation:duplicates", "equal as sets (P|Q or repeated FROM)")
    if text.count("FROM ex:") - text.count("FROM NAMED") >= 2:
        # the default graph is the RDF merge of the FROM graphs: a statement in two of them
        # is one statement (pyoxigraph counts it once per graph)
        return Outcome("deviation:from-merge", "several FROM graphs share statements")
    return Outcome("differ", f"{len(krows)} vs {len(orows)} rows; kg-only="
                             f"{sorted((kc - oc).elements(), key=repr)[:3]} ox-only="
                             f"{sorted((oc - kc).elements(), key=repr)[:3]}")


def _ground_triples(triples: set[tuple]) -> set[tuple]:
    return {t for t in triples if not any(x[0] == "bnode" for x in t)}


def _ox_graph(triples: set[tuple]) -> Any:
    """Normalised triples (blank nodes with labels) as a ``pyoxigraph.Dataset``."""
    import pyoxigraph as ox

    names: dict[str, Any] = {}

    def term(x: tuple) -> Any:
        if x[0] == "bnode":
            return names.setdefault(x[1], ox.BlankNode(f"b{len(names)}"))
        if x[0] == "iri":
            return ox.NamedNode(x[1])
        if x[3]:
            return ox.Literal(x[1], language=x[3])
        return ox.Literal(x[1], datatype=ox.NamedNode(x[2]) if x[2] else None)

    return ox.Dataset(ox.Quad(term(s), term(p), term(o), ox.DefaultGraph()) for s, p, o in triples)


def _canonical_equal(a: set[tuple], b: set[tuple]) -> bool:
    import pyoxigraph as ox

    da, db = _ox_graph(a), _ox_graph(b)
    da.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    db.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return bool(da == db)


def same_graph(a: set[tuple], b: set[tuple], limit: float = 20.0) -> bool | None:
    """Whether two sets of normalised triples are the same graph up to blank-node renaming
    (RDFC-1.0 canonicalisation; None: undecided, the comparison did not finish in ``limit``
    seconds — it is exponential in the worst case, so it runs in a forked child beyond a few
    blank nodes). A CONSTRUCT that shared one blank node between solutions where the template
    asks a fresh one per solution is caught here (blank nodes compared as "some blank node"
    would not see it)."""
    if len(a) != len(b) or _ground_triples(a) != _ground_triples(b):
        return False
    nodes = {x[1] for t in a for x in t if x[0] == "bnode"}
    if not nodes and not any(x[0] == "bnode" for t in b for x in t):
        return a == b
    if len(nodes) <= 8 or not hasattr(os, "fork"):
        return _canonical_equal(a, b)
    try:
        return bool(_in_child(lambda: _canonical_equal(a, b), timeout=limit))
    except (TimeoutError, ReferencePanic):
        return None


def _sorted_parts(t: Any, sep: str) -> Any:
    if isinstance(t, tuple) and t and t[0] == "lit":
        return (t[0], sep.join(sorted(t[1].split(sep))), *t[2:])
    return t


def evaluate(engines: Engines, case: Case, timeout: float = 8.0,
             canonical: Engines | None = None) -> Outcome:
    """Run ``case`` on both engines and compare (exceptions and timeouts are outcomes)."""
    from kg_engine.errors import QueryTimeoutError

    text = case.render()
    t0 = time.perf_counter()
    try:
        ox = engines.run_ox(text)
    except Exception as exc:  # noqa: BLE001 - the reference declines: not comparable
        return Outcome("ox-error", f"{type(exc).__name__}: {exc}")
    t1 = time.perf_counter()
    engines.ox_seconds += t1 - t0
    try:
        kg = engines.run_kg(text, timeout)
        engines.kg_seconds += time.perf_counter() - t1
    except QueryTimeoutError as exc:
        return Outcome("kg-timeout", str(exc))
    except Exception as exc:  # noqa: BLE001 - every exception is a finding
        return Outcome("kg-error", f"{type(exc).__name__}: {str(exc)[:300]}")
    out = compare(case, kg, ox)
    if out.status == "differ" and canonical is not None:
        try:
            again = compare(case, canonical.run_kg(text, timeout), canonical.run_ox(text))
        except Exception:  # noqa: BLE001
            return out
        if again.status in ("agree", "deviation:duplicates"):
            return Outcome("deviation:non-canonical", "agrees on the dataset with canonical literals")
    if out.status == "differ" and engines.rdflib_opinion:
        try:
            rd = engines.run_rdflib(text)
            if compare(case, kg, rd).status == "agree" and compare(case, ox, rd).status != "agree":
                return Outcome("majority:kg", out.detail + " (rdflib agrees with kg-engine)")
        except Exception as exc:  # noqa: BLE001 - no second opinion
            out.detail += f" (rdflib raised {type(exc).__name__})"
    return out


# -- shrinking ---------------------------------------------------------------------------------
def _subtrees(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    out = [(path, node)]
    if isinstance(node, list):
        for i, c in enumerate(node):
            out.extend(_subtrees(c, (*path, i)))
    elif isinstance(node, dict):
        for k, c in node.items():
            out.extend(_subtrees(c, (*path, k)))
    return out


def _replace(tree: Any, path: tuple, value: Any) -> Any:
    import copy
    new = copy.deepcopy(tree)
    if not path:
        return value
    cur = new
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return new


def _delete(tree: Any, path: tuple) -> Any:
    import copy
    new = copy.deepcopy(tree)
    cur = new
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]
    return new


def _candidates(case: Case) -> list[Case]:
    """Smaller variants of ``case``: drop a group element, a template triple, a row, a
    modifier, the dataset clause; replace a group by an inner group, an expression by a part."""
    out: list[Case] = []
    tree = case.tree
    if case.dataset:
        out.append(Case(tree, case.dataset[:-1]))
    for path, node in _subtrees(tree):
        if isinstance(node, dict):  # select modifiers
            for k, default in (("limit", None), ("offset", None), ("having", None), ("order", []),
                               ("distinct", False), ("group", []), ("reduced", False),
                               ("values", None)):
                if k == "order" and (node.get("limit") is not None or node.get("offset") is not None):
                    continue  # a slice without its order is nondeterministic: not a smaller case
                if node.get(k) not in (None, [], False) and not (k == "group" and node.get("having")):
                    out.append(Case(_replace(tree, (*path, k), default), case.dataset))
            continue
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            continue
        kind = node[0]
        if kind == "group":
            for i in range(1, len(node)):
                if len(node) > 2:
                    out.append(Case(_delete(tree, (*path, i)), case.dataset))
            for sub_path, sub in _subtrees(node):
                if sub_path and isinstance(sub, list) and sub and sub[0] == "group":
                    out.append(Case(_replace(tree, path, sub), case.dataset))
        elif kind in ("optional", "minus", "graph", "union"):  # keep an inner group only
            for inner in ([node[1], node[2]] if kind == "union" else [node[-1]]):
                out.append(Case(_replace(tree, path, inner), case.dataset))
        elif kind in ("bin", "call", "in", "not"):  # keep an operand only
            for c in node[1:] if kind == "not" else node[2:]:
                if isinstance(c, list):
                    out.append(Case(_replace(tree, path, c), case.dataset))
        elif kind == "values" and node[2]:
            out.append(Case(_replace(tree, (*path, 2), node[2][:-1]), case.dataset))
        elif kind == "construct" and len(node[1]) > 1 or kind == "select" and isinstance(node[1], list) and len(node[1]) > 1:
            out.append(Case(_replace(tree, (*path, 1), node[1][:-1]), case.dataset))
    return out


def shrink(case: T, fails: Callable[[T], bool], budget: int = 300,
           candidates: Callable[[T], Iterable[T]] | None = None) -> T:
    """A smaller case for which ``fails`` still holds (greedy, at most ``budget`` tries).

    ``candidates`` gives a case's one-step smaller variants (default: a query :class:`Case`'s);
    the update differential passes its own for requests.
    """
    smaller = candidates or _candidates
    tries = 0
    improved = True
    while improved and tries < budget:
        improved = False
        for cand in smaller(case):
            if len(cand.render()) >= len(case.render()):
                continue
            tries += 1
            try:
                ok = fails(cand)
            except Exception:  # noqa: BLE001 - a candidate the renderer or engines reject
                ok = False
            if ok:
                case = cand
                improved = True
                break
            if tries >= budget:
                break
    return case


# -- driver ------------------------------------------------------------------------------------
@dataclass
class Report:
    """Counts per outcome and the shrunk failures of one run."""

    queries: int = 0
    counts: Counter = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    kg_seconds: float = 0.0
    ox_seconds: float = 0.0

    @property
    def agreement(self) -> float:
        ok = sum(n for s, n in self.counts.items() if s == "agree" or s.startswith("deviation"))
        judged = self.queries - self.counts.get("ox-error", 0)
        return ok / judged if judged else 1.0

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return (f"{self.queries} queries: agreement {100 * self.agreement:.2f} % ({parts}); "
                f"kg-engine {self.kg_seconds:.1f} s, pyoxigraph {self.ox_seconds:.1f} s")


def run(seed: int, queries: int, *, url: str | Callable[[], str] = "sqlite://", datasets: int = 1,
        shrink_failures: bool = True, timeout: float = 8.0, max_shrunk: int = 40,
        progress: Callable[[int, Outcome], None] | None = None, widen: bool = True,
        widen4: bool | None = None, widen5: bool | None = None, widen6: bool | None = None) -> Report:
    """Generate ``queries`` queries (spread over ``datasets`` datasets) from ``seed``, run
    them on kg-engine (``url``: a database URL, or a function returning a fresh one per
    store, e.g. ``TemporaryPostgres.new_database_url``) and pyoxigraph; shrink the failures.
    ``widen``/``widen4``/``widen5``: the third/fourth/fifth widening of the grammar (and its
    data)."""
    report = Report()
    widen4 = widen if widen4 is None else widen4
    widen5 = widen4 if widen5 is None else widen5
    widen6 = widen5 if widen6 is None else widen6
    per = max(1, queries // datasets)
    for d in range(datasets):
        trig = make_dataset(seed * 1000 + d, widen4=widen4, widen5=widen5, widen6=widen6)
        engines = Engines(trig, url=url() if callable(url) else url)
        canonical = Engines(canonical_dataset(trig), url=url() if callable(url) else url)
        try:
            gen = QueryGenerator(seed * 1000 + d, widen=widen, widen4=widen4, widen5=widen5, widen6=widen6)
            n = per if d < datasets - 1 else queries - per * (datasets - 1)
            for _ in range(n):
                case = gen.query()
                kg0, ox0 = engines.kg_seconds, engines.ox_seconds
                out = evaluate(engines, case, timeout, canonical)
                report.kg_seconds += engines.kg_seconds - kg0
                report.ox_seconds += engines.ox_seconds - ox0
                report.queries += 1
                report.counts[out.status] += 1
                if progress is not None:
                    progress(report.queries, out)
                if out.status in ("differ", "kg-error", "kg-timeout", "majority:kg", "undecided"):
                    entry: dict[str, Any] = {"status": out.status, "query": case.render(),
                                             "detail": out.detail, "dataset_seed": seed * 1000 + d}
                    if shrink_failures and len(report.failures) < max_shrunk and \
                            out.status != "undecided":
                        status = out.status

                        def fails(c: Case, status: str = status, e: Engines = engines,
                                  canon: Engines = canonical) -> bool:
                            return evaluate(e, c, timeout, canon).status == status
                        small = shrink(case, fails)
                        entry["shrunk"] = small.render()
                        entry["shrunk_detail"] = evaluate(engines, small, timeout, canonical).detail
                        if engines.rdflib_opinion and out.status in ("differ", "majority:kg"):
                            entry["rdflib"] = _second_opinion(engines, small)
                    report.failures.append(entry)
        finally:
            engines.close()
            canonical.close()
    return report


def _second_opinion(engines: Engines, case: Case) -> str:
    text = case.render()
    try:
        rd = engines.run_rdflib(text)
    except Exception as exc:  # noqa: BLE001
        return f"rdflib raised {type(exc).__name__}"
    verdicts = []
    for name, other in (("kg-engine", lambda: engines.run_kg(text, 8.0)), ("pyoxigraph", lambda: engines.run_ox(text))):
        try:
            verdicts.append(f"rdflib {'agrees' if compare(case, other(), rd).status == 'agree' else 'differs'} with {name}")
        except Exception as exc:  # noqa: BLE001
            verdicts.append(f"{name} raised {type(exc).__name__}")
    return "; ".join(verdicts)
