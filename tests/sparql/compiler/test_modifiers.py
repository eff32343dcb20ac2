"""ORDER BY (SPARQL ordering of mixed terms), DISTINCT, REDUCED, LIMIT/OFFSET, projection."""

from __future__ import annotations

import pytest
from rdflib import BNode, Literal, URIRef

from .conftest import Pair, assert_same

P = "PREFIX ex: <http://example.org/> "

ORDERED = [
    "SELECT ?s ?a WHERE { ?s ex:score ?a } ORDER BY ?a ?s",
    "SELECT ?s ?a WHERE { ?s ex:score ?a } ORDER BY DESC(?a) ?s",
    "SELECT ?s ?a WHERE { ?s ex:age ?a } ORDER BY ?a ?s",
    "SELECT ?s WHERE { ?s a ex:Person } ORDER BY ?s LIMIT 2",
    "SELECT ?s WHERE { ?s a ex:Person } ORDER BY ?s LIMIT 2 OFFSET 2",
    "SELECT ?s WHERE { ?s a ex:Person } ORDER BY DESC(?s) OFFSET 3",
    "SELECT DISTINCT ?o WHERE { ?s ex:worksFor ?o } ORDER BY ?o",
    "SELECT ?s ?a WHERE { ?s ex:score ?a } ORDER BY (?a * -1) ?s",
    "SELECT ?s ?e WHERE { ?s a ex:Person OPTIONAL { ?s ex:email ?e } } ORDER BY ?e ?s",
    "SELECT ?n WHERE { ?s ex:label ?n } ORDER BY str(?n)",
]

UNORDERED = [
    "SELECT DISTINCT ?o WHERE { ?s ex:worksFor ?o }",
    "SELECT REDUCED ?o WHERE { ?s ex:worksFor ?o }",
    "SELECT DISTINCT ?s ?o WHERE { ?s ex:knows ?x . ?s ex:worksFor ?o }",
    "SELECT ?o WHERE { ?s ex:worksFor ?o }",
]


@pytest.mark.parametrize("q", ORDERED)
def test_ordered(pair, oracle_semantics, q):
    assert_same(pair, P + q, ordered=True)


@pytest.mark.parametrize("q", UNORDERED)
def test_unordered(pair, oracle_semantics, q):
    rows = assert_same(pair, P + q)
    if "DISTINCT" in q or "REDUCED" in q:
        assert len(rows) == len(set(rows))


def test_limit_without_order_counts(pair):
    _, rows = pair.ours(P + "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5 OFFSET 1")
    assert len(rows) == 5


def test_mixed_term_order():
    pair = Pair("""@prefix ex: <http://example.org/> .
        ex:a ex:v ex:iri . ex:b ex:v _:b1 . ex:c ex:v "lit" . ex:d ex:v 5 . ex:e ex:v 10 .
        ex:f ex:w 1 .""")
    _, rows = pair.ours(P + "SELECT ?v WHERE { ?s ex:v|ex:w ?v OPTIONAL { ?s ex:nope ?z } } ORDER BY ?z ?v")
    kinds = [type(r[0]) for r in rows]
    # blank node < IRI < literals; numbers by value
    assert kinds[0] is BNode and kinds[1] is URIRef
    lits = [r[0] for r in rows[2:]]
    nums = [int(x) for x in lits if x.datatype is not None]
    assert nums == sorted(nums) == [1, 5, 10]
    _, rows = pair.ours(P + "SELECT ?s ?z WHERE { ?s ex:v ?v OPTIONAL { ?s ex:w ?z } } ORDER BY ?z ?s")
    assert rows[0][1] is None  # unbound first
    assert all(isinstance(r[0], URIRef) for r in rows)
    assert Literal(5) in [r[0] for r in pair.ours(P + "SELECT ?v { ?s ex:v ?v } ORDER BY DESC(?v)")[1]]


def test_distinct_ordered_by_unprojected_key_compiles():
    """DISTINCT after ORDER BY on a key that is not projected: first occurrences, in SQL."""
    from kg_engine import KnowledgeGraph
    from kg_engine.sparql import QueryEngine

    kg = KnowledgeGraph("sqlite://")
    kg.update("PREFIX ex: <http://example.org/> INSERT DATA { "
              "ex:a ex:age 30 ; ex:tag 1, 2 . ex:b ex:age 10 ; ex:tag 1 . ex:c ex:age 20 ; ex:tag 3 }")
    q = ("PREFIX ex: <http://example.org/> SELECT DISTINCT ?s WHERE { ?s ex:tag ?t ; ex:age ?o } "
         "ORDER BY DESC(?o)")
    assert QueryEngine().explain(kg.graph, q).startswith("-- fully compiled")
    assert [str(r.s)[-1] for r in kg.query(q)] == ["a", "c", "b"]
    q2 = q.replace("DESC(?o)", "?o ?t") + " LIMIT 2"
    assert [str(r.s)[-1] for r in kg.query(q2)] == ["b", "c"]
