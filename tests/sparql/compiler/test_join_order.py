"""Join order of basic graph patterns (kg_engine/sparql/compiler/bgp.py)."""

from __future__ import annotations

from rdflib import RDF, URIRef

from kg_engine.sparql.compiler import compile_query
from kg_engine.store import open_store

EX = "urn:ex:"


def test_classes_larger_than_the_count_cap_start_from_the_smaller() -> None:
    """``?x a :Big . ?x a :Small`` with both classes over the first count cap (1000): the
    join starts from the smaller class (before the deeper count the written order won, which
    made LUBM q02 at 10 M triples ~100x slower than at 1.3 M)."""
    store = open_store("sqlite://")
    big, small = URIRef(EX + "Big"), URIRef(EX + "Small")
    rows = [(URIRef(f"{EX}b{i}"), RDF.type, big) for i in range(6000)]
    rows += [(URIRef(f"{EX}b{i}"), RDF.type, small) for i in range(0, 6000, 4)]  # 1500
    store.add(rows)
    store.refresh_stats()
    ids = store.term_ids([big, small])
    for text in (f"SELECT ?x WHERE {{ ?x a <{big}> . ?x a <{small}> }}",
                 f"SELECT ?x WHERE {{ ?x a <{small}> . ?x a <{big}> }}"):
        cq = compile_query(store, text)
        assert cq.full
        objects = [p for p in cq.params if p in (ids[big], ids[small])]
        assert objects[0] == ids[small], cq.sql
        assert len(list(cq.execute(store)[1])) == 1500
