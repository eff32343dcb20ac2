"""Algorithms: networkx as the reference, rustworkx agreeing with it, results in the store."""

from __future__ import annotations

import networkx as nx
import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.analytics import analyze, to_networkx
from kg_engine.analytics.backends import numbered
from kg_engine.api import KnowledgeGraph
from kg_engine.errors import ConfigError, UnsupportedOperationError

from .conftest import ex, random_store

rx = pytest.importorskip("rustworkx")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pagerank_matches_networkx_and_rustworkx(seed):
    store = random_store(60, 200, seed)
    reference = nx.pagerank(to_networkx(store), tol=1e-10)
    for backend in ("networkx", "rustworkx"):
        res = analyze(store, "pagerank", backend=backend, write=False, tol=1e-10)
        got = res.as_terms()
        assert set(got) == set(reference)
        assert max(abs(got[n] - reference[n]) for n in got) < 1e-6, backend


@pytest.mark.parametrize("seed", [0, 1])
def test_backends_agree(seed):
    store = random_store(50, 120, seed)
    g = to_networkx(store)
    for algorithm in ("degree", "betweenness", "components", "strong"):
        a = analyze(store, algorithm, backend="networkx", write=False).values
        b = analyze(store, algorithm, backend="rustworkx", write=False).values
        assert set(a) == set(b)
        assert max(abs(a[n] - b[n]) for n in a) < 1e-9, algorithm
    ids = {t: i for i, t in analyze(store, "degree", write=False)._view.terms.items()}
    expected = numbered([ids[n] for n in c] for c in nx.weakly_connected_components(g))
    assert analyze(store, "components", write=False).values == expected
    deg = nx.degree_centrality(g)
    got = analyze(store, "degree", backend="rustworkx", write=False).as_terms()
    assert max(abs(got[n] - deg[n]) for n in deg) < 1e-12


def test_betweenness_sampling():
    store = random_store(80, 250, 5)
    exact = analyze(store, "betweenness", write=False).values
    sampled = analyze(store, "betweenness", write=False, k=40, seed=1).values
    assert set(exact) == set(sampled) and exact != sampled
    with pytest.raises(UnsupportedOperationError, match="networkx"):
        analyze(store, "betweenness", backend="rustworkx", write=False, k=40)


def test_communities_cover_nodes_and_find_cliques():
    kg = KnowledgeGraph("sqlite://")
    cliques = [[f"a{i}" for i in range(5)], [f"b{i}" for i in range(5)]]
    kg.add([(ex(u), ex("p"), ex(v)) for c in cliques for u in c for v in c if u < v]
           + [(ex("a0"), ex("p"), ex("b0"))])
    res = kg.analyze("communities")
    groups = {}
    for node, group in res.as_terms().items():
        groups.setdefault(group, set()).add(str(node)[len("urn:ex:"):])
    assert sorted(map(sorted, groups.values())) == cliques
    with pytest.raises(UnsupportedOperationError, match="networkx"):
        kg.analyze("communities", backend="rustworkx")


def test_write_back_queryable_explainable_and_replaced():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("p"), ex("b")), (ex("b"), ex("p"), ex("c")), (ex("c"), ex("p"), ex("a")),
            (ex("d"), ex("p"), ex("c"))])
    res = kg.analyze("pagerank")
    assert res.graph == URIRef("urn:kg-engine:analytics:pagerank") and res.written == 4
    rows = list(kg.query(
        "SELECT ?s ?v WHERE { GRAPH <urn:kg-engine:analytics:pagerank> "
        "{ ?s <urn:kg-engine:analytics#pagerank> ?v } } ORDER BY DESC(?v)"))
    assert len(rows) == 4 and rows[0].s == ex("c")
    assert rows[0].v.datatype == XSD.double
    assert abs(float(rows[0].v) - res.as_terms()[ex("c")]) < 1e-15
    run = {str(r.p).rsplit("#", 1)[-1]: str(r.o) for r in kg.query(
        "SELECT ?p ?o WHERE { GRAPH <urn:kg-engine:analytics:pagerank> "
        "{ <urn:kg-engine:analytics:pagerank> ?p ?o } }")}
    assert run["algorithm"] == "pagerank" and '"alpha": 0.85' in run["parameters"]
    assert run["backend"].startswith("networkx") and run["nodes"] == "4"
    # not in default-graph answers
    assert len(list(kg.query("SELECT * WHERE { ?s ?p ?o }"))) == 4
    # explained by its run
    text = str(kg.explain((ex("c"), URIRef("urn:kg-engine:analytics#pagerank"), rows[0].v)))
    assert "analytics" in text and "pagerank" in text and "alpha" in text
    # rerun replaces; the analytics graph is never part of a later view
    res2 = kg.analyze("pagerank", alpha=0.5)
    assert res2.nodes == 4
    n = len(list(kg.triples(graph="urn:kg-engine:analytics:pagerank")))
    assert n == 4 + 5  # values + run description
    assert kg.analyze("components", write=False).values.keys() == res.values.keys()


def test_components_written_as_integers():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("p"), ex("b")), (ex("c"), ex("p"), ex("d")), (ex("d"), ex("p"), ex("e"))])
    kg.analyze("components")
    got = {(str(r.s), r.c) for r in kg.query(
        "SELECT ?s ?c WHERE { GRAPH <urn:kg-engine:analytics:components> "
        "{ ?s <urn:kg-engine:analytics#component> ?c } }")}
    assert got == {("urn:ex:c", Literal(0)), ("urn:ex:d", Literal(0)), ("urn:ex:e", Literal(0)),
                   ("urn:ex:a", Literal(1)), ("urn:ex:b", Literal(1))}


def test_result_repr_stays_short_on_a_big_graph():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex(f"n{i}"), ex("p"), ex(f"n{i + 1}")) for i in range(2000)])
    res = kg.analyze("pagerank", write=False)
    assert len(res.values) == 2001
    assert len(repr(res)) < 600  # it printed every node's term id and value
    assert "nodes=2001" in repr(res)


def test_bad_input():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("p"), ex("b"))])
    with pytest.raises(ConfigError, match="pagerank"):
        kg.analyze("pagerankk")
    with pytest.raises(ConfigError, match="alpha"):
        kg.analyze("pagerank", damping=0.5)
    with pytest.raises(ConfigError, match="rustworkx"):
        kg.analyze("pagerank", backend="igraphh")
    before = len(kg)
    with pytest.raises(ConfigError):
        kg.analyze("pagerank", name="Bad Name!")
    assert len(kg) == before and not kg.store.graphs()


def test_reasoning_profile_views_include_inferred_and_analytics_stay_out():
    from rdflib import RDFS

    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), ex("p"), ex("b")), (ex("p"), RDFS.subPropertyOf, ex("q"))])
    kg.reason("rdfs")  # becomes the store's reasoning profile
    assert kg.to_networkx().has_edge(ex("a"), ex("b"), key=ex("q"))
    assert not kg.to_networkx(include_inferred=False).has_edge(ex("a"), ex("b"), key=ex("q"))
    res = kg.analyze("pagerank")
    assert res.edges == kg.to_networkx().number_of_edges()
    before = {tuple(r) for r in kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")}
    assert not any("analytics" in str(t) for row in before for t in row)
    kg.analyze("pagerank")  # rerun under the profile: replaced, nothing inferred from it
    stored = list(kg.triples(graph="urn:kg-engine:analytics:pagerank"))
    assert sum(p == URIRef("urn:kg-engine:analytics#pagerank") for _, p, _, _ in stored) == 4
    assert (URIRef("urn:kg-engine:analytics:pagerank"),
            URIRef("urn:kg-engine:analytics#sourceGraph"),
            URIRef("urn:kg-engine:inferred:rdfs")) in {q[:3] for q in stored}


def test_default_betweenness_samples_bound_the_work():
    from kg_engine.analytics.backends import _betweenness_samples

    assert _betweenness_samples(2_000, 10**6, None) is None  # small: exact
    assert _betweenness_samples(10_000, 10**6, None) == 32  # big: at least 32 sources
    assert _betweenness_samples(10_000, 100_000, None) == 200  # ~2e7 edge visits
    assert _betweenness_samples(10_000, 10, None) == 256  # at most 256
    assert _betweenness_samples(10_000, 10**6, 5) == 5 and _betweenness_samples(9, 9, 50) is None
    with pytest.raises(ConfigError):
        _betweenness_samples(10, 10, 0)
