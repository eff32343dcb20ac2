"""Shared fixtures: the same data in our SQLite store and in rdflib's in-memory Dataset
(the oracle, W3C dataset semantics: the default graph is not the union of named graphs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
import rdflib
import rdflib.plugins.sparql as rsparql
from rdflib import Dataset, Literal
from rdflib.namespace import XSD

from kg_engine.core.terms import exact_literals
from kg_engine.sparql.compiler import compile_query
from kg_engine.store import open_store

NUMERIC = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int, XSD.long}


@pytest.fixture
def oracle_semantics() -> Iterator[None]:
    saved = rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS
    rsparql.SPARQL_DEFAULT_GRAPH_UNION = False
    rsparql.SPARQL_LOAD_GRAPHS = False
    try:
        yield
    finally:
        rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS = saved


class Pair:
    """Our store and the oracle Dataset holding the same data."""

    def __init__(self, trig: str, url: str = "sqlite://") -> None:
        self.ds = Dataset()
        with exact_literals():
            self.ds.parse(data=trig, format="trig")
        self.store = open_store(url)
        for s, p, o, g in self.ds.quads((None, None, None, None)):
            gid = getattr(g, "identifier", g)
            graph = None if gid == rdflib.graph.DATASET_DEFAULT_GRAPH_ID else gid
            self.store.add([(s, p, o)], graph=graph)
        self.store.refresh_stats()

    def close(self) -> None:
        self.store.close()

    def ours(self, query: str, **kw):
        cq = compile_query(self.store, query, **kw)
        assert cq.full, f"declined: {cq.declined}"
        res = cq.execute(self.store)
        if cq.form == "ASK":
            return res
        vars_, rows = res
        return [str(v) for v in vars_], list(rows)

    def theirs(self, query: str):
        r = self.ds.query(query)
        if r.type == "ASK":
            return r.askAnswer
        return [str(v) for v in r.vars], [tuple(row) for row in r]


def norm_term(t):
    if isinstance(t, Literal) and t.datatype in NUMERIC:
        try:
            return ("num", Decimal(str(t.toPython())) if not isinstance(t.toPython(), float)
                    else Decimal(repr(t.toPython())).normalize())
        except Exception:  # noqa: BLE001
            return ("lit", str(t), t.datatype)
    if isinstance(t, Literal):
        return ("lit", str(t), t.datatype if t.datatype != XSD.string else None, t.language)
    return t


def norm_rows(vars_, rows, want_vars):
    idx = [vars_.index(v) if v in vars_ else None for v in want_vars]
    return [tuple(norm_term(r[i]) if i is not None else None for i in idx) for r in rows]


def assert_same(pair: Pair, query: str, ordered: bool = False, as_set: bool = False) -> list:
    ours = pair.ours(query)
    theirs = pair.theirs(query)
    if isinstance(theirs, bool):
        assert ours == theirs, query
        return []
    ov, orows = ours
    tv, trows = theirs
    want = [v for v in tv]
    a = norm_rows(ov, orows, want)
    b = norm_rows(tv, trows, want)
    if as_set:
        assert set(a) == set(b), f"{query}\nours:   {a}\ntheirs: {b}"
    elif ordered:
        assert a == b, f"{query}\nours:   {a}\ntheirs: {b}"
    else:
        assert Counter(a) == Counter(b), f"{query}\nours:   {sorted(map(repr, a))}\ntheirs: {sorted(map(repr, b))}"
    return orows


DATA = """
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:alice a ex:Person ; ex:name "Alice"@en ; ex:age 30 ; ex:knows ex:bob, ex:carol ; ex:worksFor ex:acme ;
    ex:email "alice@acme.org" .
ex:bob a ex:Person ; ex:name "Bob" ; ex:age 25 ; ex:knows ex:carol ; ex:worksFor ex:acme .
ex:carol a ex:Person ; ex:name "carol" ; ex:age "41.5"^^xsd:decimal ; ex:knows ex:dave ; ex:worksFor ex:initech .
ex:dave a ex:Person ; ex:name "Dave" ; ex:age "2.5e1"^^xsd:double ; ex:worksFor ex:initech ; ex:nick "D" .
ex:eve a ex:Person ; ex:name "Eve"@fr ; ex:worksFor ex:acme .
ex:acme a ex:Org ; ex:name "ACME" ; ex:industry "tools" ; ex:locatedIn ex:paris .
ex:initech a ex:Org ; ex:name "Initech" ; ex:locatedIn ex:berlin .
ex:paris ex:label "Paris" . ex:berlin ex:label "Berlin" .
ex:alice ex:score 7 . ex:bob ex:score 3 . ex:carol ex:score 7 .
ex:alice ex:born "1990-05-01T00:00:00Z"^^xsd:dateTime . ex:bob ex:born "1985-01-01T00:00:00Z"^^xsd:dateTime .
ex:bob ex:active true . ex:alice ex:active false .
ex:g1 { ex:alice ex:likes ex:bob . ex:bob ex:likes ex:carol . }
ex:g2 { ex:carol ex:likes ex:alice . ex:alice ex:likes ex:bob . }
"""


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    p = Pair(DATA)
    yield p
    p.close()
