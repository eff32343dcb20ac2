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
