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


XSD = "http://www.w3.org/2001/XMLSchema#"


_VALUED = [(A, P, Literal("300", datatype=URIRef(XSD + "byte"))),
           (B, P, Literal("0.1", datatype=URIRef(XSD + "float"))),
           (C, P, Literal("7", datatype=URIRef(XSD + "byte")))]


def _version_2_store_with_old_values(url: str) -> None:
    """A store as kg-engine wrote it before 491ac12 and fd2be52 (schema version 2): an integer
    out of its subtype's range had a value (``"300"^^xsd:byte`` → 300), an ``xsd:float`` the
    double of its lexical form. Same tables; only the value columns differ."""
    store = open_store(url)
    store.add(_VALUED)
    with store.db.transaction():
        store.db.execute("UPDATE kg_terms SET num = 300 WHERE lex = '300'")
        store.db.execute("UPDATE kg_terms SET num = 0.1 WHERE lex = '0.1'")
        store.db.execute("UPDATE kg_meta SET value = '2' WHERE key = ?", (VERSION_KEY,))
    store.close()


def _answers(url: str, **kw: bool) -> list:
    from kg_engine.api import KnowledgeGraph

    filters = ["?x > 100", "isNumeric(?x)", "?x", "?x < 1", "?x = 0.1e0", "xsd:integer(?x) = 300"]
    with KnowledgeGraph(url, **kw) as kg:
        return [sorted(str(r[0]) for r in kg.query(
            f"PREFIX xsd: <{XSD}> SELECT ?s WHERE {{ ?s <{P}> ?x FILTER({f}) }}")) for f in filters]


def test_version_2_values_are_recomputed(url: str, tmp_path) -> None:
    _version_2_store_with_old_values(url)
    with pytest.raises(StoreError, match=r"2 literal\(s\) whose value .*kg vacuum"):
        _answers(url, readonly=True)  # refused, not answered from the old values
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    open_store(fresh).add(_VALUED)
    # the first writable open upgrades: "300"^^xsd:byte is ill-typed, the float not 0.1
    answers = _answers(url)
    assert answers == _answers(fresh)
    assert answers[:5] == [[], [str(B), str(C)], [str(B), str(C)], [str(B)], []]
    store = open_store(url, readonly=True)
    try:
        assert store.meta(VERSION_KEY) == SCHEMA_VERSION
        assert store.db.scalar("SELECT num FROM kg_terms WHERE lex = '300'") is None
        assert store.db.scalar("SELECT num FROM kg_terms WHERE lex = '7'") == 7
    finally:
        store.close()


def test_version_2_store_without_old_values_reads_as_it_is(url: str) -> None:
    store = open_store(url)
    store.add([(A, P, Literal("7", datatype=URIRef(XSD + "byte")))])
    store.db.execute("UPDATE kg_meta SET value = '2' WHERE key = ?", (VERSION_KEY,))
    store.close()
    store = open_store(url, readonly=True)
    try:
        assert store.meta(VERSION_KEY) == "2"  # read-only: nothing written, nothing refused
        assert store.count() == 1
    finally:
        store.close()


def test_version_2_closure_is_recomputed(url: str) -> None:
    """A reasoning profile's closure written by an older rule engine (before 0a8976e a
    conclusion asserted only in a named graph was left out of it) is recomputed by this one:
    live maintenance only extends or shrinks the closure it finds, so a missing conclusion
    stayed missing from every answer."""
    from kg_engine.api import KnowledgeGraph

    rdf_type = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    sub = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
    with KnowledgeGraph(url) as kg:
        kg.add([(A, rdf_type, B), (B, sub, C)])
        kg.reason("rdfs")
        ask = f"ASK {{ <{A}> a <{C}> }}"
        assert kg.query(ask).askAnswer
        with kg.store.db.transaction():  # the older engine's closure lacked A a C
            kg.store.db.execute(
                "DELETE FROM kg_quads WHERE g = (SELECT id FROM kg_terms WHERE lex = ?) "
                "AND s = (SELECT id FROM kg_terms WHERE lex = ?) AND o = (SELECT id FROM "
                "kg_terms WHERE lex = ?)", ("urn:kg-engine:inferred:rdfs", str(A), str(C)))
            kg.store.db.execute("UPDATE kg_meta SET value = '2' WHERE key = ?", (VERSION_KEY,))
    with pytest.raises(StoreError, match="reasoning profile rdfs.*kg vacuum"):
        KnowledgeGraph(url, readonly=True)
    with KnowledgeGraph(url) as kg:
        assert kg.store.meta(VERSION_KEY) == SCHEMA_VERSION
        assert kg.query(ask).askAnswer
    with KnowledgeGraph(url, readonly=True) as kg:
        assert kg.query(ask).askAnswer


def test_rules_engine_version_decides_a_recompute(url: str, monkeypatch) -> None:
    """The profile's closure records the rule engine's version (``kg_meta`` ``rules_engine``).
    A store without the key (computed before it existed) is read as it is; a store whose
    closure another engine version computed is recomputed on its first writable open — here a
    built-in rule set combined with user rules, rebuilt from what the profile records."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.store import reasoning

    rdf_type = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    sub = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
    rules = f"[mine: (?x <{EX}knows> ?y) -> (?x {rdf_type.n3()} <{EX}Social>)]"
    ask = f"ASK {{ <{A}> a <{C}> }}"

    def drop_a_c(kg) -> None:  # what an engine of another version would not have derived
        with kg.store.db.transaction():
            kg.store.db.execute(
                "DELETE FROM kg_quads WHERE g = (SELECT id FROM kg_terms WHERE lex = ?) "
                "AND s = (SELECT id FROM kg_terms WHERE lex = ?) AND o = (SELECT id FROM "
                "kg_terms WHERE lex = ?)", ("urn:kg-engine:inferred:rdfs+user", str(A), str(C)))
            kg.store.db.execute("DELETE FROM kg_meta WHERE key = 'rules_engine'")

    with KnowledgeGraph(url) as kg:
        kg.add([(A, URIRef(EX + "knows"), B), (URIRef(EX + "Social"), sub, C)])
        kg.reason(["rdfs", rules])
        assert kg.store.meta("rules_engine") == reasoning.RULES_ENGINE_VERSION == "1"
        assert kg.query(ask).askAnswer
        drop_a_c(kg)
    with KnowledgeGraph(url) as kg:  # no key: engine version 1, this one: nothing recomputed
        assert not kg.query(ask).askAnswer and kg.store.meta("rules_engine") is None
    monkeypatch.setattr(reasoning, "RULES_ENGINE_VERSION", "2")  # a later engine
    with pytest.raises(StoreError, match="rule engine version 1 computed.*kg vacuum"):
        KnowledgeGraph(url, readonly=True)
    with KnowledgeGraph(url) as kg:
        assert kg.query(ask).askAnswer and kg.store.meta("rules_engine") == "2"
        assert kg.reasoning == "rdfs+program"
        assert kg.explain(f"<{A}> a <{C}>").tree.premises[1].rule == "mine"
    with KnowledgeGraph(url, readonly=True) as kg:
        assert kg.query(ask).askAnswer
