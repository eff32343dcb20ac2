"""Stores written by an older kg-engine are upgraded in place, losing nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from kg_engine.errors import StoreError
from kg_engine.store import open_store
from kg_engine.store.schema import LITERAL, SCHEMA_VERSION, VERSION_KEY
from kg_engine.store.terms import term_hash

EX = "https://example.org/"
A, B, C, P = (URIRef(EX + n) for n in "abcp")


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    return request.getfixturevalue("pg_server").new_database_url()


def _version_1_store(url: str, *, upper: bool) -> None:
    """A store as kg-engine 1 wrote it: tags as written, hashed as written, version '1'."""
    store = open_store(url)
    store.add([(A, P, Literal("chat", lang="en"))] + [(s, P, Literal("x")) for s in (A, B, C)])
    db = store.db
    with db.transaction():
        if upper:
            first = int(db.scalar("SELECT MAX(id) FROM kg_terms")) + 1000
            for id_, lex, tag in ((first, "chat", "EN"), (first + 1, "chien", "FR-ca")):
                db.execute("INSERT INTO kg_terms (id, h, kind, lex, dt, lang) VALUES (?, ?, ?, ?, 0, ?)",
                           (id_, term_hash(LITERAL, lex, None, tag), LITERAL, lex, tag))
            a, b, c, p = (db.scalar("SELECT id FROM kg_terms WHERE lex = ?", (str(t),))
                          for t in (A, B, C, P))
            # A p "chat"@EN is A p "chat"@en once merged; B's and C's statements move
            for s, o in ((a, first), (b, first), (c, first + 1)):
                db.execute("INSERT INTO kg_quads (g, s, p, o) VALUES (0, ?, ?, ?)", (s, p, o))
        db.execute("UPDATE kg_meta SET value = '1' WHERE key = ?", (VERSION_KEY,))
    store.close()


def test_version_1_store_is_upgraded_in_place(url: str) -> None:
    _version_1_store(url, upper=True)
    with pytest.raises(StoreError, match="kg vacuum"):
        open_store(url, readonly=True)  # a read-only open changes nothing and says what to run
    store = open_store(url)
    try:
        assert store.meta(VERSION_KEY) == SCHEMA_VERSION
        chat, chien = Literal("chat", lang="en"), Literal("chien", lang="fr-CA")
        assert sorted(s for s, _, _, _ in store.triples((None, P, chat))) == [A, B]
        assert [s for s, _, _, _ in store.triples((None, P, chien))] == [C]
        assert store.count() == 6  # A p "chat"@en once, B p "chat"@en, C p "chien"@fr-ca, 3 × "x"
        assert store.db.scalar("SELECT COUNT(*) FROM kg_terms WHERE lang <> lower(lang)") == 0
        store.add([(C, P, Literal("chat", lang="EN"))])
        assert sorted(s for s, _, _, _ in store.triples((None, P, chat))) == [A, B, C]
    finally:
        store.close()
    open_store(url, readonly=True).close()


def test_version_1_store_without_upper_case_tags_reads_as_it_is(url: str) -> None:
    _version_1_store(url, upper=False)
    store = open_store(url, readonly=True)
    try:
        assert store.meta(VERSION_KEY) == "1"  # read-only: nothing written
        assert store.count() == 4
    finally:
        store.close()
    store = open_store(url)
    assert store.meta(VERSION_KEY) == SCHEMA_VERSION
    store.close()
