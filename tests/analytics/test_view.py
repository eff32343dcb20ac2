"""The networkx view: graph selection, node/edge attributes, origins, query projections."""

from __future__ import annotations

import networkx as nx
import pytest
from rdflib import Literal, URIRef
from rdflib.extras.external_graph_libs import rdflib_to_networkx_multidigraph

from kg_engine.analytics.view import select, to_networkx
from kg_engine.api import KnowledgeGraph
from kg_engine.errors import ConfigError

from .conftest import ex, random_store


def test_default_view_is_asserted_graphs(small_store):
    g = to_networkx(small_store)
    assert isinstance(g, nx.MultiDiGraph)
    assert g.has_edge(ex("a"), ex("b"), key=ex("knows"))
    assert not g.has_edge(ex("b"), ex("d"))  # inferred graph not read
    assert not g.has_edge(ex("d"), ex("a"))  # predicted graph not read
    assert g.edges[ex("c"), ex("e"), ex("mentions")] == {
        "predicate": ex("mentions"), "origin": "extracted", "confidence": 0.9}
    assert g.nodes[ex("a")] == {"label": "Ada", "types": [ex("Person")]}
    assert ex("lonely") in g and g.degree(ex("lonely")) == 0  # typed, isolated
    assert not any(isinstance(n, Literal) for n in g)  # literals off
    assert not g.has_edge(ex("a"), ex("Person"))  # rdf:type is an attribute


def test_include_inferred_and_predicted(small_store):
    g = to_networkx(small_store, include_inferred=True, include_predicted=True)
    # asserted and inferred: one edge, origin asserted
    assert g.number_of_edges(ex("a"), ex("b")) == 1
    assert g.edges[ex("a"), ex("b"), ex("knows")]["origin"] == "asserted"
    assert g.edges[ex("b"), ex("d"), ex("related")]["origin"] == "inferred"
    pred = g.edges[ex("d"), ex("a"), ex("knows")]
    assert pred["origin"] == "predicted" and pred["confidence"] == 0.75


def test_graph_selection_literals_and_type_edges(small_store):
    g = to_networkx(small_store, graph="urn:kg-engine:inferred:rdfs")
    assert set(g.edges(keys=True)) == {(ex("a"), ex("b"), ex("knows")),
                                       (ex("b"), ex("d"), ex("related"))}
    assert all(d["origin"] == "inferred" for *_, d in g.edges(data=True))
    g = to_networkx(small_store, graph="default", literals=True, type_edges=True)
    assert g.has_edge(ex("a"), Literal(36)) and g.has_edge(ex("a"), ex("Person"))
    assert not g.has_edge(ex("c"), ex("e"))  # in urn:docs, not the default graph
    with pytest.raises(ConfigError, match="not in the store"):
        to_networkx(small_store, graph="urn:nope")


def test_predicates_and_digraph(small_store):
    g = to_networkx(small_store, predicates=[ex("knows")])
    assert {k for *_, k in g.edges(keys=True)} == {ex("knows")}
    small_store.add([(ex("a"), ex("likes"), ex("b"))])
    d = to_networkx(small_store, directed_multi=False)
    assert isinstance(d, nx.DiGraph) and not d.is_multigraph()
    data = d.edges[ex("a"), ex("b")]
    assert data["weight"] == 2 and set(data["predicates"]) == {ex("knows"), ex("likes")}


def test_query_projection():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("knows"), ex("b")), (ex("b"), ex("knows"), ex("c")),
            (ex("a"), ex("name"), Literal("A"))])
    g = kg.to_networkx(query="CONSTRUCT { ?x <urn:ex:friend> ?y } WHERE { ?x <urn:ex:knows> ?y }")
    assert set(g.edges(keys=True)) == {(ex("a"), ex("b"), ex("friend")),
                                       (ex("b"), ex("c"), ex("friend"))}
    g = kg.to_networkx(query="SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert g.number_of_edges() == 2  # the literal is left out
    with pytest.raises(ConfigError, match="three variables"):
        kg.to_networkx(query="SELECT ?s WHERE { ?s ?p ?o }")


def test_same_edges_as_rdflib_converter():
    """Against rdflib's own converter on the same triples (literals and types as edges)."""
    store = random_store(40, 150, seed=3)
    ours = to_networkx(store, literals=True, type_edges=True)
    from rdflib import Graph

    rg = Graph()
    for s, p, o, _ in store.triples():
        rg.add((s, p, o))
    theirs = rdflib_to_networkx_multidigraph(rg)
    assert set(ours.nodes) == set(theirs.nodes)
    assert set(ours.edges(keys=True)) == set(theirs.edges(keys=True))


def test_select_is_id_space(small_store):
    view = select(small_store)
    assert all(isinstance(x, int) for e in view.edges for x in e[:4])
    assert view.terms == {}  # nothing decoded until asked
    assert URIRef("urn:ex:a") in view.decode(small_store).values()


def test_fast_fill_equals_public_api(small_store):
    """to_networkx fills the MultiDiGraph's dicts directly; it must equal the public build."""
    from kg_engine.analytics.view import _fill_multidigraph

    store = random_store(50, 200, seed=9)
    fast = to_networkx(store, include_inferred=True)
    slow = nx.MultiDiGraph()
    slow.add_nodes_from(fast.nodes(data=True))
    slow.add_edges_from(fast.edges(keys=True, data=True))
    assert nx.utils.graphs_equal(fast, slow)
    assert set(fast.pred[ex("n1")]) == set(slow.pred[ex("n1")])
    assert fast.in_degree(ex("n1")) == slow.in_degree(ex("n1"))

    class Sub(nx.MultiDiGraph):
        pass

    sub = Sub()
    _fill_multidigraph(nx, sub, list(fast.nodes(data=True)), list(fast.edges(keys=True, data=True)))
    assert nx.utils.graphs_equal(sub, slow)


def test_labels_from_any_name_label_or_title_predicate():
    """A schema-less JSON-LD catalogue names things with its own `vocab#name`: the node labels
    of to_networkx / kg analyze / the HTML view were empty (the explorer found them); an
    rdfs:label still wins over such a predicate."""
    shop = "http://shop.example/"
    kg = KnowledgeGraph("sqlite://")
    kg.add([(URIRef(shop + "p1"), URIRef(shop + "vocab#madeBy"), URIRef(shop + "acme")),
            (URIRef(shop + "p1"), URIRef(shop + "vocab#name"), Literal("Teapot")),
            (URIRef(shop + "acme"), URIRef(shop + "vocab#name"), Literal("ACME")),
            (URIRef(shop + "acme"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
             Literal("ACME Ltd"))])
    g = to_networkx(kg.store)
    assert g.nodes[URIRef(shop + "p1")]["label"] == "Teapot"
    assert g.nodes[URIRef(shop + "acme")]["label"] == "ACME Ltd"


def test_statement_asserted_and_extracted_elsewhere_is_asserted():
    """A statement loaded into one graph and also extracted (with a record) into another
    is asserted, with the extraction's confidence: the origin is the best one it has. The
    extraction record made it 'extracted' whatever other graph asserted it (found by
    kg_engine.testing.analyticsdiff)."""
    from kg_engine.core.batch import TripleBatch
    from kg_engine.core.provenance import Provenance

    docs = URIRef("urn:docs")
    with KnowledgeGraph("sqlite://") as kg:
        kg.add_batch(TripleBatch(
            graph=docs, quads=[(ex("a"), ex("p"), ex("b"), docs), (ex("c"), ex("p"), ex("d"), docs)],
            provenance=[Provenance(kind="extracted", source="doc", confidence=0.5)] * 2))
        kg.add([(ex("a"), ex("p"), ex("b"))])  # also asserted in the default graph
        g = kg.to_networkx()
        assert g.edges[ex("a"), ex("b"), ex("p")] == {
            "predicate": ex("p"), "origin": "asserted", "confidence": 0.5}
        assert g.edges[ex("c"), ex("d"), ex("p")]["origin"] == "extracted"
        q = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
        assert kg.to_networkx(query=q).edges[ex("a"), ex("b"), ex("p")]["origin"] == "asserted"


def test_label_choice_does_not_depend_on_load_order():
    """Two predicates named by local name (``shop:name``, ``ex:title``) were ranked by term
    id, so the label depended on which was stored first (found by
    kg_engine.testing.analyticsdiff)."""
    shop_name, title = URIRef("http://shop.example/vocab#name"), URIRef("urn:ad:title")
    labels = set()
    for order in ([(ex("a"), title, Literal("T")), (ex("a"), shop_name, Literal("S"))],
                  [(ex("a"), shop_name, Literal("S")), (ex("a"), title, Literal("T"))]):
        with KnowledgeGraph("sqlite://") as kg:
            for statement in order:
                kg.add([statement, (ex("a"), ex("p"), ex("b"))])
            labels.add(kg.to_networkx().nodes[ex("a")]["label"])
    assert labels == {"S"}  # http://shop.example/vocab#name < urn:ad:title
