"""An exception (Ctrl-C: ``KeyboardInterrupt``) anywhere in a write leaves no transaction open
on the store's connection, and the store as before or as after the write.

Each test makes one statement of a transaction raise, as a Ctrl-C arriving at that moment
does. Before the fixes the transaction stayed open (an exception right after ``BEGIN`` or
right before ``COMMIT``): the next write failed "cannot start a transaction within a
transaction"; an interrupted ``vacuum`` left the statistics refreshed and every term there;
statements ``kg.graph.add`` had accepted were lost when their write was interrupted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from rdflib import URIRef

from kg_engine import KnowledgeGraph
from kg_engine.store.database import Database
from kg_engine.testing.interrupts import leftovers

EX = "http://example.org/"
P = URIRef(EX + "p")


@contextmanager
def interrupted(db: Database, when: Callable[[str], bool], after: bool = False) -> Iterator[None]:
    """``KeyboardInterrupt`` from the first statement on ``db`` for which ``when(sql)`` holds
    (``after``: once it has run)."""
    real = db.execute
    fired = []

    def execute(text: str, params: tuple = ()) -> object:
        if fired or not when(text):
            return real(text, params)
        fired.append(text)
        if after:
            real(text, params)
        raise KeyboardInterrupt

    db.execute = execute  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
        assert fired, "the statement never ran"
    finally:
        del db.execute


@pytest.mark.parametrize(("statement", "after"), [("COMMIT", False), ("BEGIN", True)])
def test_an_interrupted_write_leaves_no_transaction_open(store_url: str, statement: str,
                                                         after: bool) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(EX + "a"), P, URIRef(EX + "b"))])
    with interrupted(kg.store.db, lambda sql: sql.startswith(statement), after):
        kg.add([(URIRef(EX + "c"), P, URIRef(EX + "d"))])
    assert leftovers(kg) == []
    kg.add([(URIRef(EX + "e"), P, URIRef(EX + "f"))])  # failed: "within a transaction"
    assert len(kg) == 2


def test_an_interrupted_read_leaves_no_transaction_open(store_url: str) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(EX + "a"), P, URIRef(EX + "b"))])
    db = kg.store.db
    with interrupted(db, lambda sql: sql.startswith("BEGIN"), after=True), db.snapshot():
        pass
    assert leftovers(kg) == []
    kg.add([(URIRef(EX + "c"), P, URIRef(EX + "d"))])
    assert len(kg) == 2


def test_an_interrupted_vacuum_changes_nothing(store_url: str) -> None:
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(EX + f"s{i}"), URIRef(EX + f"p{i % 3}"), URIRef(EX + "o")) for i in range(9)])
    kg.store.refresh_stats()
    kg.remove((None, URIRef(EX + "p0"), None))
    stats = kg.store.db.fetchall("SELECT p, triples FROM kg_stats ORDER BY p")
    with interrupted(kg.store.db, lambda sql: sql.startswith("DELETE FROM kg_terms")):
        kg.vacuum()
    assert kg.store.db.fetchall("SELECT p, triples FROM kg_stats ORDER BY p") == stats
    assert kg.vacuum()["terms_removed"] == 4  # p0 and its three subjects


def test_statements_graph_add_accepted_survive_an_interrupted_write(store_url: str) -> None:
    kg = KnowledgeGraph(store_url)
    kg.graph.add((URIRef(EX + "a"), P, URIRef(EX + "b")))  # buffered
    with interrupted(kg.store.db, lambda sql: sql.startswith("INSERT INTO kg_quads")):
        len(kg)  # writes the buffered statement first
    assert len(kg) == 1
