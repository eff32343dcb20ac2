"""Write records: what wrote each statement that no file load holds, and what explain says.

A new user's walk-through: two ``kg load``s into the default graph, then ``INSERT DATA``; the
inserted triple was explained as "loaded from one of family.ttl or catalogue.jsonld" — files
that never held it — because writes left no record. Every test runs on each backend of the
``store_url`` fixture (SQLite file, in-memory, PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from kg_engine.api import KnowledgeGraph
from kg_engine.errors import KgEngineError
from kg_engine.store import writes

F = "http://family.example/"
FAMILY = f"""@prefix f: <{F}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
f:hasFather rdfs:subPropertyOf f:hasParent .
f:mia f:hasFather f:sven .
"""
CATALOGUE = '<http://shop.example/p1> <http://shop.example/name> "Teapot" .\n'


def f(name: str) -> URIRef:
    return URIRef(F + name)


@pytest.fixture
def kg(store_url: str, tmp_path: Path):
    (tmp_path / "family.ttl").write_text(FAMILY)
    (tmp_path / "catalogue.nt").write_text(CATALOGUE)
    with KnowledgeGraph(store_url) as kg:
        kg.load(tmp_path / "family.ttl")
        kg.load(tmp_path / "catalogue.nt")
        yield kg


def why(kg: KnowledgeGraph, triple: tuple) -> str:
    return str(kg.explain(triple))


def test_an_inserted_triple_is_written_by_the_update_not_loaded_from_a_file(kg, tmp_path):
    kg.update(f"PREFIX f: <{F}>\nINSERT DATA {{ f:ada f:hasFather f:bo }}")
    text = why(kg, (f("ada"), f("hasFather"), f("bo")))
    assert "written by SPARQL update at " in text, text
    assert "'INSERT DATA { f:ada f:hasFather f:bo }'" in text, text  # its first operation's line
    assert "family.ttl" not in text and "catalogue.nt" not in text, text
    [record] = kg.store.provenance_of((f("ada"), f("hasFather"), f("bo")))
    assert record.agent == writes.SPARQL_UPDATE and record.source.startswith(
        "kg-engine:sparql-update:")
    # a loaded triple still names the files it may come from
    text = why(kg, (f("mia"), f("hasFather"), f("sven")))
    assert f"loaded from one of {tmp_path / 'family.ttl'} or {tmp_path / 'catalogue.nt'}" in text


@pytest.mark.parametrize("request_text", [
    f"PREFIX f: <{F}> PREFIX x: <urn:x#> INSERT DATA {{ f:ada f:hasFather f:bo }}",
    f"# a comment\nBASE <{F}>\nprefix f:<{F}>\n\n  INSERT DATA {{ f:ada f:hasFather f:bo }}",
])
def test_a_write_record_names_the_operation_not_the_prefixes(kg, request_text):
    """A new user's catalogue update (``PREFIX lib: … INSERT DATA { … }``) was explained as
    "written by SPARQL update at …: 'PREFIX lib:  <https://library.example.net/ns#>'": the
    first line of almost every request is a PREFIX, which says nothing about the write."""
    kg.update(request_text)
    text = why(kg, (f("ada"), f("hasFather"), f("bo")))
    assert "'INSERT DATA { f:ada f:hasFather f:bo }'" in text, text


def test_deleted_then_inserted_again_is_written_by_the_update(kg, tmp_path):
    triple = (f("mia"), f("hasFather"), f("sven"))
    kg.update(f"DELETE DATA {{ <{F}mia> <{F}hasFather> <{F}sven> }}")
    kg.update(f"INSERT DATA {{ <{F}mia> <{F}hasFather> <{F}sven> }}")
    text = why(kg, triple)
    assert "written by SPARQL update" in text and "family.ttl" not in text, text


def test_inserting_a_loaded_triple_again_keeps_its_source(kg, tmp_path):
    kg.update(f"INSERT DATA {{ <{F}mia> <{F}hasFather> <{F}sven> }}")
    assert kg.store.provenance_of((f("mia"), f("hasFather"), f("sven"))) == []
    assert "written by" not in why(kg, (f("mia"), f("hasFather"), f("sven")))


def test_insert_where_and_copy_are_recorded(kg):
    kg.update(f"INSERT {{ ?c <{F}hasChild> ?f }} WHERE {{ ?c <{F}hasFather> ?f }}")
    assert "written by SPARQL update" in why(kg, (f("mia"), f("hasChild"), f("sven")))
    kg.update("COPY DEFAULT TO <urn:g>")
    [tree] = kg.explain((f("mia"), f("hasFather"), f("sven"))).trees
    assert "written by SPARQL update" in tree.render(), tree.render()  # the copy in <urn:g>


def test_a_triple_derived_from_an_updated_premise(kg):
    kg.reason("rdfs")
    kg.update(f"INSERT DATA {{ <{F}eve> <{F}hasFather> <{F}cy> }}")
    e = kg.explain((f("eve"), f("hasParent"), f("cy")))
    assert e.kind == "inferred"
    leaves = {leaf.triple: leaf for leaf in e.tree.asserted_leaves()}
    premise = leaves[(f("eve"), f("hasFather"), f("cy"))]
    assert [s.agent for s in premise.sources] == [writes.SPARQL_UPDATE]
    assert "written by SPARQL update" in str(e) and "loaded from one of" in str(e)


def test_added_through_the_api(kg):
    kg.add([(f("zoe"), f("hasFather"), f("al"))])
    text = why(kg, (f("zoe"), f("hasFather"), f("al")))
    assert "added through the API (KnowledgeGraph.add) at " in text, text
    assert "loaded from" not in text
    kg.store.add([(f("zoe"), f("hasFather"), f("bo"))])
    assert "added through the API (add)" in why(kg, (f("zoe"), f("hasFather"), f("bo")))


def test_a_later_load_may_hold_a_written_triple_too(kg, tmp_path):
    kg.update('INSERT DATA { <http://shop.example/p1> <http://shop.example/name> "Cup" }')
    (tmp_path / "more.nt").write_text('<http://shop.example/p1> <http://shop.example/name> "Cup" .\n')
    kg.load(tmp_path / "more.nt")
    text = why(kg, (URIRef("http://shop.example/p1"), URIRef("http://shop.example/name"),
                    Literal("Cup")))
    assert "written by SPARQL update" in text
    assert f"possibly also in {tmp_path / 'more.nt'}, loaded into its graph later" in text, text
    assert "catalogue.nt" not in text, text


def test_an_emptied_graph_forgets_its_files(kg, tmp_path):
    kg.update("CLEAR DEFAULT")
    assert kg.store.loads() == []
    kg.load(tmp_path / "catalogue.nt")
    text = why(kg, (URIRef("http://shop.example/p1"), URIRef("http://shop.example/name"),
                    Literal("Teapot")))
    assert text.endswith(f"loaded from {tmp_path / 'catalogue.nt'}]"), text


def test_a_store_of_an_older_kg_engine_may_hold_unrecorded_writes(kg, tmp_path):
    kg.store.set_meta(writes.RECORDED_KEY, None)  # as a store made before the records
    text = why(kg, (f("mia"), f("hasFather"), f("sven")))
    assert "one of: loaded from " in text, text
    assert "written by an update or add that this store, created by an older kg-engine, " \
           "did not record" in text, text


def test_failed_update_leaves_no_record(kg):
    with pytest.raises(KgEngineError):
        kg.update(f"INSERT DATA {{ <{F}x> <{F}p> <{F}y> }} ; LOAD <file:///no/such/file.ttl>")
    assert kg.store.provenance_of((f("x"), f("p"), f("y"))) == []
    assert len(kg.store.db.fetchall("SELECT 1 FROM kg_provenance")) == 0
