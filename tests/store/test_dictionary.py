"""The term dictionary's cache never outlives another process's vacuum (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from kg_engine.store import open_store
from kg_engine.testing.crashes import problems

EX = "https://example.org/"
A, B, P = URIRef(EX + "a"), URIRef(EX + "b"), URIRef(EX + "p")


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'kg.sqlite'}"
    return request.getfixturevalue("pg_server").new_database_url()


def test_a_term_freed_by_another_process_vacuum_is_created_again(url: str) -> None:
    """Process 1 cached the id of "gone"; process 2's vacuum deleted that term: a statement
    process 1 writes with it afterwards must name a term that exists (before: an id missing
    from kg_terms, the statement unreadable)."""
    writer, vacuumer = open_store(url), open_store(url)
    try:
        gone = Literal("gone")
        writer.add([(A, P, gone)])
        writer.remove((A, P, gone))  # "gone" is cached by `writer`, used by nothing
        assert vacuumer.vacuum(compact=False)["terms_removed"] >= 1
        writer.add([(B, P, gone)])
        assert problems(writer.db) == []
        assert [o for _, _, o, _ in vacuumer.triples((B, P, None))] == [gone]
        assert [o for _, _, o, _ in writer.triples((B, P, None))] == [gone]
    finally:
        writer.close()
        vacuumer.close()


def test_reads_forget_ids_freed_by_another_process_vacuum(url: str) -> None:
    """A reader whose cache maps a term to an id freed by another process's vacuum finds
    the term under its new id (before: no statement found; PostgreSQL's reads never
    checked)."""
    reader, other = open_store(url), open_store(url)
    try:
        gone = Literal("gone")
        other.add([(A, P, gone)])
        assert len(list(reader.triples((None, None, gone)))) == 1  # cached by `reader`
        other.remove((A, P, gone))
        other.vacuum(compact=False)
        other.add([(B, P, gone)])  # a new id
        assert [s for s, _, _, _ in reader.triples((None, None, gone))] == [B]
    finally:
        reader.close()
        other.close()
