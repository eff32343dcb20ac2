"""Differential testing of kg-engine's SPARQL at sizes that cross the engine's internal thresholds.

The grammar-based differential (:mod:`kg_engine.testing.differential`) runs on datasets of 40
statements, so no code path that switches at a size is exercised by it: decode batches of the
id → term cache, the SQL parameter limits, compound SELECT limits, long VALUES blocks as one
JSON parameter, long IN lists as set tests, expressions too long for SQL, streamed results.
This module

* reads the threshold constants from the product modules (:func:`thresholds`), so the sizes
  track the code;
* builds seeded, skewed datasets of a chosen :class:`Shape` (:func:`make_big_dataset`):
  integers with many ties, strings drawn from a Zipf-like law, language tags, many custom
  datatypes, integers whose sum passes 2^63, exact binary fractions, a long cycle and a hub,
  many named graphs, a long literal;
* generates size-targeted queries and updates just below, at and above each threshold
  (:func:`size_cases`), runs each on kg-engine (``KnowledgeGraph.query``, and for the plain
  SELECTs also the streamed path of ``kg serve``, :func:`kg_engine.serve.execution.run_query`)
  and on pyoxigraph (rdflib's evaluator as a second opinion where pyoxigraph is out of its
  depth: integers past 2^63), and compares the rows as bags — in ORDER BY order where the
  query has one, with the rows that tie at the cut of a LIMIT/OFFSET window compared by key;
* counts a query whose compiled SQL failed and was answered on rdflib's path as
  ``kg-fallback`` (the answer is still compared): a "too many SQL variables" is a finding
  even when the slow path gets the answer right;
* runs the existing generator's queries over the grammar's dataset grown by a seeded bulk of
  statements over the same vocabulary (:func:`run_generated`).

:func:`run` drives the templates and returns a :class:`~kg_engine.testing.differential.Report`;
``benchmarks/sparql_size_differential.py`` is the command line.

Example:
    >>> th = thresholds()
    >>> th["VALUES_INLINE_MAX"].value, around(th["VALUES_INLINE_MAX"].value)
    (64, [63, 64, 65])
    >>> trig = make_big_dataset(1, Shape.small())
    >>> "ex:c0 ex:next ex:c1 ." in trig
    True
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rdflib.namespace import XSD

from kg_engine.testing.differential import (
    NODES,
    PREDS,
    Case,
    Engines,
    Outcome,
    QueryGenerator,
    Report,
    _in_child,
    _key_cmp,
    _norm,
    _ordered,
    canonical_dataset,
    evaluate,
    make_dataset,
    ox_answer,
    rdflib_answer,
    rdflib_dataset,
    shrink,
)

__all__ = ["Shape", "SizeCase", "SizeEngines", "Threshold", "around", "compare_rows",
           "make_big_dataset", "run", "run_generated", "size_cases", "thresholds"]

EX = "http://example.org/"
PREFIXES = f"PREFIX ex: <{EX}> PREFIX xsd: <{XSD}> "


# -- thresholds ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """A size at which the engine switches code paths: its name, value and where it is set."""

    name: str
    value: int
    where: str


def thresholds() -> dict[str, Threshold]:
    """The engine's size thresholds, read from the modules that use them (SQLite's and
    PostgreSQL's parameter limits are the databases' own)."""
    from kg_engine.serve import streaming
    from kg_engine.sparql.compiler import bgp, decode, expressions, patterns
    from kg_engine.sparql.compiler import plan as plan_mod
    from kg_engine.sparql.rows import _RELAX_MIN_ROWS
    from kg_engine.store import dictionary

    stream_batch = plan_mod.CompiledQuery.stream.__defaults__[0]  # type: ignore[index]
    found = [
        ("VALUES_INLINE_MAX", patterns.VALUES_INLINE_MAX, "sparql/compiler/patterns.py"),
        ("COMPOUND_MAX", patterns.COMPOUND_MAX, "sparql/compiler/patterns.py"),
        ("SQLITE_MAX_COMPOUND_SELECT", 500, "SQLite"),
        ("DECODE_CHUNK", decode._CHUNK, "sparql/compiler/decode.py"),
        ("DECODE_PG_CHUNK", decode._PG_CHUNK, "sparql/compiler/decode.py"),
        ("DICTIONARY_CHUNK", dictionary._CHUNK, "store/dictionary.py"),
        ("IN_SET_MIN", expressions._IN_SET_MIN, "sparql/compiler/expressions.py"),
        ("EXPR_SQL_MAX", expressions.EXPR_SQL_MAX, "sparql/compiler/expressions.py"),
        ("COUNT_CAP", bgp._COUNT_CAP, "sparql/compiler/bgp.py"),
        ("STREAM_BATCH", stream_batch, "sparql/compiler/plan.py CompiledQuery.stream"),
        ("RELAX_MIN_ROWS", _RELAX_MIN_ROWS, "sparql/rows.py"),
        ("SERVE_INLINE_BYTES", streaming.INLINE_BYTES, "serve/streaming.py"),
        ("SQLITE_MAX_VARIABLE_NUMBER", 32_766, "SQLite >= 3.32"),
        ("SQLITE_MAX_EXPR_DEPTH", 1_000, "SQLite"),
        ("SQLITE_MAX_JOIN_TABLES", 64, "SQLite"),
        ("PG_MAX_PARAMETERS", 65_535, "PostgreSQL wire protocol"),
    ]
    return {n: Threshold(n, int(v), w) for n, v, w in found}


def around(value: int) -> list[int]:
    """The sizes just below, at and just above a threshold.

    >>> around(900)
    [899, 900, 901]
    """
    return [value - 1, value, value + 1]


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """How large each part of a generated dataset is."""

    entities: int = 3_000  # ex:e0.. with ex:val, ex:name, ex:kind, ex:link, ex:dt
    ties: int = 97  # distinct ex:val values (ORDER BY ties)
    names: int = 500  # distinct ex:name strings (Zipf-like use)
    datatypes: int = 1_000  # distinct custom datatypes of ex:dt literals
    cycle: int = 1_000  # ex:c0 -> ex:c1 -> ... -> ex:c0 over ex:next
    graphs: int = 200  # named graphs ex:g0..
    bigints: int = 300  # integers near 2^62 on ex:big (their sum passes 2^63)
    long_chars: int = 300_000  # one literal this long (and one of a tenth)

    @staticmethod
    def small() -> Shape:
        """The smallest shape whose parts still cross each threshold the CI test checks."""
        return Shape(entities=2_100, names=300, datatypes=950, cycle=600, graphs=80,
                     bigints=4, long_chars=270_000)

    @staticmethod
    def large() -> Shape:
        """A shape past the PostgreSQL decode batch and the SQLite parameter limit."""
        return Shape(entities=52_000, names=5_000, datatypes=33_000, cycle=10_000,
                     graphs=2_000, bigints=300, long_chars=1_000_000)


def _zipf(rng: random.Random, n: int) -> int:
    """An index in ``[0, n)``, small ones far more often (skewed data)."""
    return min(n - 1, int(n ** rng.random()) - 1)


def make_big_dataset(seed: int, shape: Shape) -> str:
    """A TriG document of the given shape (see :class:`Shape`), deterministic in ``seed``."""
    rng = random.Random(seed)
    out = [f"@prefix ex: <{EX}> .", f"@prefix xsd: <{XSD}> ."]
    n = shape.entities
    for i in range(n):
        name = f'"s{_zipf(rng, shape.names)}"'
        if i % 7 == 0:
            name += "@en"
        quarter = rng.randrange(-400, 400) / 4  # exact in binary: float sums in any order
        out.append(f"ex:e{i} ex:val {rng.randrange(shape.ties)} ; ex:name {name} ; "
                   f"ex:kind ex:k{_zipf(rng, 20)} ; ex:link ex:e{_zipf(rng, n)} ; "
                   f'ex:dt "v{i % 50}"^^ex:dt{i % shape.datatypes} ; '
                   f'ex:q "{quarter}"^^xsd:double .')
    for i in range(shape.cycle):
        out.append(f"ex:c{i} ex:next ex:c{(i + 1) % shape.cycle} .")
    for i in range(shape.bigints):
        out.append(f"ex:big ex:num {2 ** 62 + rng.randrange(1000)} .")
    out.append(f'ex:long ex:text "{"ab" * (shape.long_chars // 2)}" .')
    out.append(f'ex:long ex:text "{"xé" * (shape.long_chars // 20)}z"@en .')
    for g in range(shape.graphs):
        members = " ".join(f"ex:e{(g * 13 + j) % n} ex:in ex:g{g} ." for j in range(1 + g % 3))
        out.append(f"ex:g{g} {{ {members} ex:g{g} ex:size {1 + g % 3} . }}")
    return "\n".join(out) + "\n"


# -- cases --------------------------------------------------------------------------------------
@dataclass
class SizeCase:
    """A size-targeted query (or update, with the query that reads its effect)."""

    name: str
    size: int
    threshold: str
    text: str
    order: list[tuple[str, bool]] = field(default_factory=list)  # (variable, descending)
    limited: bool = False
    offset: bool = False
    update: str | None = None  # run first (on both engines), then ``text`` compares the effect
    undo: str | None = None  # run after the comparison (on both engines)
    stream: bool = False  # also compare kg serve's streamed rows
    reference: str = "ox"  # "ox" or "rdflib" (pyoxigraph cannot: integers past 2^63)

    def render(self) -> str:
        return self.text

    @property
    def label(self) -> str:
        return f"{self.name}[{self.size}]"


def size_cases(shape: Shape, th: dict[str, Threshold] | None = None, *,
               big: bool = False) -> list[SizeCase]:
    """The size-targeted cases for a dataset of ``shape``, at sizes around each threshold of
    ``th`` (default :func:`thresholds`); ``big``: also the sizes past the parameter limits
    and the PostgreSQL decode batch (tens of thousands: for the benchmark)."""
    th = th or thresholds()
    P = PREFIXES
    n = shape.entities
    cases: list[SizeCase] = []

    def add(*args: Any, **kw: Any) -> None:
        cases.append(SizeCase(*args, **kw))

    v = th["VALUES_INLINE_MAX"].value
    values_sizes = around(v) + ([32_767, 40_000] if big else [])
    for k in values_sizes:
        rows = " ".join(f"ex:e{j % n}" for j in range(k))
        add("values-join", k, "VALUES_INLINE_MAX", P + f"SELECT ?s ?o WHERE {{ VALUES ?s {{ {rows} }} "
            "?s ex:val ?o }", stream=True)
        rows = " ".join(f"(ex:e{j % n} {j % shape.ties})" if j % 3 else f"(UNDEF {j % shape.ties})"
                        for j in range(k))
        add("values-undef", k, "VALUES_INLINE_MAX", P + "SELECT ?s ?o WHERE { ?s ex:val ?o "
            f"VALUES (?s ?o) {{ {rows} }} }}")
        rows = " ".join(f'("s{j}" {j})' for j in range(k))  # constants the store does not hold
        add("values-unknown", k, "VALUES_INLINE_MAX", P + "SELECT ?x (COUNT(*) AS ?c) WHERE { "
            f"VALUES (?x ?y) {{ {rows} }} }} GROUP BY ?x HAVING(COUNT(*) > 0)")
    for name in ("COMPOUND_MAX", "SQLITE_MAX_COMPOUND_SELECT"):
        for k in around(th[name].value):
            u = " UNION ".join(f"{{ ?s ex:val {j % shape.ties} BIND({j} AS ?b) }}" for j in range(k))
            add("union", k, name, P + f"SELECT ?b (COUNT(*) AS ?c) WHERE {{ {u} }} GROUP BY ?b")
    for k in around(th["SQLITE_MAX_JOIN_TABLES"].value):
        pats = " ".join(f"?x{j} ex:next ?x{j + 1} ." for j in range(k))
        add("bgp-chain", k, "SQLITE_MAX_JOIN_TABLES", P + "SELECT (COUNT(*) AS ?c) WHERE { "
            f"VALUES ?x0 {{ ex:c0 ex:c5 }} {pats} }}")
    for k in around(th["SQLITE_MAX_EXPR_DEPTH"].value):
        conj = " && ".join(f"?s != ex:e{j * 2}" for j in range(k))
        add("deep-and", k, "SQLITE_MAX_EXPR_DEPTH", P + f"SELECT ?s WHERE {{ ?s ex:val ?o FILTER({conj}) }}")
        disj = " || ".join(f"?s = ex:e{j * 3}" for j in range(k))
        add("deep-or", k, "SQLITE_MAX_EXPR_DEPTH", P + f"SELECT ?s WHERE {{ ?s ex:val ?o FILTER({disj}) }}")
    for k in (4, 16):  # a numeric comparison is ~3,000 characters of SQL (exactness guards)
        conj = " && ".join(f"?o != {j + shape.ties // 2}" for j in range(k))
        add("and-numeric", k, "EXPR_SQL_MAX", P + f"SELECT ?s WHERE {{ ?s ex:val ?o FILTER({conj}) }}")
    for k in around(th["IN_SET_MIN"].value) + around(th["DICTIONARY_CHUNK"].value):
        thr = "IN_SET_MIN" if k < 100 else "DICTIONARY_CHUNK"
        iris = ", ".join(f"ex:e{j * 3 % n}" if j % 2 else f"ex:absent{j}" for j in range(k))
        add("in-iris", k, thr, P + f"SELECT ?s ?o WHERE {{ ?s ex:link ?o FILTER(?o IN ({iris})) }}")
        mixed = ", ".join(f'"s{j}"@en' if j % 3 == 0 else (f'"s{j}"' if j % 3 == 1 else str(j))
                          for j in range(k))
        add("in-mixed", k, thr, P + f"SELECT ?s WHERE {{ ?s ex:name ?o FILTER(?o NOT IN ({mixed})) }}")
    # long IN lists whose members each compile to their own comparison: past EXPR_SQL_MAX
    for k in (200, 2_000) + ((33_000,) if big else ()):
        tagged = ", ".join(f'"s{j}"@en' for j in range(k))
        add("in-tagged", k, "EXPR_SQL_MAX", P + f"SELECT ?s WHERE {{ ?s ex:name ?o FILTER(?o IN ({tagged})) }}")
    for name in ("DECODE_CHUNK", "STREAM_BATCH", "RELAX_MIN_ROWS") + (("DECODE_PG_CHUNK",) if big else ()):
        for k in around(th[name].value):
            if k > n:
                continue
            add("rows", k, name, P + f"SELECT ?s ?o ?d WHERE {{ ?s ex:dt ?d ; ex:val ?o }} "
                f"ORDER BY ?o ?d ?s LIMIT {k}", order=[("o", False), ("d", False), ("s", False)],
                limited=True, stream=True)
    add("datatypes", shape.datatypes, "DECODE_CHUNK", P + "SELECT DISTINCT ?d WHERE { ?s ex:dt ?d }",
        stream=True)
    add("all-rows", n, "RELAX_MIN_ROWS", P + "SELECT * WHERE { ?s ex:name ?o ; ex:kind ?k }",
        stream=True)
    k = th["RELAX_MIN_ROWS"].value // n + 1  # a product past the collector's threshold
    add("rows-product", k * n, "RELAX_MIN_ROWS", P + "SELECT ?s ?o ?i WHERE { ?s ex:val ?o "
        f"VALUES ?i {{ {' '.join(map(str, range(k)))} }} }}", stream=True)
    add("count-cap", n, "COUNT_CAP", P + "SELECT ?s ?k WHERE { ?s ex:kind ?k ; ex:link ?t . "
        "?t ex:kind ex:k0 ; ex:val 0 }")
    # ORDER BY over many ties, windows cut inside a tie
    for lim, off in ((10, 0), (10, n // 2 - 3), (n // 3, 17), (5, n - 2), (10, n + 5)):
        add("order-ties", lim, "LIMIT/OFFSET", P + "SELECT ?s ?o WHERE { ?s ex:val ?o } "
            f"ORDER BY DESC(?o) LIMIT {lim} OFFSET {off}", order=[("o", True)], limited=True,
            offset=off > 0)
    add("distinct-order", n, "LIMIT/OFFSET", P + "SELECT DISTINCT ?o WHERE { ?s ex:name ?o } "
        "ORDER BY ?o OFFSET 3", order=[("o", False)], limited=True, offset=True)
    # aggregates over many rows
    add("group-concat", n, "many values", P + "SELECT ?k (STRLEN(GROUP_CONCAT(STR(?o); "
        'SEPARATOR=",")) AS ?len) (COUNT(?o) AS ?c) WHERE { ?s ex:kind ?k ; ex:name ?o } GROUP BY ?k')
    add("group-concat-all", n, "many values", P + "SELECT (STRLEN(GROUP_CONCAT(?o)) AS ?len) "
        "WHERE { ?s ex:name ?o }")
    add("sum-float", n, "many values", P + "SELECT ?k (SUM(?q) AS ?s) (AVG(?q) AS ?a) (MIN(?q) AS ?lo) "
        "(MAX(?q) AS ?hi) WHERE { ?e ex:kind ?k ; ex:q ?q } GROUP BY ?k")
    add("sum-int", n, "many values", P + "SELECT (SUM(?v) AS ?s) (COUNT(DISTINCT ?v) AS ?d) "
        "(AVG(?v) AS ?a) WHERE { ?e ex:val ?v }")
    add("sum-overflow", shape.bigints, "2^63", P + "SELECT (SUM(?v) AS ?s) (COUNT(?v) AS ?c) "
        "(MAX(?v) AS ?m) WHERE { ex:big ex:num ?v }", reference="rdflib")
    add("avg-overflow", shape.bigints, "2^63", P + "SELECT (AVG(?v) AS ?a) (MIN(?v) + MAX(?v) AS ?t) "
        "WHERE { ex:big ex:num ?v }", reference="rdflib")
    add("groups", n, "many groups", P + "SELECT ?o (COUNT(*) AS ?c) (SAMPLE(?s) AS ?x) WHERE { "
        "?s ex:name ?o } GROUP BY ?o HAVING (COUNT(*) > 1) ORDER BY DESC(?c) ?o",
        order=[("c", True), ("o", False)])
    # property paths over the cycle and the skewed links
    c = shape.cycle
    add("path-plus", c, "cycle", P + "SELECT (COUNT(?x) AS ?n) WHERE { ex:c0 ex:next+ ?x }")
    add("path-star-rev", c, "cycle", P + "SELECT ?x WHERE { ?x ex:next* ex:c3 }", stream=True)
    add("path-seq", c, "cycle", P + "SELECT ?x ?y WHERE { ?x ex:next/ex:next/^ex:next ?y }")
    add("path-both-bound", c, "cycle", P + f"ASK {{ ex:c{c // 2} ex:next+ ex:c{c // 3} }}")
    add("path-links", n, "hub", P + "SELECT (COUNT(*) AS ?n) WHERE { ?x ex:link+ ex:e0 }")
    add("path-free", min(c, 300), "cycle", P + "SELECT (COUNT(*) AS ?n) WHERE { ?x ex:next+ ?y "
        f"FILTER(?x IN ({', '.join(f'ex:c{j}' for j in range(0, c, max(1, c // 20)))})) }}")
    # many named graphs
    g = shape.graphs
    add("graphs", g, "many graphs", P + "SELECT ?g ?s WHERE { GRAPH ?g { ?s ex:in ?g } }", stream=True)
    add("graphs-path", g, "many graphs", P + "SELECT ?g ?x WHERE { GRAPH ?g { ?x ex:in+ ?g } }")
    for k in sorted({min(g, 50), g}):
        frm = " ".join(f"FROM ex:g{j}" for j in range(k))
        add("from", k, "many graphs", P + f"SELECT ?s ?z {frm} WHERE {{ ?s ex:in ?x . ?x ex:size ?z }}")
        frm = " ".join(f"FROM NAMED ex:g{j}" for j in range(0, 2 * k, 2))
        add("from-named", k, "many graphs", P + f"SELECT ?g ?s {frm} WHERE {{ GRAPH ?g {{ ?s ex:in ?g }} }}")
    # a long literal
    add("long-literal", shape.long_chars, "SERVE_INLINE_BYTES", P + "SELECT ?o (STRLEN(?o) AS ?l) "
        "(SUBSTR(?o, 3, 5) AS ?t) (UCASE(SUBSTR(?o, STRLEN(?o) - 3)) AS ?e) (CONTAINS(?o, \"bz\") AS ?z) "
        "(STRENDS(?o, \"z\") AS ?y) (REGEX(?o, \"é+z$\") AS ?r) WHERE { ex:long ex:text ?o }", stream=True)
    add("long-literal-eq", shape.long_chars, "SERVE_INLINE_BYTES", P + "SELECT ?s WHERE { ?s ex:text ?o "
        f'FILTER(?o = "{"ab" * (shape.long_chars // 2)}") }}')
    # updates: many triples in one request, the effect read back
    for k in sorted({1_000, th["DICTIONARY_CHUNK"].value + 1} | ({11_000, 33_000} if big else set())):
        data = " ".join(f'ex:u{j} ex:w "w{j}", {j} .' for j in range(k))
        read = P + "SELECT ?s ?o WHERE { GRAPH ex:upd { ?s ex:w ?o } }"
        add("insert-data", k, "DICTIONARY_CHUNK", read, update=P + f"INSERT DATA {{ GRAPH ex:upd {{ {data} }} }}",
            undo=P + "DROP SILENT GRAPH ex:upd")
        half = " ".join(f'ex:u{j} ex:w "w{j}" .' for j in range(0, k, 2))
        add("delete-data", k, "DICTIONARY_CHUNK", read,
            update=P + f"INSERT DATA {{ GRAPH ex:upd {{ {data} }} }} ; "
                       f"DELETE DATA {{ GRAPH ex:upd {{ {half} }} }}",
            undo=P + "DROP SILENT GRAPH ex:upd")
    add("insert-where", n, "many rows", P + "SELECT ?s ?o WHERE { GRAPH ex:upd { ?s ex:w ?o } }",
        update=P + "INSERT { GRAPH ex:upd { ?s ex:w ?o } } WHERE { ?s ex:val ?o FILTER(?o < 50) }",
        undo=P + "DROP SILENT GRAPH ex:upd")
    add("delete-where", n, "many rows", P + "SELECT (COUNT(*) AS ?c) WHERE { ?s ex:val ?o }",
        update=P + "DELETE WHERE { ?s ex:val 3 }", undo=None)
    return cases


# -- engines ------------------------------------------------------------------------------------
class _FallbackSeen(logging.Handler):
    """Counts the engine's "compiled SQL failed … evaluating with rdflib" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "rdflib" in msg and "failed" in msg:
            self.messages.append(msg)


class SizeEngines:
    """kg-engine (``KnowledgeGraph`` on ``url``), pyoxigraph and (lazily) rdflib, loaded with
    the same TriG document. Close it after use."""

    def __init__(self, trig: str, url: str = "sqlite://", ox_timeout: float = 120.0) -> None:
        import pyoxigraph as ox

        from kg_engine.api import KnowledgeGraph

        self.trig = trig
        self.kg = KnowledgeGraph(url)
        fd, path = tempfile.mkstemp(suffix=".trig")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(trig)
            self.kg.load(path, format="trig")
        finally:
            os.unlink(path)
        self.ox = ox.Store()
        self.ox.load(trig.encode(), ox.RdfFormat.TRIG)
        self.ox_timeout = ox_timeout
        self._rdflib: Any = None
        self.fallbacks = _FallbackSeen()
        logging.getLogger("kg_engine").addHandler(self.fallbacks)

    def close(self) -> None:
        logging.getLogger("kg_engine").removeHandler(self.fallbacks)
        self.kg.close()

    def kg_query(self, text: str, timeout: float) -> Any:
        res = self.kg.query(text, timeout=timeout)
        if res.type == "ASK":
            return bool(res.askAnswer)
        return [str(v) for v in res.vars], [tuple(_norm(t) for t in row) for row in res]

    def kg_stream(self, text: str, timeout: float) -> Any:
        """The rows ``kg serve`` streams for ``text`` (its own execution path)."""
        from kg_engine.serve.execution import run_query

        with self.kg.store.db.snapshot():  # as the server's reader lease does
            out = run_query(self.kg, text, timeout=timeout)
            assert out.rows is not None
            rows = [tuple(_norm(t) for t in row) for row in out.rows]
        return [str(v) for v in out.vars], rows, out.streamed

    def kg_update(self, text: str, timeout: float) -> None:
        self.kg.update(text, timeout=timeout)

    def ox_query(self, text: str) -> Any:
        # in a child: a Rust panic or a runaway query ends the child, not the run
        return _in_child(lambda: self._ox_query(text), timeout=self.ox_timeout)

    def _ox_query(self, text: str) -> Any:
        return ox_answer(self.ox, text)

    def ox_update(self, text: str) -> None:
        self.ox.update(text)

    def rdflib_query(self, text: str) -> Any:
        if self._rdflib is None:
            self._rdflib = rdflib_dataset(self.trig)
        return rdflib_answer(self._rdflib, text)


# -- comparison ---------------------------------------------------------------------------------
def _short(rows: Any) -> str:
    return repr(sorted(rows, key=repr)[:3])[:400]


def compare_rows(case: SizeCase, got: Any, ref: Any) -> Outcome:
    """Compare kg-engine's answer ``got`` with the reference's ``ref`` (both ``(names, rows)``
    or a boolean): bags of rows; in ORDER BY order where the case has keys; with a LIMIT/OFFSET
    window, the rows whose keys tie at a cut are compared by key only.

    >>> c = SizeCase("t", 2, "x", "", order=[("o", False)], limited=True)
    >>> lit = lambda v: ("lit", v, None, "")
    >>> compare_rows(c, (["s", "o"], [("a", lit("1")), ("b", lit("2"))]),
    ...              (["o", "s"], [(lit("1"), "a"), (lit("2"), "c")])).status
    'agree'
    >>> compare_rows(c, (["s", "o"], [("b", lit("2")), ("a", lit("1"))]),
    ...              (["o", "s"], [(lit("1"), "a"), (lit("2"), "b")])).status
    'differ'
    """
    if isinstance(got, bool) or isinstance(ref, bool):
        return Outcome("agree" if got == ref else "differ", f"kg={got} ref={ref}")
    kn, krows = got
    rn, rrows = ref
    if set(kn) != set(rn):
        return Outcome("differ", f"variables kg={kn} ref={rn}")
    perm = [rn.index(v) for v in kn]
    rrows = [tuple(r[i] for i in perm) for r in rrows]
    idx = [(kn.index(v), d) for v, d in case.order if v in kn]
    if idx and not _ordered(krows, idx):
        return Outcome("differ", "kg-engine's rows are not in ORDER BY order")
    if len(krows) != len(rrows):
        kc, rc = Counter(krows), Counter(rrows)
        return Outcome("differ", f"{len(krows)} rows vs {len(rrows)}; kg-only={_short((kc - rc).elements())} "
                                 f"ref-only={_short((rc - kc).elements())}")
    if case.limited and idx and krows:
        def key(r: tuple) -> tuple:
            return tuple(r[i] for i, _ in idx)
        edges = {key(krows[-1])} | ({key(krows[0])} if case.offset else set())
        if Counter(map(key, krows)) != Counter(map(key, rrows)):
            return Outcome("differ", "the window holds other keys: kg="
                                     f"{_short(set(map(key, krows)))} ref={_short(set(map(key, rrows)))}")
        krows = [r for r in krows if key(r) not in edges]
        rrows = [r for r in rrows if key(r) not in edges]
    kc, rc = Counter(krows), Counter(rrows)
    if kc == rc:
        return Outcome("agree")
    return Outcome("differ", f"{len(krows)} rows each; kg-only={_short((kc - rc).elements())} "
                             f"ref-only={_short((rc - kc).elements())}")


def _ties_unordered(rows: list[tuple], idx: list[tuple[int, bool]]) -> bool:
    """Whether some key values of ``rows`` are not ordered by the spec (blank nodes)."""
    keys = {tuple(r[i] for i, _ in idx) for r in rows}
    return any(_key_cmp(a[j], b[j]) is None for a in keys for b in keys for j in range(len(idx)))


def _second_opinion(engines: SizeEngines, case: SizeCase, got: Any, res: Outcome) -> Outcome:
    """``majority:kg`` where rdflib's evaluator agrees with kg-engine (pyoxigraph's limits:
    decimals of 18 fractional digits, integers within 64 bits); reported, not agreement."""
    try:
        if compare_rows(case, got, engines.rdflib_query(case.text)).status == "agree":
            return Outcome("majority:kg", res.detail + " (rdflib agrees with kg-engine)")
    except Exception as exc:  # noqa: BLE001 - no second opinion
        res.detail += f" (rdflib raised {type(exc).__name__})"
    return res


# -- driver -------------------------------------------------------------------------------------
def check(engines: SizeEngines, case: SizeCase, timeout: float = 120.0) -> list[tuple[str, Outcome]]:
    """Run ``case`` (its update first, on both engines) and compare: ``("api", outcome)`` and,
    for a case marked ``stream``, ``("serve", outcome)`` for kg serve's streamed rows."""
    from kg_engine.errors import QueryTimeoutError

    out: list[tuple[str, Outcome]] = []
    seen = len(engines.fallbacks.messages)
    try:
        if case.update:
            try:
                engines.ox_update(case.update)
            except Exception as exc:  # noqa: BLE001 - the reference declines: not comparable
                return [("api", Outcome("ox-error", f"update: {type(exc).__name__}: {exc}"))]
            try:
                engines.kg_update(case.update, timeout)
            except Exception as exc:  # noqa: BLE001 - every exception is a finding
                return [("api", Outcome("kg-error", f"update: {type(exc).__name__}: {str(exc)[:300]}"))]
        try:
            ref = engines.rdflib_query(case.text) if case.reference == "rdflib" else \
                engines.ox_query(case.text)
        except Exception as exc:  # noqa: BLE001
            return [("api", Outcome("ox-error", f"{type(exc).__name__}: {str(exc)[:300]}"))]
        paths: list[tuple[str, Callable[[], Any]]] = [("api", lambda: engines.kg_query(case.text, timeout))]
        if case.stream:
            paths.append(("serve", lambda: engines.kg_stream(case.text, timeout)[:2]))
        for name, fn in paths:
            try:
                got = fn()
            except QueryTimeoutError as exc:
                out.append((name, Outcome("kg-timeout", str(exc))))
                continue
            except Exception as exc:  # noqa: BLE001 - every exception is a finding
                out.append((name, Outcome("kg-error", f"{type(exc).__name__}: {str(exc)[:300]}")))
                continue
            res = compare_rows(case, got, ref)
            if res.status == "differ" and case.reference == "ox":
                res = _second_opinion(engines, case, got, res)
            if res.status == "differ" and case.order and isinstance(got, tuple) and \
                    _ties_unordered(got[1], [(got[0].index(v), d) for v, d in case.order if v in got[0]]):
                res = Outcome("agree", "keys the spec does not order")
            out.append((name, res))
    finally:
        if case.undo:
            engines.ox_update(case.undo)
            engines.kg_update(case.undo, timeout)
    fell = engines.fallbacks.messages[seen:]
    if fell:
        out = [(n, Outcome("kg-fallback", f"{o.status}; {fell[0][:300]}") if o.status == "agree" else o)
               for n, o in out]
    return out


def run(seed: int, *, url: str | Callable[[], str] = "sqlite://", shape: Shape | None = None,
        big: bool = False, timeout: float = 120.0, only: str | None = None,
        progress: Callable[[SizeCase, str, Outcome, float], None] | None = None) -> Report:
    """Load :func:`make_big_dataset` of ``shape`` (default :meth:`Shape.small`) from ``seed``,
    run every :func:`size_cases` case (``only``: those whose name contains it) on kg-engine
    (``url``) and the reference, and report (one count per path: ``api`` and ``serve``)."""
    shape = shape or Shape.small()
    report = Report()
    engines = SizeEngines(make_big_dataset(seed, shape), url=url() if callable(url) else url,
                          ox_timeout=timeout)
    try:
        for case in size_cases(shape, big=big):
            if only and only not in case.name:
                continue
            t0 = time.process_time()
            results = check(engines, case, timeout)
            for path, out in results:
                report.queries += 1
                report.counts[out.status] += 1
                if progress is not None:
                    progress(case, path, out, time.process_time() - t0)
                if out.status not in ("agree",) and not out.status.startswith("deviation"):
                    report.failures.append({"status": out.status, "case": case.label, "path": path,
                                            "threshold": case.threshold, "detail": out.detail,
                                            "query": case.text[:2000], "update": (case.update or "")[:500],
                                            "dataset_seed": seed})
    finally:
        engines.close()
    return report


# -- the grammar's queries over a grown dataset -------------------------------------------------
def grow_dataset(trig: str, seed: int, extra: int) -> str:
    """The differential's dataset plus ``extra`` seeded statements over its vocabulary
    (``ex:n0``.. ``ex:p3``; subjects and objects from a Zipf-like law over ``extra // 4``
    nodes, so ``ex:n0``–``ex:n5`` stay hubs; canonical literals only)."""
    rng = random.Random(seed * 7_368_787 + 23)
    nodes = max(len(NODES), extra // 4)
    lines = []
    for _ in range(extra):
        s = f"ex:n{_zipf(rng, nodes)}"
        r = rng.random()
        o = f"ex:n{_zipf(rng, nodes)}" if r < 0.5 else (
            str(rng.randrange(-50, 50)) if r < 0.75 else f'"t{_zipf(rng, 200)}"' + ("@en" if r > 0.95 else ""))
        lines.append(f"{s} {rng.choice(PREDS)} {o} .")
    head, _, rest = trig.partition("\nex:g1 {")
    return head + "\n" + "\n".join(sorted(set(lines))) + "\nex:g1 {" + rest


class _TimedEngines(Engines):
    """The differential's engines, pyoxigraph in a forked child with a time limit (a join of
    the grown data can run long)."""

    ox_timeout = 60.0

    def run_ox(self, text: str) -> Any:
        return _in_child(lambda: self._run_ox(text), timeout=self.ox_timeout)


def run_generated(seed: int, queries: int, *, url: str | Callable[[], str] = "sqlite://",
                  extra: int = 2_000, datasets: int = 1, timeout: float = 30.0,
                  shrink_failures: bool = True,
                  progress: Callable[[int, Outcome], None] | None = None) -> Report:
    """The existing generator's queries (:class:`~kg_engine.testing.differential.QueryGenerator`)
    over its dataset grown by ``extra`` statements (:func:`grow_dataset`), compared as
    :func:`kg_engine.testing.differential.evaluate` does (with its documented deviations)."""
    report = Report()
    per = max(1, queries // datasets)
    for d in range(datasets):
        dseed = seed * 1000 + d
        trig = grow_dataset(make_dataset(dseed), dseed, extra)
        engines = _TimedEngines(trig, url=url() if callable(url) else url)
        canonical = _TimedEngines(canonical_dataset(trig), url=url() if callable(url) else url)
        engines.ox_timeout = canonical.ox_timeout = 2 * timeout
        try:
            gen = QueryGenerator(dseed)
            for _ in range(per if d < datasets - 1 else queries - per * (datasets - 1)):
                case = gen.query()
                out = evaluate(engines, case, timeout, canonical)
                report.queries += 1
                report.counts[out.status] += 1
                if progress is not None:
                    progress(report.queries, out)
                if out.status in ("differ", "kg-error", "kg-timeout", "majority:kg"):
                    entry: dict[str, Any] = {"status": out.status, "query": case.render(),
                                             "detail": out.detail, "dataset_seed": dseed}
                    if shrink_failures and len(report.failures) < 20:
                        status = out.status

                        def fails(c: Case, status: str = status, e: Engines = engines,
                                  canon: Engines = canonical) -> bool:
                            return evaluate(e, c, timeout, canon).status == status
                        entry["shrunk"] = shrink(case, fails, budget=100).render()
                    report.failures.append(entry)
        finally:
            engines.close()
            canonical.close()
    return report

