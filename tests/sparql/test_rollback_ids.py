"""Term ids handed out in a transaction that is rolled back go to the next new terms: no
cache of the SPARQL layer may still name the rolled-back terms by them.

A failed update (here its ``LOAD`` of a file that does not exist yet) that had read the terms
it created left their ids in the id → term cache of decoded results and in the compiled
plans of its own operations; the next new term got the same id. Before the fix a query then
answered ``<new1>`` for ``<new2>``'s statement, and the same update run again once the file
was there deleted ``<new2>``'s statement in place of ``<new1>``'s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from kg_engine import KnowledgeGraph
from kg_engine.sparql.update import UpdateError

EX = "http://example.org/"
P, B = URIRef(EX + "p"), URIRef(EX + "b")
NEW1, NEW2 = URIRef(EX + "new1"), URIRef(EX + "new2")


def _subjects(kg: KnowledgeGraph) -> list[str]:
    return sorted(str(r.s) for r in kg.query(f"SELECT ?s WHERE {{ ?s <{P}> ?o }}"))


def test_a_rolled_back_update_leaves_no_decoded_terms(store_url: str, tmp_path: Path) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(EX + "a"), P, B)])
    missing = (tmp_path / "later.ttl").as_uri()
    failing = (f"INSERT DATA {{ <{NEW1}> <{P}> <{B}> }} ; "
               f"INSERT {{ ?s <{EX}q> ?o }} WHERE {{ ?s <{P}> ?o }} ; LOAD <{missing}>")
    with pytest.raises(UpdateError):  # the LOAD fails: everything is rolled back
        kg.update(failing)
    kg.add([(NEW2, P, B)])  # the only new term: <new1>'s id in the update
    assert _subjects(kg) == [EX + "a", str(NEW2)]


def test_a_rolled_back_update_leaves_no_compiled_plans(store_url: str, tmp_path: Path) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(EX + "a"), P, B)])
    later = tmp_path / "later.ttl"
    update = (f"INSERT DATA {{ <{NEW1}> <{P}> <{B}> }} ; "
              f"INSERT {{ ?o <{EX}q> <{NEW1}> }} WHERE {{ <{NEW1}> <{P}> ?o }} ; "
              f"LOAD <{later.as_uri()}>")
    with pytest.raises(UpdateError):  # the file is not there yet: rolled back
        kg.update(update)
    kg.add([(NEW2, P, URIRef(EX + "c"))])  # <new2> gets <new1>'s id in the update
    later.write_text(f"<{EX}d> <{P}> <{B}> .\n", encoding="utf-8")
    kg.update(update)  # the user runs the cell again, the file is there now
    assert sorted(str(r.o) for r in kg.query(f"SELECT ?o WHERE {{ ?o <{EX}q> ?n }}")) == [str(B)]
