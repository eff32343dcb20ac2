"""Size and depth limits: seeded extreme queries, updates and loads, checked against pyoxigraph.

The differential (:mod:`kg_engine.testing.differential`) draws ordinary-sized queries; this
module pushes each dimension to where SQLite, PostgreSQL or Python give up: UNIONs of
thousands of branches, ``IN`` lists and ``VALUES`` blocks of tens of thousands of values,
basic graph patterns past SQLite's 64-table join, nesting hundreds of levels deep, thousands
of projected variables, ORDER BY / GROUP BY with hundreds of keys and aggregates, literals of
megabytes, 10 KB IRIs, odd strings (NUL, U+FFFF, NFC vs NFD, long language tags, lone
surrogates), variable names past PostgreSQL's 63-byte identifiers, and updates of hundreds of
thousands of statements.

Each :class:`LimitCase` is a dataset (loaded from a Turtle or N-Triples file), a query or an
update request and a size. :func:`run_case` runs it on kg-engine through
``KnowledgeGraph.query()/update()`` (``path="api"``) or the ``kg`` command line
(``path="cli"``), each in a child process with a time limit, and on pyoxigraph, and returns
one :class:`LimitOutcome`:

* ``agree`` — the same answer (rows as bags, or as sequences where ORDER BY makes the order
  total; after an update, the whole store);
* ``both-reject`` — pyoxigraph rejects the input too (e.g. a lone surrogate) and kg-engine
  refuses it with one clear error (the CLI: exit 2, no traceback);
* ``limit-error`` — kg-engine refuses with a clear error that pyoxigraph does not need: the
  message must name the limit and the fix, and a failed update must leave the store as it was;
* ``unchecked`` — pyoxigraph crashed or ran past three time limits (deep nesting overflows
  its stack): kg-engine's answer (or clear error) is not compared;
* failures: ``differ`` (wrong answer), ``bug`` (an exception that is not a
  :class:`~kg_engine.errors.KgEngineError`, a CLI exit other than 0/2 or a traceback),
  ``crash`` (the child died), ``hang`` (past the time limit), ``kg-timeout`` (kg-engine's own
  timeout fired where pyoxigraph answered), ``store-changed`` (a failed update left changes).

Example:
    >>> cases = generate(1, families=["union"], per_family=1)
    >>> [c.family for c in cases], cases[0].size >= 2
    (['union', 'union'], True)
    >>> "UNION" in cases[-1].request
    True
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kg_engine.testing.differential import ReferencePanic, _in_child, _norm, _norm_ox

__all__ = ["FAMILIES", "GOOD", "LimitCase", "LimitOutcome", "generate", "run_case"]

EX = "http://example.org/"
PRE = f"PREFIX ex: <{EX}>\nPREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
#: outcomes that count as passing
GOOD = frozenset({"agree", "both-reject", "limit-error", "unchecked"})


@dataclass
class LimitCase:
    """One extreme input: ``data`` (Turtle or N-Triples text) and a query or update."""

    family: str
    size: int
    request: str
    data: str = ""
    data_format: str = "nt"  # "nt" | "ttl"
    kind: str = "query"  # "query" | "update"
    ordered: bool = False  # ORDER BY makes the row order total: compare sequences
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.family}[{self.size}{'/' + self.note if self.note else ''}]"


@dataclass
class LimitOutcome:
    """The verdict on one case on one backend and path."""

    status: str
    detail: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in GOOD


# -- generators --------------------------------------------------------------------------------
def _lit(rng: random.Random, i: int) -> str:
    return rng.choice([str(i), f'"s{i}"', f'"{i}"^^xsd:decimal', f'"t{i}"@en', f"ex:n{i}"])


def _nt(triples: Iterable[tuple[str, str, str]]) -> str:
    return "".join(f"{s} {p} {o} .\n" for s, p, o in triples)


def _iri(local: str) -> str:
    return f"<{EX}{local}>"


def _int(i: int) -> str:
    return f'"{i}"^^<http://www.w3.org/2001/XMLSchema#integer>'


def _union(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i % 7}"), _iri(f"p{i}"), _int(i)) for i in range(n))
    branches = " UNION ".join(f"{{ ?s ex:p{k} ?o }}" for k in range(n))
    return LimitCase("union", n, f"{PRE}SELECT ?s ?o WHERE {{ {branches} }}", data)


def _in_list(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i}"), _iri("v"), _int(i)) for i in range(2000))
    neg = rng.random() < 0.3
    vals = [str(rng.randrange(4000)) for _ in range(n)]
    vals[::7] = [f'"{v}"' for v in vals[::7]]  # strings never equal the integers
    op = "NOT IN" if neg else "IN"
    q = f"{PRE}SELECT ?s ?o WHERE {{ ?s ex:v ?o FILTER(?o {op} ({', '.join(vals)})) }}"
    return LimitCase("in-list", n, q, data, note="not" if neg else "")


def _values(rng: random.Random, n: int, cols: int | None = None) -> LimitCase:
    cols = cols or rng.randint(1, 100)
    cols = max(1, min(cols, 400_000 // n))  # cells bounded: the text stays under ~4 MB
    data = _nt((_iri(f"s{i}"), _iri("v"), _int(i)) for i in range(3000))
    names = [f"?c{j}" for j in range(cols)]
    rows = []
    for _ in range(n):
        cells = [str(rng.randrange(6000))]
        for j in range(1, cols):
            r = rng.random()
            cells.append("UNDEF" if r < 0.2 else f"ex:n{rng.randrange(50)}" if r < 0.6 else
                         f'"x{rng.randrange(9)}"')
        rows.append("(" + " ".join(cells) + ")")
    q = (f"{PRE}SELECT * WHERE {{ ?s ex:v ?c0 VALUES ({' '.join(names)}) "
         f"{{ {' '.join(rows)} }} }}")
    return LimitCase("values", n, q, data, note=f"{cols}cols")


def _chain_data(length: int, branch: int = 3) -> str:
    out = [(_iri(f"n{i}"), _iri("p"), _iri(f"n{i + 1}")) for i in range(length)]
    out += [(_iri(f"n{i}"), _iri("p"), _iri(f"m{i}")) for i in range(0, length, branch)]
    return _nt(out)


def _bgp_chain(rng: random.Random, n: int) -> LimitCase:
    pats = " ".join(f"?x{i} ex:p ?x{i + 1} ." for i in range(n))
    return LimitCase("bgp-chain", n, f"{PRE}SELECT * WHERE {{ {pats} }}", _chain_data(n + 20))


def _bgp_star(rng: random.Random, n: int) -> LimitCase:
    data = [(_iri(f"s{s}"), _iri(f"p{k}"), _int(s * 1000 + k)) for s in range(4) for k in range(n)]
    data += [(_iri("s0"), _iri("p0"), '"extra"'), (_iri("s9"), _iri("p1"), _int(1))]
    pats = " ".join(f"?s ex:p{k} ?o{k} ." for k in range(n))
    return LimitCase("bgp-star", n, f"{PRE}SELECT * WHERE {{ {pats} }}", _nt(data))


def _nest(rng: random.Random, n: int, how: str) -> LimitCase:
    data = _chain_data(30)
    if how == "optional":
        body = "?x0 ex:p ?x1 "
        for i in range(1, n):
            body += f"OPTIONAL {{ ?x{i} ex:p ?x{i + 1} "
        body += "}" * (n - 1)
        q = f"SELECT * WHERE {{ {body} }}"
    elif how == "group":
        q = "SELECT * WHERE { " + "{ " * n + "?s ex:p ?o " + "} " * n + "}"
    elif how == "subselect":
        q = "SELECT ?s ?o WHERE { " * n + "?s ex:p ?o " + "} " * n
    elif how == "not-exists":
        # odd depth: the innermost NOT EXISTS removes rows; the rest alternate
        body = "?s ex:p ?o "
        for i in range(n):
            body += f"FILTER NOT EXISTS {{ ?o ex:p ?y{i} "
        body += "}" * n
        q = f"SELECT * WHERE {{ {body} }}"
    elif how == "arith":
        e = "?k"
        for i in range(n):
            e = f"({e} + {i % 3})" if i % 2 else f"({e} - 1)"
        q = ("SELECT ?s ?r WHERE { ?s ex:k ?k BIND(" + e + " AS ?r) }")
        data = _nt((_iri(f"s{i}"), _iri("k"), _int(i)) for i in range(20))
    elif how == "func":
        e = "?o"
        for i in range(n):
            e = ["UCASE({})", "LCASE({})", "STR({})", 'CONCAT({}, "")', "SUBSTR({}, 1)"][i % 5] \
                .format(e)
        q = f"SELECT ?s ?r WHERE {{ ?s ex:t ?o BIND({e} AS ?r) }}"
        data = _nt((_iri(f"s{i}"), _iri("t"), f'"Ab{i}"') for i in range(20))
    else:  # pragma: no cover
        raise ValueError(how)
    return LimitCase(f"nest-{how}", n, PRE + q, data)


def _path_seq(rng: random.Random, n: int) -> LimitCase:
    path = "/".join(["ex:p"] * n)
    return LimitCase("path-seq", n, f"{PRE}SELECT ?s ?o WHERE {{ ?s {path} ?o }}",
                     _chain_data(n + 30))


def _path_alt(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"n{i % 40}"), _iri(f"p{i}"), _iri(f"n{(i * 7 + 1) % 40}"))
               for i in range(2 * n))
    alt = "|".join(f"ex:p{k}" for k in range(n))
    star = rng.random() < 0.5
    path = f"({alt})+" if star else f"({alt})"
    # DISTINCT: pyoxigraph drops the duplicates P|Q should keep (differential's deviation)
    return LimitCase("path-alt", n, f"{PRE}SELECT DISTINCT ?s ?o WHERE {{ ex:n0 {path} ?o "
                     f"BIND(ex:n0 AS ?s) }}", data, note="plus" if star else "")


def _project(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i}"), _iri("v"), _int(i)) for i in range(3))
    names = [f"?v{j}" for j in range(n)]
    via_bind = rng.random() < 0.5
    if via_bind:
        binds = " ".join(f"BIND(?o + {j} AS ?v{j})" for j in range(n))
        q = f"SELECT ?s {' '.join(names)} WHERE {{ ?s ex:v ?o {binds} }}"
    else:
        row = " ".join(str(j) for j in range(n))
        q = (f"SELECT ?s {' '.join(names)} WHERE {{ ?s ex:v ?o "
             f"VALUES ({' '.join(names)}) {{ ({row}) }} }}")
    return LimitCase("project", n, PRE + q, data, note="bind" if via_bind else "values")


def _order(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i:03d}"), _iri("v"), _int(rng.randrange(50))) for i in range(300))
    keys = []
    for k in range(n):
        m = rng.randint(2, 9)
        e = f"((?o * {k + 1}) - FLOOR((?o * {k + 1}) / {m}) * {m})"
        keys.append(f"DESC({e})" if rng.random() < 0.3 else e)
    keys.append("?s")  # total order: compare the sequences
    q = f"SELECT ?s ?o WHERE {{ ?s ex:v ?o }} ORDER BY {' '.join(keys)}"
    return LimitCase("order-by", n, PRE + q, data, ordered=True)


def _group(rng: random.Random, n: int) -> LimitCase:
    data = _nt([(_iri(f"s{i}"), _iri("g"), _int(i % 5)) for i in range(200)]
               + [(_iri(f"s{i}"), _iri("v"), _int(rng.randrange(100))) for i in range(200)])
    aggs = []
    for k in range(n):
        f = ["SUM(?o + {k})", "MIN(?o * {k})", "MAX(?o - {k})", "COUNT(DISTINCT ?o)",
             "AVG(?o)", "SAMPLE(?g)", "COUNT(*)"][k % 7].format(k=k)
        aggs.append(f"({f} AS ?a{k})")
    q = f"SELECT ?g {' '.join(aggs)} WHERE {{ ?s ex:g ?g ; ex:v ?o }} GROUP BY ?g"
    return LimitCase("group-by", n, PRE + q, data)


_ALPHABET = "abcxyz é中😀\"\\\n\t'<>{}"


def _nt_escape(s: str) -> str:
    return (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r"))


def _big_literal(rng: random.Random, n: int) -> LimitCase:
    # n bytes (about): a random run of mixed-width characters
    chunk = "".join(rng.choice(_ALPHABET) for _ in range(997))
    text = (chunk * (n // len(chunk.encode()) + 1))
    while len(text.encode()) > n and len(text) > 1:
        text = text[: max(1, len(text) * n // max(1, len(text.encode())))]
        if len(text.encode()) <= n:
            break
        text = text[:-1]
    lit = f'"{_nt_escape(text)}"'
    data = _nt([(_iri("s"), _iri("big"), lit), (_iri("s"), _iri("small"), '"x"')])
    how = rng.choice(["select", "equals", "strstarts", "contains"])
    if how == "select":
        q = "SELECT ?o (STRLEN(?o) AS ?n) WHERE { ?s ?p ?o }"
    elif how == "equals":
        q = f"SELECT ?s ?p WHERE {{ ?s ?p ?o FILTER(?o = {lit}) }}"
    elif how == "strstarts":
        q = f'SELECT ?s ?p WHERE {{ ?s ?p ?o FILTER(STRSTARTS(?o, "{_nt_escape(text[:-1])}")) }}'
    else:
        q = f'SELECT ?s ?p WHERE {{ ?s ?p ?o FILTER(CONTAINS(?o, "{_nt_escape(text[1:])}")) }}'
    return LimitCase("literal", n, PRE + q, data, data_format=rng.choice(["nt", "ttl"]), note=how)


def _big_iri(rng: random.Random, n: int) -> LimitCase:
    iri = f"<{EX}{'i' * n}>"
    iri2 = f"<{EX}{'i' * (n - 1)}j>"
    data = _nt([(iri, _iri("p"), '"a"'), (iri2, _iri("p"), '"b"'), (_iri("x"), _iri("q"), iri)])
    q = rng.choice([f"SELECT ?o WHERE {{ {iri} ex:p ?o }}",
                    "SELECT ?s ?o WHERE { ?s ex:p ?o }",
                    f"SELECT ?x WHERE {{ ?x ex:q ?i FILTER(?i = {iri}) }}"])
    return LimitCase("iri", n, PRE + q, data, data_format=rng.choice(["nt", "ttl"]))


#: odd terms: (note, literal as written in N-Triples/Turtle and in the query)
_ODD = [
    ("nul", r'"a\u0000b"'),
    ("uffff", r'"x\uFFFFy"'),
    ("nonchar", r'"\U0010FFFF"'),
    ("surrogate", r'"a\uD800b"'),
    ("surrogate-pair", r'"\uD83D\uDE00"'),
    ("nul-lang", r'"\u0000"@en'),
    ("nul-typed", r'"\u0000"^^<http://example.org/dt>'),
]


def _odd_term(rng: random.Random, n: int) -> LimitCase:
    note, lit = _ODD[n % len(_ODD)]
    data = _nt([(_iri("s"), _iri("p"), lit), (_iri("s"), _iri("p"), '"ab"'),
                (_iri("t"), _iri("p"), '"a"')])
    q = rng.choice(["SELECT ?s ?o (STRLEN(?o) AS ?n) WHERE { ?s ex:p ?o }",
                    f"SELECT ?s WHERE {{ ?s ex:p {lit} }}",
                    f"SELECT ?s ?o WHERE {{ ?s ex:p ?o FILTER(?o = {lit}) }}",
                    f"SELECT ?s ?o WHERE {{ ?s ex:p ?o FILTER(CONTAINS(?o, STR({lit}))) }}"])
    return LimitCase("odd-term", n, PRE + q, data, data_format=rng.choice(["nt", "ttl"]),
                     note=note)


def _unicode_forms(rng: random.Random, n: int) -> LimitCase:
    nfc, nfd = "\u00e9", "e\u0301"
    data = _nt([(_iri("c"), _iri("p"), f'"caf{nfc}"'), (_iri("d"), _iri("p"), f'"caf{nfd}"'),
                (_iri(f"caf{nfc}"), _iri("p"), '"iri-nfc"'),
                (_iri(f"caf{nfd}"), _iri("p"), '"iri-nfd"'),
                (_iri("l"), _iri("p"), f'"caf{nfc}"@fr'), (_iri("m"), _iri("p"), f'"caf{nfd}"@fr')])
    q = rng.choice([
        f'SELECT ?s WHERE {{ ?s ex:p "caf{nfd}" }}',
        f'SELECT ?s ?o WHERE {{ ?s ex:p ?o FILTER(STR(?o) = "caf{nfc}") }}',
        "SELECT (COUNT(DISTINCT ?o) AS ?n) (COUNT(DISTINCT ?s) AS ?m) WHERE { ?s ex:p ?o }",
        f"SELECT ?o WHERE {{ <{EX}caf{nfd}> ex:p ?o }}",
        "SELECT ?o (STRLEN(?o) AS ?n) WHERE { ?s ex:p ?o } ORDER BY STR(?o) LANG(?o)",
    ])
    return LimitCase("nfc-nfd", n, PRE + q, data, data_format=rng.choice(["nt", "ttl"]),
                     ordered="ORDER BY" in q)


def _lang_tag(rng: random.Random, n: int) -> LimitCase:
    subtags = ["en"] + ["".join(rng.choice("abcdefgh") for _ in range(8))
                        for _ in range(max(0, (n - 2) // 9))]
    tag = "-".join(subtags)
    tag2 = tag[:-1] + ("b" if tag[-1] != "b" else "c")
    data = _nt([(_iri("s"), _iri("p"), f'"x"@{tag}'), (_iri("t"), _iri("p"), f'"x"@{tag2}'),
                (_iri("u"), _iri("p"), '"x"@en')])
    q = rng.choice(["SELECT ?s ?o (LANG(?o) AS ?l) WHERE { ?s ex:p ?o }",
                    f'SELECT ?s WHERE {{ ?s ex:p "x"@{tag} }}',
                    'SELECT ?s WHERE { ?s ex:p ?o FILTER(LANGMATCHES(LANG(?o), "en")) }',
                    "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ex:p ?o }"])
    return LimitCase("lang-tag", len(tag), PRE + q, data, data_format=rng.choice(["nt", "ttl"]))


def _varnames(rng: random.Random, n: int) -> LimitCase:
    stem = "v" * n
    a, b, c = f"?{stem}a", f"?{stem}b", f"?{stem}c"
    data = _nt([(_iri("s1"), _iri("p"), _int(1)), (_iri("s1"), _iri("q"), _int(2)),
                (_iri("s2"), _iri("p"), _int(3))])
    q = rng.choice([f"SELECT * WHERE {{ {a} ex:p {b} OPTIONAL {{ {a} ex:q {c} }} }}",
                    f"SELECT {a} (SUM({b}) AS {c}) WHERE {{ {a} ex:p {b} }} GROUP BY {a}",
                    f"SELECT * WHERE {{ {a} ex:p {b} BIND({b} + 1 AS {c}) }} ORDER BY {c}"])
    return LimitCase("varname", n, PRE + q, data, ordered="ORDER BY" in q)


def _joins(rng: random.Random, n: int) -> LimitCase:
    """n OPTIONALs side by side (SQL joins, not nesting) — SQLite's 64-table join limit."""
    data = _nt([(_iri(f"s{s}"), _iri(f"p{k}"), _int(k)) for s in range(3) for k in range(0, n, 2)]
               + [(_iri(f"s{s}"), _iri("a"), _int(s)) for s in range(4)])
    opts = " ".join(f"OPTIONAL {{ ?s ex:p{k} ?o{k} }}" for k in range(n))
    return LimitCase("optionals", n, f"{PRE}SELECT * WHERE {{ ?s ex:a ?x {opts} }}", data)


# -- updates -----------------------------------------------------------------------------------
def _insert_data(rng: random.Random, n: int) -> LimitCase:
    data = _nt([(_iri("old"), _iri("p"), '"kept"')])
    body = " ".join(f"ex:s{i} ex:p{i % 13} {_lit(rng, i)} ." for i in range(n))
    return LimitCase("insert-data", n, f"{PRE}INSERT DATA {{ {body} }}", data, kind="update")


def _delete_data(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i}"), _iri("p"), _int(i)) for i in range(n + 100))
    body = " ".join(f"ex:s{i} ex:p {i} ." for i in rng.sample(range(n + 200), n))
    return LimitCase("delete-data", n, f"{PRE}DELETE DATA {{ {body} }}", data, kind="update")


def _modify(rng: random.Random, n: int) -> LimitCase:
    data = _nt((_iri(f"s{i}"), _iri("v"), _int(i)) for i in range(n))
    q = (f"{PRE}DELETE {{ ?s ex:v ?o }} INSERT {{ ?s ex:w ?n ; ex:h ?o }} "
         f"WHERE {{ ?s ex:v ?o BIND(?o * 2 AS ?n) }}")
    return LimitCase("delete-insert", n, q, data, kind="update")


def _failing_update(rng: random.Random, n: int) -> LimitCase:
    """A large first operation, then one that must fail: nothing may stay changed."""
    data = _nt((_iri(f"s{i}"), _iri("v"), _int(i)) for i in range(100))
    body = " ".join(f"ex:t{i} ex:p {i} ." for i in range(n))
    fail = rng.choice(["LOAD <file:///nonexistent/kg-limits.ttl>",
                       "CREATE GRAPH ex:g ; CREATE GRAPH ex:g"])
    q = f"{PRE}INSERT DATA {{ {body} }} ; DELETE WHERE {{ ?s ex:v ?o }} ; {fail}"
    return LimitCase("failed-update", n, q, data, kind="update", note=fail.split()[0].lower())


Family = tuple[Callable[[random.Random, int], LimitCase], int, int]
#: family name -> (builder, smallest size, largest size)
FAMILIES: dict[str, Family] = {
    "union": (_union, 2, 2000),
    "in-list": (_in_list, 10, 50_000),
    "values": (_values, 10, 100_000),
    "bgp-chain": (_bgp_chain, 2, 200),
    "bgp-star": (_bgp_star, 2, 200),
    "optionals": (_joins, 2, 200),
    **{f"nest-{h}": (functools.partial(_nest, how=h), 10, 500)
       for h in ("optional", "group", "subselect", "not-exists", "arith", "func")},
    "path-seq": (_path_seq, 2, 50),
    "path-alt": (_path_alt, 2, 100),
    "project": (_project, 10, 2000),
    "order-by": (_order, 1, 200),
    "group-by": (_group, 1, 200),
    "literal": (_big_literal, 1, 20_000_000),
    "iri": (_big_iri, 10, 10_000),
    "odd-term": (_odd_term, 0, len(_ODD) - 1),
    "nfc-nfd": (_unicode_forms, 0, 4),
    "lang-tag": (_lang_tag, 10, 10_000),
    "varname": (_varnames, 10, 300),
    "insert-data": (_insert_data, 1000, 200_000),
    "delete-data": (_delete_data, 1000, 50_000),
    "delete-insert": (_modify, 1000, 100_000),
    "failed-update": (_failing_update, 10, 50_000),
}


def generate(seed: int, families: Iterable[str] | None = None, per_family: int = 1,
             extremes: bool = True) -> list[LimitCase]:
    """Cases of every family (or ``families``): ``per_family`` sizes drawn log-uniformly
    between the family's smallest and largest size, and (``extremes``) the largest size.

    The draw is a function of ``seed`` and the family name only, so selecting families does
    not change the others' cases."""
    out = []
    for name in families or FAMILIES:
        build, lo, hi = FAMILIES[name]
        rng = random.Random(f"{seed}:{name}")
        sizes = [round(math.exp(rng.uniform(math.log(max(lo, 1)), math.log(hi))))
                 if lo > 0 else rng.randint(lo, hi) for _ in range(per_family)]
        if extremes:
            sizes.append(hi)
        for size in sizes:
            out.append(build(rng, max(lo, min(hi, size))))
    return out


# -- running -----------------------------------------------------------------------------------
def _suffix(case: LimitCase) -> str:
    return ".nt" if case.data_format == "nt" else ".ttl"


def _snapshot(kg: Any) -> Counter:
    """The store's statements (the default graph's name as ``None``, as pyoxigraph's)."""
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    return Counter(tuple(_norm(t, labels=True) for t in q[:3])
                   + (None if q[3] == DATASET_DEFAULT_GRAPH_ID else _norm(q[3], labels=True),)
                   for q in kg.triples())


def _rows_of(res: Any) -> Any:
    if res.type == "ASK":
        return bool(res.askAnswer)
    names = [str(v) for v in res.vars]
    return names, [tuple(_norm(t) for t in row) for row in res]


def _error(exc: BaseException) -> tuple:
    from kg_engine.errors import KgEngineError

    tb = "".join(traceback.format_exception(exc)[-6:])
    kind = "error" if isinstance(exc, KgEngineError) else "bug"
    return (kind, f"{type(exc).__name__}: {str(exc)[:600]}", tb[-1500:])


def _kg_api(case: LimitCase, url: str, datafile: str, timeout: float) -> tuple:
    """In the child: load, run, answer (or the error), and for updates the store after."""
    from kg_engine import KnowledgeGraph

    kg = KnowledgeGraph(url)
    try:
        kg.load(datafile)
    except BaseException as exc:  # noqa: BLE001 - reported
        return ("load-" + _error(exc)[0],) + _error(exc)[1:]
    if case.kind == "query":
        try:
            return ("ok", _rows_of(kg.query(case.request, timeout=timeout)))
        except BaseException as exc:  # noqa: BLE001 - reported
            return _error(exc)
    before = _snapshot(kg)
    try:
        kg.update(case.request, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001 - reported
        err = _error(exc)
        return err + (_snapshot(kg) == before,)
    return ("ok", _snapshot(kg))


def _json_term(b: dict | None) -> Any:
    from rdflib import BNode, Literal, URIRef

    if b is None:
        return None
    if b["type"] == "uri":
        return _norm(URIRef(b["value"]))
    if b["type"] == "bnode":
        return _norm(BNode(b["value"]))
    return _norm(Literal(b["value"], lang=b.get("xml:lang"), datatype=b.get("datatype")))


def _kg_cli(case: LimitCase, url: str, datafile: str, timeout: float) -> tuple:
    """In the child: load through the API, then ``kg query``/``kg update`` as a process."""
    from kg_engine import KnowledgeGraph

    with KnowledgeGraph(url) as kg:
        try:
            kg.load(datafile)
        except BaseException as exc:  # noqa: BLE001 - reported
            return ("load-" + _error(exc)[0],) + _error(exc)[1:]
        before = _snapshot(kg) if case.kind == "update" else None
    reqfile = datafile + ".rq"
    with open(reqfile, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(case.request)
    cmd = [sys.executable, "-m", "kg_engine", case.kind, "--db", url, "-f", reqfile]
    if case.kind == "query":
        cmd += ["--format", "json", "--timeout", str(timeout)]
    else:
        cmd += ["--timeout", str(timeout)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout + 60, check=False)
    except subprocess.TimeoutExpired:
        return ("hang", f"kg {case.kind} ran past {timeout + 60:g} s", "")
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        kind = "error" if proc.returncode == 2 and "Traceback" not in err else "bug"
        out = (kind, f"exit {proc.returncode}: {err.strip()[:600]}", err[-1500:])
        if case.kind == "update":
            with KnowledgeGraph(url) as kg:
                out += (_snapshot(kg) == before,)
        return out
    if case.kind == "update":
        with KnowledgeGraph(url) as kg:
            return ("ok", _snapshot(kg))
    doc = json.loads(proc.stdout)
    if "boolean" in doc:
        return ("ok", doc["boolean"])
    names = doc["head"]["vars"]
    return ("ok", (names, [tuple(_json_term(b.get(v)) for v in names)
                           for b in doc["results"]["bindings"]]))


def _ox_side(case: LimitCase, datafile: str) -> tuple:
    import pyoxigraph as ox

    store = ox.Store()
    fmt = ox.RdfFormat.N_TRIPLES if case.data_format == "nt" else ox.RdfFormat.TURTLE
    try:
        store.load(path=datafile, format=fmt)
    except Exception as exc:  # noqa: BLE001 - the reference rejects the data
        return ("reject", f"{type(exc).__name__}: {str(exc)[:300]}")
    try:
        if case.kind == "update":
            store.update(case.request)
            return ("ok", Counter(
                tuple(_norm_ox(x, labels=True) for x in (q.subject, q.predicate, q.object))
                + ((None if isinstance(q.graph_name, ox.DefaultGraph) else
                    _norm_ox(q.graph_name, labels=True)),) for q in store))
        res = store.query(case.request)
    except MemoryError as exc:  # its parser's 16 MiB buffer: no reference answer
        return ("failed", f"pyoxigraph: {type(exc).__name__}: {str(exc)[:300]}")
    except Exception as exc:  # noqa: BLE001 - the reference rejects the request
        return ("reject", f"{type(exc).__name__}: {str(exc)[:300]}")
    if isinstance(res, ox.QueryBoolean):
        return ("ok", bool(res))
    names = [v.value for v in res.variables]
    return ("ok", (names, [tuple(_norm_ox(s[v]) for v in names) for s in res]))


def _same(case: LimitCase, kg: Any, ox: Any) -> str | None:
    """None when the answers agree, else what differs."""
    if case.kind == "update":
        # blank nodes: compared by label-free shape (the cases insert none)
        if kg == ox:
            return None
        return (f"{sum(kg.values())} vs {sum(ox.values())} quads; kg-only "
                f"{_short(list((kg - ox).elements())[:3])} ox-only "
                f"{_short(list((ox - kg).elements())[:3])}")
    if isinstance(kg, bool) or isinstance(ox, bool):
        return None if kg == ox else f"kg={kg} ox={ox}"
    (kn, krows), (on, orows) = kg, ox
    if set(kn) != set(on):
        return f"variables differ: kg {len(kn)} {kn[:5]} ox {len(on)} {on[:5]}"
    perm = [on.index(v) for v in kn]
    orows = [tuple(r[i] for i in perm) for r in orows]
    if case.ordered:
        if krows == orows:
            return None
        first = next((i for i, (a, b) in enumerate(zip(krows, orows)) if a != b),
                     min(len(krows), len(orows)))
        return f"{len(krows)} vs {len(orows)} rows; first difference at row {first}"
    kc, oc = Counter(krows), Counter(orows)
    if kc == oc:
        return None
    return (f"{len(krows)} vs {len(orows)} rows; kg-only {_short(list((kc - oc).elements())[:3])}"
            f" ox-only {_short(list((oc - kc).elements())[:3])}")


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) < 300 else s[:300] + "…"


def _clear(message: str) -> bool:
    """A limit error must say what was too large/deep and what to do."""
    low = message.lower()
    return len(message) < 2000 and any(w in low for w in (
        "too many", "too large", "too long", "too deep", "limit", "exceed", "maximum", "not allowed",
        "cannot", "can't", "invalid", "not a valid", "surrogate", "nul"))


def run_case(case: LimitCase, url: str | Callable[[], str] = "sqlite://", path: str = "api",
             time_limit: float = 120.0, workdir: str | None = None) -> LimitOutcome:
    """Run ``case`` on kg-engine (``path``: ``"api"`` or ``"cli"``) and on pyoxigraph.

    Args:
        case: the case.
        url: the store's URL, or a factory of fresh URLs (PostgreSQL: a fresh schema per
            case); ``"sqlite://"`` with ``path="cli"`` becomes a file in ``workdir``.
        path: ``"api"`` (``KnowledgeGraph.query/update``) or ``"cli"`` (``kg query/update``).
        time_limit: seconds kg-engine may take (its own ``timeout=``); the child is killed
            at twice that (a hang).
        workdir: where the data and request files go (default: a temporary folder).

    Returns:
        The :class:`LimitOutcome`.
    """
    with tempfile.TemporaryDirectory(prefix="kg-limits-", dir=workdir) as tmp:
        datafile = os.path.join(tmp, "data" + _suffix(case))
        with open(datafile, "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(case.data)
        target = url() if callable(url) else url
        if path == "cli" and target == "sqlite://":
            target = f"sqlite:///{tmp}/kg.sqlite"
        runner = _kg_api if path == "api" else _kg_cli
        t0 = time.perf_counter()
        try:
            kg = _in_child(lambda: runner(case, target, datafile, time_limit), 2 * time_limit + 30)
        except TimeoutError:
            return LimitOutcome("hang", f"no answer within {2 * time_limit + 30:g} s",
                                time.perf_counter() - t0)
        except ReferencePanic as exc:
            return LimitOutcome("crash", str(exc), time.perf_counter() - t0)
        except RuntimeError as exc:  # the child could not pickle its answer
            return LimitOutcome("bug", f"child failed: {exc}", time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        try:
            ox = _in_child(lambda: _ox_side(case, datafile), 3 * time_limit)
        except (TimeoutError, ReferencePanic, RuntimeError) as exc:
            ox = ("failed", f"pyoxigraph failed: {exc}")
    return judge(case, kg, ox, seconds)


def judge(case: LimitCase, kg: tuple, ox: tuple, seconds: float = 0.0) -> LimitOutcome:
    """The outcome of kg-engine's result ``kg`` beside pyoxigraph's ``ox`` (see module doc)."""
    status = kg[0]
    if status == "hang":
        return LimitOutcome("hang", kg[1], seconds)
    if ox[0] == "failed":  # no reference answer: kg-engine's is not checked
        return LimitOutcome("unchecked" if status in ("ok", "error") else status, f"{ox[1]}; "
                            f"kg-engine: {status} {kg[1] if status != 'ok' else ''}"[:600], seconds)
    if status == "ok":
        if ox[0] != "ok":
            return LimitOutcome("differ", f"kg-engine answered; pyoxigraph rejects: {ox[1]}",
                                seconds)
        diff = _same(case, kg[1], ox[1])
        return LimitOutcome("agree" if diff is None else "differ", diff or "", seconds)
    detail, tb = kg[1], kg[2]
    if case.kind == "update" and len(kg) > 3 and not kg[3]:
        return LimitOutcome("store-changed", detail, seconds)
    if status.endswith("bug"):
        return LimitOutcome("bug", detail, seconds, {"traceback": tb})
    if "timeout" in detail.lower() and "QueryTimeoutError" in detail or "timeout of" in detail:
        return LimitOutcome("kg-timeout", detail, seconds)
    if ox[0] == "reject":
        return LimitOutcome("both-reject", f"{detail} | ox: {ox[1]}", seconds)
    if case.family == "failed-update":
        return LimitOutcome("both-reject", detail, seconds)
    if _clear(detail):
        return LimitOutcome("limit-error", detail, seconds)
    return LimitOutcome("unclear-error", detail, seconds)
