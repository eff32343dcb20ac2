"""SPARQL JSON written by the database (``QueryEngine.select_json``) is byte for byte the text
rdflib serialises from the decoded result, on SQLite and PostgreSQL; what does not qualify
(computed values, constants missing from the dictionary, ASK, rdflib-evaluated queries)
returns ``None``."""

from __future__ import annotations

import sqlite3
from json.encoder import encode_basestring  # type: ignore[attr-defined]

import pytest
import rdflib

from kg_engine import KnowledgeGraph
from kg_engine.core.terms import exact_literals
from kg_engine.errors import QueryTimeoutError
from kg_engine.sparql import QueryEngine
from kg_engine.sparql.compiler import compile_query
from kg_engine.sparql.compiler.jsonsql import json_sql

from . import test_basic, test_graphs, test_modifiers
from .conftest import DATA

TEXTS = """@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a ex:t "quote \\" backslash \\\\ tab \\t nl \\n cr \\r ctl \\u0001 \\u001f del \\u007f" ;
     ex:t "é ü 中文 \\U0001F600 \\u2028 </script>"@fr-CA ; ex:t "42"^^xsd:integer ;
     ex:t "0042"^^xsd:integer ; ex:t "x"^^xsd:string ; ex:t "v"^^<urn:dt> ;
     ex:t <http://example.org/caf%C3%A9?q=1&r="2"> ; ex:t [ ex:n 1 ] ; ex:u ex:b .
"""

DIRECT = (
    [test_basic.P + q for q in test_basic.QUERIES]
    + [test_modifiers.P + q for q in test_modifiers.ORDERED]
    + [test_graphs.P + q for q in test_graphs.QUERIES]
)

EX = "PREFIX ex: <http://example.org/> "
TEXT_QUERIES = [
    EX + "SELECT ?s ?o WHERE { ?s ex:t ?o } ORDER BY ?o",
    EX + "SELECT ?o ?x WHERE { ?s ex:t ?o OPTIONAL { ?o ex:n ?x } } ORDER BY DESC(?o)",
    EX + "SELECT ?x ?o WHERE { ?s ex:t ?o OPTIONAL { ?o ex:n ?x } } ORDER BY ?o",
    EX + "SELECT ?o WHERE { ?s ex:t ?o FILTER regex(str(?o), '^q|é', 'i') } ORDER BY ?o",
    EX + "SELECT ?s WHERE { ?s ex:none ?o }",
    EX + "SELECT DISTINCT ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 2 OFFSET 1",
    EX + "SELECT ?s ?k WHERE { ?s ex:u ?o BIND(ex:b AS ?k) }",  # a constant that is stored
]
DECLINED = [
    EX + "SELECT ?s ?k WHERE { ?s ex:u ?o BIND(<urn:not-stored> AS ?k) }",  # a negative id
    EX + "SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ex:t ?o } GROUP BY ?s",  # a computed value
    EX + "SELECT ?s (STR(?o) AS ?v) WHERE { ?s ex:t ?o }",
    EX + "ASK { ?s ex:t ?o }",
    EX + "CONSTRUCT { ?s ex:x ?o } WHERE { ?s ex:t ?o }",
    "SELECT * WHERE { ?s ?p ?o",  # malformed: the usual path reports it
]


def _kg(url: str, data: str) -> KnowledgeGraph:
    kg = KnowledgeGraph(url)
    g = rdflib.Dataset()
    with exact_literals():
        g.parse(data=data, format="trig")
    for s, p, o, c in g.quads((None, None, None, None)):
        gid = getattr(c, "identifier", c)
        graph = None if gid == rdflib.graph.DATASET_DEFAULT_GRAPH_ID else gid
        kg.store.add([(s, p, o)], graph=graph)
    kg.store.refresh_stats()
    return kg


@pytest.fixture
def kgs(store_url: str):
    kg = _kg(store_url, DATA + TEXTS)
    yield kg
    kg.close()


def test_same_text_as_rdflibs_serialisation(kgs: KnowledgeGraph) -> None:
    engine = QueryEngine()
    direct = 0
    for q in DIRECT + TEXT_QUERIES:
        out = engine.select_json(kgs.graph, q)
        if out is None:
            continue
        direct += 1
        assert out == engine.query(kgs.graph, q).serialize(format="json").decode(), q
    # every query above that compiles to SQL with stored terms only takes the direct path
    assert direct >= len(TEXT_QUERIES) + len(DIRECT) // 2
    for q in TEXT_QUERIES:
        assert engine.select_json(kgs.graph, q) is not None, q


def test_what_does_not_qualify_is_none(kgs: KnowledgeGraph) -> None:
    engine = QueryEngine()
    for q in DECLINED:
        assert engine.select_json(kgs.graph, q) is None, q


def test_options_and_timeout(kgs: KnowledgeGraph) -> None:
    engine = QueryEngine()
    q = "SELECT ?s ?o WHERE { ?s <http://example.org/t> ?o } ORDER BY ?o"
    for kw in ({"union_default_graph": True}, {"include_inferred": False}, {"timeout": 30.0}):
        assert engine.select_json(kgs.graph, q, **kw) == \
            engine.query(kgs.graph, q, **kw).serialize(format="json").decode()
    with pytest.raises(QueryTimeoutError):
        engine.select_json(kgs.graph, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
                                      "?j ?k ?l }", timeout=0.05)


def test_sqlite_json_quote_is_pythons_encoder() -> None:
    """The SQL quoting writes every character as ``json.encoder.encode_basestring`` does."""
    con = sqlite3.connect(":memory:")
    text = "".join(map(chr, range(1, 0x800))) + "\u2028\u2029\ufeff\U0001F600"
    assert con.execute("SELECT json_quote(?)", (text,)).fetchone()[0] == encode_basestring(text)


def test_statement_shape() -> None:
    kg = _kg("sqlite://", TEXTS)
    plan = compile_query(kg.store, "SELECT ?s ?o WHERE { ?s <http://example.org/t> ?o }")
    text = json_sql("sqlite", plan)
    assert text.startswith("SELECT substr(") and f"({plan.sql}) AS kgr_" in text
    assert "to_json" in json_sql("postgresql", plan)
    agg = compile_query(kg.store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert json_sql("sqlite", agg) is None
