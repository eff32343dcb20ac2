"""The rdflib Store plugin: rdflib's Dataset/Graph API over the SQL store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from kg_engine import KnowledgeGraph
from kg_engine.store import SQLStore
from kg_engine.store.rdflib_store import KgEngineStore

EX = rdflib.Namespace("https://example.org/")


def test_plugin_is_registered_under_kg_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    ds = Dataset(store="kg_engine")
    ds.open(url, create=True)
    ds.add((EX.a, EX.p, EX.b))
    ds.close()
    with SQLStore(url) as s:
        assert len(s) == 1


def test_dataset_graphs_contexts_and_default_graph(store_url: str) -> None:
    ds = Dataset(store=KgEngineStore(store_url))
    ds.add((EX.a, EX.p, EX.b))
    g1 = ds.graph(EX.g1)
    g1.add((EX.a, EX.p, Literal("x")))
    g1.add((EX.a, EX.p, EX.b))
    assert len(ds.default_context) == 1  # the default graph is not the union…
    assert len(list(ds.triples((None, None, None)))) == 1
    assert len(ds) == 2  # …while len() counts distinct triples over all graphs, as rdflib
    assert len(g1) == 2
    assert {g.identifier for g in ds.graphs()} == {DATASET_DEFAULT_GRAPH_ID, EX.g1}
    assert {c.identifier for c in ds.store.contexts((EX.a, EX.p, EX.b))} == {
        DATASET_DEFAULT_GRAPH_ID, EX.g1}
    g1.remove((EX.a, None, Literal("x")))
    assert len(g1) == 1
    ds.remove_graph(g1)
    assert EX.g1 not in {g.identifier for g in ds.graphs()}
    empty = ds.graph(EX.empty)
    assert EX.empty in {g.identifier for g in ds.graphs()} and len(empty) == 0


def test_graph_parse_goes_through_the_bulk_path(tmp_path: Path) -> None:
    path = tmp_path / "many.nt"
    path.write_text("".join(f"<urn:s{i}> <urn:p> \"{i}\" .\n" for i in range(20_000)))
    store = KgEngineStore(f"sqlite:///{tmp_path / 'b.sqlite'}")
    writes = []
    original = store.store.bulk_add
    store.store.bulk_add = lambda rows: writes.append(len(rows)) or original(rows)
    g = Graph(store=store, identifier=EX.g)
    g.parse(path)
    assert len(g) == 20_000
    assert sum(writes) == 20_000 and len(writes) <= 2  # the loader's batches


def test_transactions_commit_and_rollback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.sqlite'}"
    store = KgEngineStore(url)
    g = Graph(store=store, identifier=EX.g)
    store.begin()
    g.add((EX.a, EX.p, EX.b))
    assert len(g) == 1  # visible inside the transaction
    with SQLStore(url) as other:
        assert len(other) == 0  # …but not to another connection
    store.rollback()
    assert len(g) == 0
    store.begin()
    g.add((EX.a, EX.p, EX.c))
    store.commit()
    with SQLStore(url) as other:
        assert len(other) == 1


def test_namespace_bindings_persist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.sqlite'}"
    store = KgEngineStore(url)
    store.bind("ex", URIRef(str(EX)))
    store.close()
    store = KgEngineStore(url)
    assert store.namespace("ex") == URIRef(str(EX)) and store.prefix(URIRef(str(EX))) == "ex"
    assert ("ex", URIRef(str(EX))) in list(store.namespaces())


def _reasoned(url: str):
    """A store with an ``rdfs`` profile: ``felix a Animal`` is asserted *and* derivable."""
    kg = KnowledgeGraph(url)
    kg.add([(EX.Cat, rdflib.RDFS.subClassOf, EX.Animal), (EX.tom, rdflib.RDF.type, EX.Cat),
            (EX.felix, rdflib.RDF.type, EX.Cat), (EX.felix, rdflib.RDF.type, EX.Animal)])
    kg.add([(EX.x, EX.p, EX.y)], graph=EX.g1)
    kg.reason("rdfs")
    return kg


def test_default_graph_includes_the_inferences_of_a_profile(store_url: str) -> None:
    """Issue 13: with a profile the plugin's default graph is asserted ∪ inferred (each
    triple once), like queries; the inferred graph stays a named graph of its own."""
    from kg_engine.core.terms import DEFAULT_GRAPH

    kg = _reasoned(store_url)
    inferred = URIRef(kg.store.reasoning.graph)
    asserted = {q[:3] for q in kg.triples(graph=DEFAULT_GRAPH, include_inferred=False)}
    merged = {q[:3] for q in kg.triples(graph=DEFAULT_GRAPH)}
    assert len(asserted) == 4 and (EX.tom, rdflib.RDF.type, EX.Animal) in merged - asserted
    ds = kg.graph
    listed = list(ds.default_graph.triples((None, None, None)))
    assert len(listed) == len(set(listed)) == len(merged)  # felix a Animal: once
    assert set(listed) == merged
    assert len(ds.default_graph) == len(merged)
    assert len(list(ds.triples((None, None, None)))) == len(merged)
    assert (EX.tom, rdflib.RDF.type, EX.Animal) in ds.default_graph
    assert list(ds.default_graph.subjects(rdflib.RDF.type, EX.Animal)).count(EX.felix) == 1
    # named graphs, quads() and contexts() keep their meaning
    assert len(ds.graph(EX.g1)) == 1
    assert (EX.tom, rdflib.RDF.type, EX.Animal) in ds.graph(inferred)
    assert (EX.tom, rdflib.RDF.type, EX.Animal) not in set(
        ds.default_graph.triples((None, None, None))) - merged
    quads = list(ds.quads((None, None, None, None)))
    assert len(quads) == len(kg.store)
    assert {c.identifier for c in ds.store.contexts((EX.tom, rdflib.RDF.type, EX.Animal))} \
        == {inferred}
    kg.close()


def test_default_graph_opt_out_and_profile_off(store_url: str) -> None:
    from kg_engine.store.rdflib_store import asserted_only

    kg = _reasoned(store_url)
    ds = kg.graph
    assert len(ds.default_graph) > 4
    with asserted_only():  # per call
        assert len(ds.default_graph) == 4
        assert (EX.tom, rdflib.RDF.type, EX.Animal) not in ds.default_graph
    plain = Dataset(store=KgEngineStore(store=kg.store, include_inferred=False))  # per store
    assert len(plain.default_graph) == 4
    assert len(list(plain.triples((None, None, None)))) == 4
    assert (EX.tom, rdflib.RDF.type, EX.Animal) not in plain.default_graph
    assert len(ds.default_graph) > 4  # the other store still sees them
    kg.reason_off()
    assert len(ds.default_graph) == 4
    assert (EX.tom, rdflib.RDF.type, EX.Animal) not in ds.default_graph
    kg.close()


@contextlib.contextmanager
def _rolled_back(kg: KnowledgeGraph) -> Iterator[None]:
    """The block runs in a write transaction of ``kg``'s store that a Ctrl-C ends."""
    with pytest.raises(KeyboardInterrupt), kg.store.db.transaction():
        yield
        raise KeyboardInterrupt


def test_a_binding_made_in_a_transaction_that_rolls_back_is_kept(store_url: str) -> None:
    # the binding went with the rollback, and nothing bound it again: the store lost a
    # prefix its user had bound (rdflib binds nothing it believes bound)
    kg = KnowledgeGraph(store_url)
    ds = kg.graph
    with _rolled_back(kg):
        ds.bind("ex", EX)
    assert ds.namespace_manager.store.namespace("ex") == URIRef(str(EX))
    assert ("ex", URIRef(str(EX))) in list(ds.namespaces())
    kg.add([(EX.a, EX.p, EX.b)])  # the next write writes it
    assert kg.store.db.scalar("SELECT value FROM kg_meta WHERE key = 'ns:ex'") == str(EX)
    kg.close()


def test_default_bindings_survive_an_update_that_rolls_back(store_url: str) -> None:
    # PostgreSQL: rdflib's namespace manager is made (and binds its default prefixes, once)
    # inside the first SPARQL update that reads the store; a Ctrl-C there lost them for good
    kg = KnowledgeGraph(store_url)
    kg.add([(EX.a, EX.p, EX.b)])
    with _rolled_back(kg):
        kg.update("INSERT { ?s <urn:q> ?o } WHERE { ?s ?p ?o }")
    kg.update("INSERT DATA { <urn:c> owl:sameAs <urn:d> }")  # owl: still declared
    owl = "http://www.w3.org/2002/07/owl#"
    assert dict(kg.graph.namespaces())["owl"] == URIRef(owl)
    assert len(list(kg.query("SELECT * WHERE { ?s owl:sameAs ?o }"))) == 1
    kg.close()


def test_rdflib_default_bindings_are_not_written(store_url: str) -> None:
    """Each ``kg.graph`` made rdflib bind its 29 default prefixes, each written to the store
    in a commit of its own — before a ``kg update``'s own transaction, so a kill among them
    left a store neither as before nor as after the command. They stay in memory; a binding
    of one's own is written."""
    kg = KnowledgeGraph(store_url)
    assert dict(kg.graph.namespaces())["foaf"] == URIRef("http://xmlns.com/foaf/0.1/")
    kg.update("INSERT DATA { <urn:c> <urn:q> <urn:d> }")
    kg.graph.bind("ex", EX)
    stored = kg.store.db.fetchall("SELECT key FROM kg_meta WHERE key LIKE 'ns:%'")
    assert [k for (k,) in stored] == ["ns:ex"]
    kg.close()
