"""The ``kg_engine`` rdflib store plugin routes SPARQL to kg-engine's engine (never rdflib's)."""

from __future__ import annotations

import rdflib
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.sparql import default_engine
from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore

EX = "http://example.org/"


def test_plugin_name_resolves_to_sparql_store() -> None:
    ds = rdflib.Dataset(store="kg_engine")
    assert isinstance(ds.store, KgSparqlStore)


def test_plain_dataset_queries_go_through_our_engine() -> None:
    ds = rdflib.Dataset(store="kg_engine")
    ds.open("sqlite://")
    ds.update(f'INSERT DATA {{ <{EX}a> <{EX}p> "x" . GRAPH <{EX}g> {{ <{EX}a> <{EX}p> "y" }} }}')
    engine = default_engine()
    misses = engine.stats["misses"]
    text = f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}"
    # W3C semantics even through rdflib.Dataset: the default graph only, not the union
    assert [str(r.o) for r in ds.query(text)] == ["x"]
    assert engine.stats["misses"] == misses + 1  # parsed by our engine (plan cache)
    assert [str(r.o) for r in ds.query(text)] == ["x"]
    assert engine.stats["misses"] == misses + 1
    # a Graph over the store queries that graph as default graph
    g = rdflib.Graph(store=ds.store, identifier=URIRef(EX + "g"))
    assert [str(r.o) for r in g.query(text)] == ["y"]


def test_parse_keeps_lexical_forms() -> None:
    ds = KgDataset(store=KgSparqlStore("sqlite://"))
    ds.graph(URIRef(EX + "g")).parse(
        data=f'<{EX}a> <{EX}p> "0010"^^<{XSD.integer}> .', format="turtle")
    (o,) = ds.graph(URIRef(EX + "g")).objects()
    assert str(o) == "0010" and o == Literal("0010", datatype=XSD.integer, normalize=False)


def test_dataset_works_as_written_without_open() -> None:
    # the README's rdflib.Dataset(store="kg_engine"): an in-memory store unless opened
    ds = rdflib.Dataset(store="kg_engine")
    ds.add((URIRef(EX + "a"), URIRef(EX + "p"), Literal(1)))
    assert len(ds) == 1
    assert [str(r.o) for r in ds.query(f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }}")] == ["1"]


def test_open_a_path_as_rdflib_users_write_it(tmp_path) -> None:
    g = rdflib.Graph(store="kg_engine")
    assert g.open(str(tmp_path / "store"), create=True) == rdflib.store.VALID_STORE
    g.add((URIRef(EX + "a"), URIRef(EX + "p"), Literal("x")))
    g.close()
    assert (tmp_path / "store" / "kg.sqlite").is_file()
    again = rdflib.Graph(store="kg_engine", identifier=g.identifier)
    assert again.open(str(tmp_path / "store"), create=False) == rdflib.store.VALID_STORE
    assert len(again) == 1
    assert rdflib.Graph(store="kg_engine").open(str(tmp_path / "nothing"), create=False) \
        == rdflib.store.NO_STORE


def test_one_prefix_per_namespace() -> None:
    g = rdflib.Graph(store="kg_engine")
    g.bind("ex", EX)
    g.bind("ex2", EX)
    assert [p for p, ns in g.namespaces() if str(ns) == EX] == ["ex2"]
    g.bind("ex3", EX, override=False)
    assert [p for p, ns in g.namespaces() if str(ns) == EX] == ["ex2"]


def test_load_into_a_plain_graph_loads_into_that_graph(tmp_path) -> None:
    f = tmp_path / "f.ttl"
    f.write_text(f"<{EX}x> <{EX}y> <{EX}z> .")
    g = rdflib.Graph(store="kg_engine")
    g.update(f"LOAD <{f.as_uri()}>")
    assert list(g) == [(URIRef(EX + "x"), URIRef(EX + "y"), URIRef(EX + "z"))]


def test_init_bindings_the_store_never_saw_under_order_by_and_aggregates() -> None:
    ds = rdflib.Dataset(store="kg_engine")
    ds.add((URIRef(EX + "a"), URIRef(EX + "p"), Literal(1)))
    q = f"SELECT ?x ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?x"
    assert [(str(r.x), str(r.o)) for r in ds.query(q, initBindings={"x": Literal(7)})] == [("7", "1")]
    q = f"SELECT (SUM(?x + ?o) AS ?t) WHERE {{ ?s <{EX}p> ?o }}"
    assert [str(r.t) for r in ds.query(q, initBindings={"x": Literal(7)})] == ["8"]


def test_fallback_evaluator_sees_each_inference_once(tmp_path) -> None:
    """rdflib's evaluator reads through the plugin's ``triples()``: with a profile the query
    dataset merges the inferred graph itself, so the store's default-graph merge must not
    add it a second time; the store's opt-out also holds for its queries."""
    from rdflib import RDF, RDFS, URIRef

    from kg_engine import KnowledgeGraph
    from kg_engine.sparql.engine import QueryEngine
    from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore

    ex = "https://example.org/"
    cat, animal = URIRef(ex + "Cat"), URIRef(ex + "Animal")
    kg = KnowledgeGraph(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    kg.add([(cat, RDFS.subClassOf, animal), (URIRef(ex + "tom"), RDF.type, cat),
            (URIRef(ex + "felix"), RDF.type, cat), (URIRef(ex + "felix"), RDF.type, animal)])
    kg.reason("rdfs")
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    animals = f"SELECT ?s WHERE {{ ?s a <{animal}> }}"
    for compiler in (False, True):
        engine = QueryEngine(use_compiler=compiler)
        ds = KgDataset(store=KgSparqlStore(store=kg.store), engine=engine)
        assert int(next(iter(ds.query(count)))[0]) == len(ds.default_graph) > 4
        assert sorted(str(r[0]) for r in ds.query(animals)) == [ex + "felix", ex + "tom"]
        asserted = KgDataset(store=KgSparqlStore(store=kg.store, include_inferred=False),
                             engine=engine)
        assert int(next(iter(asserted.query(count)))[0]) == len(asserted.default_graph) == 4
        assert [str(r[0]) for r in asserted.query(animals)] == [ex + "felix"]
        inferred = kg.store.reasoning.graph
        named = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{inferred}> {{ ?s ?p ?o }} }}"
        assert int(next(iter(ds.query(named)))[0]) == len(ds.graph(URIRef(inferred)))
    kg.close()


# -- prefixes bound in the store need no PREFIX line (found by kg_engine.testing.apimodel) ----
def test_bound_prefixes_are_declared_in_queries_and_updates(store_url: str, tmp_path) -> None:
    """rdflib's ``Graph.query`` declares the graph's bound prefixes; ``kg.graph.query`` (an
    rdflib Dataset) and ``kg.query`` / ``kg.update`` refused them as unknown."""
    from kg_engine import KnowledgeGraph

    with KnowledgeGraph(store_url) as kg:
        kg.graph.bind("ex", URIRef("http://ex.org/"))
        kg.update("INSERT DATA { ex:a ex:p ex:b }")
        kg.graph.update("INSERT DATA { ex:c ex:p ex:d }")
        want = {URIRef("http://ex.org/a"), URIRef("http://ex.org/c")}
        assert {r.s for r in kg.query("SELECT ?s WHERE { ?s ex:p ?o }")} == want
        assert {r.s for r in kg.graph.query("SELECT ?s WHERE { ?s ex:p ?o }")} == want
        # the query's own PREFIX line wins
        assert not list(kg.query("PREFIX ex: <urn:x:> SELECT ?s WHERE { ?s ex:p ?o }"))
        # rebinding is seen by the next query (the cached plan is not reused), and so are
        # the prefixes of a Turtle file loaded meanwhile
        kg.graph.bind("ex", URIRef("urn:x:"), replace=True)
        assert not list(kg.query("SELECT ?s WHERE { ?s ex:p ?o }"))
        ttl = tmp_path / "f.ttl"
        ttl.write_text("@prefix zz: <http://zz.org/> .\nzz:a zz:p zz:b .\n")
        kg.load(ttl)
        assert [r.s for r in kg.query("SELECT ?s WHERE { ?s zz:p ?o }")] == [URIRef("http://zz.org/a")]
