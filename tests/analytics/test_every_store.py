"""Views, write-back and exports on every store backend (SQLite file/memory, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, RDFS, Literal, URIRef

from kg_engine.api import KnowledgeGraph

from .conftest import ex


def test_view_analyze_export_on_every_backend(store_url: str, tmp_path: Path) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(ex("a"), ex("p"), ex("b")), (ex("b"), ex("p"), ex("c")), (ex("c"), ex("p"), ex("a")),
            (ex("a"), RDF.type, ex("T")), (ex("a"), RDFS.label, Literal("A", lang="en")),
            (ex("a"), ex("n"), Literal("007", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer")))])
    kg.add([(ex("c"), ex("q"), ex("d"))], graph="urn:g")
    g = kg.to_networkx()
    assert g.number_of_edges() == 4 and g.nodes[ex("a")]["label"] == "A"
    res = kg.analyze("pagerank")
    assert res.written == 4
    assert len(list(kg.query("SELECT * WHERE { GRAPH <urn:kg-engine:analytics:pagerank> "
                             "{ ?s <urn:kg-engine:analytics#pagerank> ?v } }"))) == 4
    assert kg.analyze("components", backend="rustworkx").values == \
        kg.analyze("components", write=False).values
    assert len(kg.shortest_path(ex("a"), ex("d")).triples) == 2
    assert set(kg.neighbourhood(ex("d"), 1).nodes) == {ex("d"), ex("c")}
    before = {q for q in kg.triples() if not str(q[3]).startswith("urn:kg-engine:analytics:")}
    for name in ("kg.nq", "kg.trig"):
        kg.export(tmp_path / name)
        fresh = KnowledgeGraph("sqlite://")
        fresh.load(tmp_path / name)
        assert {q for q in fresh.triples()} == before
    kg.export(tmp_path / "kg.graphml")
    kg.close()
