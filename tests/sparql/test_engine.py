"""QueryEngine: dataset semantics, plan cache, prepared queries, timeouts, errors, isolation."""

from __future__ import annotations

import urllib.request

import pytest
import rdflib
import rdflib.plugins.sparql as rsparql
from rdflib import Dataset, Literal, URIRef, Variable
from rdflib.namespace import XSD

from kg_engine.errors import QuerySyntaxError, QueryTimeoutError, UnsupportedOperationError
from kg_engine.sparql import QueryEngine, parse_query
from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
from kg_engine.store import open_store

EX = "http://example.org/"
A, B, C, P, Q = (URIRef(EX + x) for x in ("a", "b", "c", "p", "q"))
G1, G2 = URIRef(EX + "g1"), URIRef(EX + "g2")


def _sqlite() -> Dataset:
    return KgDataset(store=KgSparqlStore(store=open_store("sqlite://")))


def _memory() -> Dataset:
    return KgDataset(store="Memory")


@pytest.fixture(params=["sqlite", "memory"])
def ds(request: pytest.FixtureRequest) -> Dataset:
    d = _sqlite() if request.param == "sqlite" else _memory()
    d.default_graph.add((A, P, Literal("default")))
    d.graph(G1).add((A, P, Literal("g1")))
    d.graph(G1).add((B, P, Literal("both")))
    d.graph(G2).add((B, P, Literal("both")))
    d.graph(G2).add((C, Q, Literal("g2")))
    return d


def _objects(result) -> list[str]:
    return sorted(str(r[0]) for r in result)


def test_default_graph_is_not_the_union(ds: Dataset) -> None:
    assert _objects(ds.query("SELECT ?o WHERE { ?s ?p ?o }")) == ["default"]


def test_union_default_graph_is_an_explicit_option(ds: Dataset) -> None:
    res = QueryEngine().query(ds, "SELECT DISTINCT ?o WHERE { ?s ?p ?o }", union_default_graph=True)
    assert _objects(res) == ["both", "default", "g1", "g2"]


def test_from_merges_graphs_of_the_store(ds: Dataset) -> None:
    q = f"SELECT ?o FROM <{G1}> FROM <{G2}> WHERE {{ ?s ?p ?o }}"
    # RDF merge: the triple in both graphs is reported once
    assert _objects(ds.query(q)) == ["both", "g1", "g2"]


def test_from_named_restricts_graph_variable(ds: Dataset) -> None:
    q = f"SELECT ?g ?o FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    rows = sorted((str(r.g), str(r.o)) for r in ds.query(q))
    assert rows == [(str(G2), "both"), (str(G2), "g2")]
    # FROM NAMED only: the default graph is empty
    assert list(ds.query(f"SELECT * FROM NAMED <{G2}> WHERE {{ ?s ?p ?o }}")) == []


def test_graph_variable_never_binds_the_default_graph(ds: Dataset) -> None:
    graphs = {str(r.g) for r in ds.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
    assert graphs == {str(G1), str(G2)}


def test_graph_of_unknown_iri_is_empty(ds: Dataset) -> None:
    assert not ds.query(f"ASK {{ GRAPH <{EX}nope> {{ }} }}").askAnswer
    assert ds.query(f"ASK {{ GRAPH <{G1}> {{ }} }}").askAnswer


def test_from_never_touches_the_network(ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(urllib.request, "urlopen", boom)
    res = ds.query("SELECT * FROM <http://example.invalid/remote.ttl> WHERE { ?s ?p ?o }")
    assert list(res) == []


def test_service_is_refused_unless_enabled(ds: Dataset) -> None:
    q = "SELECT * WHERE { SERVICE <http://example.invalid/sparql> { ?s ?p ?o } }"
    with pytest.raises(UnsupportedOperationError, match="SERVICE is disabled"):
        QueryEngine().query(ds, q)


def test_rdflib_globals_are_not_changed(ds: Dataset) -> None:
    plain = Dataset()  # a plain rdflib user, with rdflib's own engine and defaults
    plain.graph(G1).add((A, P, Literal("x")))
    plain.default_graph.add((B, P, Literal("y")))
    plain_before = sorted(map(tuple, plain.query("SELECT * WHERE { ?s ?p ?o }")))
    before = (rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS,
              rdflib.NORMALIZE_LITERALS)
    ds.query("SELECT * WHERE { ?s ?p ?o }")
    QueryEngine().query(ds, "SELECT * WHERE { ?s ?p ?o }", union_default_graph=True)
    assert (rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS,
            rdflib.NORMALIZE_LITERALS) == before
    assert sorted(map(tuple, plain.query("SELECT * WHERE { ?s ?p ?o }"))) == plain_before


def test_plan_cache_and_prepared_queries(ds: Dataset) -> None:
    engine = QueryEngine()
    text = "SELECT ?o WHERE { ?s ?p ?o }"
    engine.query(ds, text, union_default_graph=True)
    misses = engine.stats["misses"]
    engine.query(ds, text, union_default_graph=True)
    assert engine.stats["misses"] == misses and engine.stats["hits"] >= 1
    prepared = engine.prepare("SELECT ?o WHERE { ?s ?p ?o }")
    res = engine.query(ds, prepared, init_bindings={"s": C}, union_default_graph=True)
    assert _objects(res) == ["g2"]
    res = engine.query(ds, prepared, init_bindings={Variable("s"): A}, union_default_graph=True)
    assert _objects(res) == ["default", "g1"]


def test_literals_keep_their_lexical_form() -> None:
    d = _sqlite()
    d.default_graph.parse(
        data=f'<{A}> <{P}> "01"^^<{XSD.integer}> , "1.0e0"^^<{XSD.double}> .', format="turtle")
    lex = sorted(str(r.o) for r in d.query("SELECT ?o WHERE { ?s ?p ?o }"))
    assert lex == ["01", "1.0e0"]
    # value comparison still works on exact lexical forms
    assert d.query('ASK { ?s ?p ?o FILTER(?o = 1) }').askAnswer
    q = f'SELECT ?s WHERE {{ ?s ?p "01"^^<{XSD.integer}> }}'
    assert [r.s for r in d.query(q)] == [A]


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("SELECT ?x\nWHERE { ?x ?p }\n", source="q.rq")
    err = info.value
    assert isinstance(err, SyntaxError)
    assert err.line == 2 and err.column is not None
    assert str(err).startswith("q.rq:2:")


def test_timeout_cancels_sql() -> None:
    d = _sqlite()
    d.default_graph.addN((URIRef(f"{EX}s{i}"), P, Literal(i), d.default_graph) for i in range(300))
    heavy = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?p ?y . ?c ?p ?z . ?d ?p ?w "
             "FILTER(?x + ?y + ?z + ?w > -1) }")
    with pytest.raises(QueryTimeoutError):
        d.query(heavy, timeout=0.3)
    # the store is usable afterwards
    assert len(list(d.query("SELECT * WHERE { ?s ?p ?o }"))) == 300


def test_explain_prints_sql() -> None:
    d = _sqlite()
    text = QueryEngine().explain(d, "SELECT ?s WHERE { ?s <http://example.org/p> ?o }")
    assert "SELECT" in text and "kg_quads" in text


@pytest.mark.postgres
def test_postgres_timeout_and_atomic_update(pg_server) -> None:
    d = KgDataset(store=KgSparqlStore(store=open_store(pg_server.new_database_url())))
    d.default_graph.addN((URIRef(f"{EX}s{i}"), P, Literal(i), d.default_graph) for i in range(300))
    heavy = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?p ?y . ?c ?p ?z . ?d ?p ?w "
             "FILTER(?x + ?y + ?z + ?w > -1) }")
    with pytest.raises(QueryTimeoutError):
        d.query(heavy, timeout=0.3)
    assert len(list(d.query("SELECT * WHERE { ?s ?p ?o }"))) == 300
    from kg_engine.errors import StoreError

    with pytest.raises(StoreError):
        d.update(f"INSERT DATA {{ <{EX}new> <{EX}p> 1 }} ; CREATE GRAPH <{G1}> ; CREATE GRAPH <{G1}>")
    assert len(list(d.query("SELECT * WHERE { ?s ?p ?o }"))) == 300
    assert not d.query(f"ASK {{ GRAPH <{G1}> {{ }} }}").askAnswer


def test_failing_compiled_sql_falls_back_to_rdflib(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    import sqlite3

    from kg_engine.sparql import compiler, evaluation

    d = _sqlite()
    d.default_graph.add((A, P, Literal("x")))

    def broken(ctx, part):
        raise sqlite3.OperationalError("no such function: kg_broken")

    monkeypatch.setattr(evaluation, "_compiler", lambda: broken)
    monkeypatch.setattr(compiler, "compile_query", lambda *a, **k: (_ for _ in ()).throw(
        NotImplementedError("declined")))
    engine = QueryEngine()
    with caplog.at_level("WARNING", logger="kg_engine.sparql"):
        res = engine.query(d, "SELECT ?o WHERE { ?s ?p ?o }")
    assert _objects(res) == ["x"]
    assert "kg_broken" in caplog.text


def test_query_caches_do_not_keep_stores_alive(monkeypatch) -> None:
    """The process-wide plan cache keyed plans by the store itself, and the dataset views by
    its rdflib store: every store that ever ran a query stayed alive (the last 512), with its
    database connection. Tests that dropped PostgreSQL stores unclosed left 57 connections
    open in one process ('sorry, too many clients already' in the fresh-clone CI)."""
    import gc
    import weakref

    from kg_engine import KnowledgeGraph
    from kg_engine.sparql.engine import default_engine

    kg = KnowledgeGraph("sqlite://")
    kg.update("INSERT DATA { <urn:a> <urn:p> 1 . <urn:b> <urn:p> 2 }")
    q = "SELECT ?s WHERE { ?s <urn:p> ?o FILTER(?o > 1) }"
    assert len(list(kg.query(q))) == 1  # compiled to SQL (the plan cache)
    with monkeypatch.context() as m:  # rdflib's evaluator over a dataset view (the views)
        m.setattr(default_engine(), "use_compiler", False)
        assert len(list(kg.query(q))) == 1
    store, rdf_store = weakref.ref(kg.store), weakref.ref(kg.graph.store)
    del kg
    gc.collect()
    assert store() is None and rdf_store() is None
