"""GRAPH ?g / GRAPH <g>, default graph = g 0 (not part of GRAPH ?g), DatasetSpec (FROM,
FROM NAMED, union)."""

from __future__ import annotations

import pytest
from rdflib import URIRef

from kg_engine.sparql.compiler import DatasetSpec, compile_query

from .conftest import assert_same

P = "PREFIX ex: <http://example.org/> "
EX = "http://example.org/"

QUERIES = [
    "SELECT ?g ?s ?o WHERE { GRAPH ?g { ?s ex:likes ?o } }",
    "SELECT ?s ?o WHERE { GRAPH ex:g1 { ?s ex:likes ?o } }",
    "SELECT ?s ?o WHERE { GRAPH ex:nope { ?s ex:likes ?o } }",
    "SELECT ?s ?o WHERE { ?s ex:likes ?o }",
    "SELECT ?g WHERE { GRAPH ?g { ?s ex:name ?o } }",
    "SELECT ?g ?s ?n WHERE { ?s ex:name ?n . GRAPH ?g { ?s ex:likes ?o } }",
    "SELECT ?g ?s ?o ?x WHERE { GRAPH ?g { ?s ex:likes ?o OPTIONAL { ?o ex:likes ?x } } }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?s WHERE { GRAPH ?g { ?s ex:likes ex:bob } FILTER(?g = ex:g2) }",
    # no triple pattern inside: the same solutions once per named graph
    "SELECT ?g ?x WHERE { GRAPH ?g { VALUES ?x { 1 2 } } }",
    "SELECT ?g WHERE { GRAPH ?g { } }",
    "SELECT ?g ?x WHERE { GRAPH ?g { BIND(1 AS ?x) FILTER(?x = 1) } }",
    "SELECT ?g ?s WHERE { GRAPH ?g { GRAPH ex:g2 { ?s ex:likes ex:bob } } }",
]


@pytest.mark.parametrize("q", QUERIES)
def test_graph_patterns(pair, oracle_semantics, q):
    assert_same(pair, P + q)


def _run(pair, q, spec):
    cq = compile_query(pair.store, P + q, dataset=spec)
    assert cq.full, cq.declined
    return sorted(map(tuple, cq.execute(pair.store)[1]))


def test_from_single_graph(pair):
    rows = _run(pair, "SELECT ?s ?o WHERE { ?s ex:likes ?o }", DatasetSpec(default=(URIRef(EX + "g1"),)))
    assert rows == sorted([(URIRef(EX + "alice"), URIRef(EX + "bob")), (URIRef(EX + "bob"), URIRef(EX + "carol"))])


def test_from_merge_deduplicates(pair):
    spec = DatasetSpec(default=(URIRef(EX + "g1"), URIRef(EX + "g2")))
    rows = _run(pair, "SELECT ?s ?o WHERE { ?s ex:likes ?o }", spec)
    # alice likes bob is in both graphs: the merge has it once
    assert len(rows) == 3 and len(set(rows)) == 3


def test_union_default_graph(pair):
    rows = _run(pair, "SELECT ?s WHERE { ?s ex:likes ex:bob }", DatasetSpec(default="union"))
    assert rows == [(URIRef(EX + "alice"),)]
    rows = _run(pair, "SELECT (COUNT(*) AS ?n) WHERE { ?s ex:name ?o }", DatasetSpec(default="union"))
    assert int(rows[0][0]) == 7


def test_from_named_restricts_graph_var(pair):
    spec = DatasetSpec(named=(URIRef(EX + "g2"),))
    rows = _run(pair, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", spec)
    assert rows == [(URIRef(EX + "g2"),)]
    rows = _run(pair, "SELECT ?s WHERE { GRAPH ex:g1 { ?s ?p ?o } }", spec)
    assert rows == []


def test_from_clause_in_query_text(pair):
    rows = _run(pair, "SELECT ?s ?o FROM ex:g2 WHERE { ?s ex:likes ?o }", None)
    assert len(rows) == 2
