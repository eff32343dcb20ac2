"""Store conformance suite: run on SQLite (file and in-memory) and a real PostgreSQL server."""

from __future__ import annotations

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.core import DEFAULT_GRAPH, Provenance, TripleBatch
from kg_engine.store import SQLStore

EX = "https://example.org/"
A, B, C = URIRef(EX + "a"), URIRef(EX + "b"), URIRef(EX + "c")
P, Q = URIRef(EX + "p"), URIRef(EX + "q")
G1, G2 = URIRef(EX + "g1"), URIRef(EX + "g2")


def test_add_is_idempotent_and_counts_new_statements(store: SQLStore) -> None:
    assert store.add([(A, P, B), (A, P, C)]) == 2
    assert store.add([(A, P, B), (B, P, C)]) == 1
    assert len(store) == 3


def test_pattern_lookups(store: SQLStore) -> None:
    store.add([(A, P, B), (A, Q, C), (B, P, C)])
    assert {o for _, _, o, _ in store.triples((A, None, None))} == {B, C}
    assert {s for s, _, _, _ in store.triples((None, P, None))} == {A, B}
    assert {s for s, _, _, _ in store.triples((None, None, C))} == {A, B}
    assert list(store.triples((A, P, B))) == [(A, P, B, DEFAULT_GRAPH)]
    assert list(store.triples((URIRef(EX + "unknown"), None, None))) == []


def test_literals_keep_exact_lexical_form_datatype_and_language(store: SQLStore) -> None:
    literals = [
        Literal("01", datatype=XSD.integer, normalize=False),
        Literal("1", datatype=XSD.integer),
        Literal("1.0e0", datatype=XSD.double, normalize=False),
        Literal("chat", lang="fr"),
        Literal("chat", lang="EN-gb"),
        Literal("chat"),
        Literal("true", datatype=XSD.boolean),
        Literal("2020-01-01T00:00:00+02:00", datatype=XSD.dateTime, normalize=False),
        Literal("not a number", datatype=XSD.integer, normalize=False),
    ]
    store.add([(A, P, lit) for lit in literals])
    back = [o for _, _, o, _ in store.triples((A, P, None))]
    assert len(back) == len(literals)
    assert {(str(o), o.datatype, o.language) for o in back} == {
        (str(x), x.datatype, x.language and x.language.lower()) for x in literals
    }


def test_language_tags_are_case_insensitive(store: SQLStore, tmp_path) -> None:
    # one term whatever the spelling (rdflib's Literal compares them equal; RDF 1.2 too),
    # on every path in: add, load, and the lookup of a query constant
    store.add([(A, P, Literal("chat", lang="EN-GB"))])
    for ext in ("ttl", "nt"):
        (tmp_path / f"l.{ext}").write_text(f'<{B}> <{P}> "chat"@en-GB .\n')
        store.load(tmp_path / f"l.{ext}")
    assert store.count() == 2
    assert {o.language for _, _, o, _ in store.triples((None, P, None))} == {"en-gb"}
    assert {s for s, _, _, _ in store.triples((None, None, Literal("chat", lang="En-Gb")))} \
        == {A, B}


def test_xsd_string_is_the_simple_literal(store: SQLStore) -> None:
    store.add([(A, P, Literal("chat", datatype=XSD.string)), (A, P, Literal("chat"))])
    assert len(store) == 1
    assert (A, P, Literal("chat", datatype=XSD.string)) in store


def test_typed_value_columns(store: SQLStore) -> None:
    store.add([
        (A, P, Literal("01", datatype=XSD.integer, normalize=False)),
        (A, P, Literal("2.5", datatype=XSD.decimal)),
        (A, P, Literal("1970-01-02T00:00:00Z", datatype=XSD.dateTime, normalize=False)),
        (A, P, Literal("1970-01-01T02:00:00+02:00", datatype=XSD.dateTime, normalize=False)),
        (A, P, Literal("false", datatype=XSD.boolean)),
    ])
    rows = dict(store.db.fetchall("SELECT lex, coalesce(num, dtm, bln) FROM kg_terms WHERE kind = 3"))
    assert rows["01"] == 1.0 and rows["2.5"] == 2.5
    assert rows["1970-01-02T00:00:00Z"] == 86400.0
    assert rows["1970-01-01T02:00:00+02:00"] == 0.0
    assert rows["false"] == 0


def test_named_graphs_and_default_graph_are_distinct(store: SQLStore) -> None:
    store.add([(A, P, B)])
    store.add([(A, P, B), (B, P, C)], graph=G1)
    store.add([(A, Q, C, G2)])
    assert store.count(DEFAULT_GRAPH) == 1
    assert store.count(G1) == 2
    assert store.count() == 4
    assert set(store.graphs()) == {G1, G2}
    assert {g for *_, g in store.triples((A, P, B))} == {DEFAULT_GRAPH, G1}
    store.create_graph(URIRef(EX + "empty"))
    assert URIRef(EX + "empty") in store.graphs()
    assert store.drop_graph(G1) == 2
    assert G1 not in store.graphs() and store.count() == 2


def test_remove_patterns_and_quads(store: SQLStore) -> None:
    store.add([(A, P, B), (A, P, C), (B, Q, C)])
    store.add([(A, P, B)], graph=G1)
    assert store.remove((A, P, None), DEFAULT_GRAPH) == 2
    assert store.count() == 2
    assert store.remove_quads([(B, Q, C), (A, Q, A)]) == 1
    assert list(store.triples()) == [(A, P, B, G1)]
    assert store.remove((None, None, None)) == 1 and len(store) == 0


def test_blank_nodes_round_trip(store: SQLStore) -> None:
    b = BNode()
    store.add([(b, P, A), (A, Q, b)])
    (s, _, _, _), = store.triples((None, P, None))
    assert s == b


def test_provenance_is_stored_and_removed_by_source(store: SQLStore) -> None:
    prov = Provenance(kind="extracted", source="doc-1", sentence=0, start=0, end=10,
                      text="A p B.", agent="test", version="1", confidence=0.9)
    batch = TripleBatch.of([(A, P, B), (A, P, C)], provenance=prov)
    assert store.add_batch(batch) == 2
    store.add([(A, P, C)])  # also asserted without provenance: survives remove_source
    store.add_batch(TripleBatch.of([(A, P, C)], provenance=Provenance(kind="extracted",
                                                                      source="doc-2")))
    assert store.provenance_of((A, P, B)) == [prov]
    assert {p.source for p in store.provenance_of((A, P, C))} == {"doc-1", "doc-2"}
    assert store.remove_source("doc-1") == 1
    assert (A, P, B) not in store and (A, P, C) in store
    assert [p.source for p in store.provenance_of((A, P, C))] == ["doc-2"]


def test_failed_batch_leaves_store_unchanged(store: SQLStore) -> None:
    store.add([(A, P, B)])
    before = (len(store), store.db.scalar("SELECT count(*) FROM kg_terms"))
    with pytest.raises(ZeroDivisionError), store.db.transaction():
        store.add([(A, P, C), (C, P, URIRef(EX + "new"))])
        raise ZeroDivisionError("an error inside the transaction")
    assert (len(store), store.db.scalar("SELECT count(*) FROM kg_terms")) == before
    # the dictionary cache was dropped with the rollback: the terms can be added again
    assert store.add([(C, P, URIRef(EX + "new"))]) == 1


def test_statistics(store: SQLStore) -> None:
    store.add([(A, P, B), (A, P, C), (B, P, C), (A, Q, C)])
    store.refresh_stats()
    ids = store.term_ids([P, Q])
    stats = store.predicate_stats()
    assert stats[ids[P]] == (3, 2, 2)
    assert stats[ids[Q]] == (1, 1, 1)


def test_reopening_keeps_data(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite'}"
    with SQLStore(url) as s:
        s.add([(A, P, Literal("x"))], graph=G1)
    with SQLStore(url) as s:
        assert list(s.triples()) == [(A, P, Literal("x"), G1)]


def test_datatype_iri_used_as_a_term_in_the_same_batch_is_one_term(store: SQLStore) -> None:
    store.add([(A, P, Literal("2020-01-02", datatype=XSD.date)), (P, URIRef(EX + "range"), XSD.date)])
    rows = store.db.fetchall("SELECT id FROM kg_terms WHERE lex = ?", (str(XSD.date),))
    assert len(rows) == 1
    (dt,) = store.db.fetchone("SELECT dt FROM kg_terms WHERE lex = '2020-01-02'")
    assert dt == rows[0][0]


@pytest.mark.postgres
def test_postgres_sessions_run_without_jit(pg_server) -> None:
    from kg_engine.store import open_store

    store = open_store(pg_server.new_database_url())
    assert store.db.execute("SHOW jit").fetchone()[0] == "off"
    url = pg_server.new_database_url().replace("options=-c", "options=-cjit%3Don%20-c")
    assert open_store(url).db.execute("SHOW jit").fetchone()[0] == "on"  # asked for: kept


def test_readonly_store_writes_nothing_on_every_backend(store_url: str) -> None:
    """``readonly=True`` on PostgreSQL wrote anyway: ``kg.remove()`` deleted every statement
    of the store, while ``kg.add`` failed with the driver's ``UndefinedTable: kg_stage``
    (found by kg_engine.testing.apimodel)."""
    from kg_engine import KnowledgeGraph
    from kg_engine.errors import StoreError

    with KnowledgeGraph(store_url) as kg:
        kg.add([(A, P, Literal("kept"))])
    if store_url == "sqlite://":
        return  # an in-memory store cannot be reopened
    with KnowledgeGraph(store_url, readonly=True) as ro:
        for write in (lambda: ro.add([(A, P, Literal("new"))]), lambda: ro.remove(),
                      lambda: ro.update("CLEAR ALL"), lambda: ro.reason("rdfs")):
            with pytest.raises(StoreError):
                write()
        assert [str(o) for _, _, o, _ in ro.triples()] == ["kept"]
        assert len(list(ro.query("SELECT * WHERE { ?s ?p ?o }"))) == 1


def test_vacuum_frees_unused_terms_and_never_reuses_ids(store) -> None:
    from rdflib import Literal, URIRef

    from kg_engine.store.schema import TERM_ID_COLUMNS

    keep = (URIRef("urn:a"), URIRef("urn:p"), Literal("1968-11-02", datatype=XSD.date))
    store.add([keep])
    terms_before = store.db.scalar("SELECT count(*) FROM kg_terms")
    churn = [(URIRef(f"urn:s{i}"), URIRef("urn:q"), Literal(f"v{i}")) for i in range(50)]
    for _ in range(3):  # the dictionary does not grow under churn once vacuumed
        store.add(churn)
        store.remove((None, URIRef("urn:q"), None))
        top = store.db.scalar("SELECT max(id) FROM kg_terms")
        out = store.vacuum()
        assert out["terms_removed"] == 101 and out["terms"] == terms_before
    # the literal's datatype term stays; freed ids are not handed out again
    assert next(iter(store.triples((URIRef("urn:a"), None, None))))[:3] == keep
    store.add([(URIRef("urn:new"), URIRef("urn:p"), Literal("x"))])
    assert store.db.scalar("SELECT min(id) FROM kg_terms WHERE lex = 'urn:new'") > top
    assert "kg_quads" in TERM_ID_COLUMNS and "kg_rules_derivations" in TERM_ID_COLUMNS


def test_every_table_with_term_ids_is_known_to_vacuum() -> None:
    """A table holding term ids that vacuum does not read would lose its terms."""
    from kg_engine.rules import tables
    from kg_engine.store import schema

    for md in (schema.metadata, tables.metadata):
        for table in md.sorted_tables:
            ids = {c.name for c in table.columns if c.name in ("g", "s", "p", "o", "rep", "graph")
                   or (c.name == "id" and table.name in ("kg_graphs", "kg_rules_sameas"))}
            assert ids <= set(schema.TERM_ID_COLUMNS.get(table.name, ())), table.name


@pytest.mark.postgres
def test_statistics_of_one_store_leave_the_other_stores_of_the_database_alone(pg_server) -> None:
    # a bare ANALYZE took every table of the database: with hundreds of stores (schemas) in
    # it, a load ran out of lock memory ("out of shared memory")
    mine, other = SQLStore(pg_server.new_database_url()), SQLStore(pg_server.new_database_url())
    other.add([(A, P, Literal(str(i))) for i in range(50)])
    schema = other.db.scalar("SELECT current_schema()")
    query = ("SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = ? AND c.relname = 'kg_quads'")
    before = mine.db.scalar(query, (schema,))
    mine.add([(A, P, B)])
    mine.refresh_stats()
    assert mine.db.scalar(query, (schema,)) == before  # not analysed by the other store
    mine.close()
    other.close()


def test_a_staged_delete_looks_each_statement_up_in_the_stage(tmp_path) -> None:
    """A large DELETE's match of a candidate quad against the staged ones is an index
    look-up, not a scan of the stage per candidate (8,330 LUBM(1) statements: 47 s)."""
    from kg_engine.store import open_store
    from kg_engine.store.sqlstore import quads_in

    store = open_store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    ex = "https://example.org/"
    store.add([(URIRef(f"{ex}s{i}"), URIRef(ex + "p"), Literal(i)) for i in range(50)])
    plan = " | ".join(str(r[3]) for r in store.db.fetchall(
        "EXPLAIN QUERY PLAN DELETE FROM kg_quads WHERE " + quads_in("kg_quads", "kg_stage")))
    assert "kg_stage_spog" in plan, plan
    assert store.remove_quads([(URIRef(f"{ex}s{i}"), URIRef(ex + "p"), Literal(i))
                               for i in range(0, 50, 2)]) == 25
    assert len(store) == 25
    store.close()


def _open_new(path: str) -> str:
    from kg_engine.store import open_store

    try:
        open_store(f"sqlite:///{path}").close()
    except Exception as exc:  # noqa: BLE001 - returned to the test
        return f"{type(exc).__name__}: {exc}"
    return ""


def test_processes_creating_one_store_at_once_all_open_it(tmp_path) -> None:
    """Several processes creating the same new store: each finds it created or creates it,
    under the write lock (before: SQLAlchemy's check-then-create, outside any transaction,
    failed 'table kg_terms already exists' in the slower one, and a kill meanwhile left a
    half schema)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        for round_ in range(3):
            path = str(tmp_path / f"new{round_}.sqlite")
            assert pool.map(_open_new, [path] * 8) == [""] * 8


def test_staging_table_is_made_on_first_use(tmp_path) -> None:
    # SQLite: a store that never stages never opens the temporary database (so a bulk load
    # can sort its index builds in files, Database.external_sort); adds, removals and graph
    # copies create the staging table when they need it, also after a rolled-back first use
    from kg_engine.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    assert [r[1] for r in store.db.fetchall("PRAGMA database_list")] == ["main"]
    with pytest.raises(RuntimeError), store.db.transaction():
        store.add([(A, P, B)])  # adds stage their rows
        raise RuntimeError("roll back")
    store.add([(A, P, B), (A, P, C), (B, Q, C)])
    with pytest.raises(RuntimeError), store.db.transaction():
        store.remove_quads([(A, P, B)])
        raise RuntimeError("roll back")
    assert len(store) == 3
    assert store.remove_quads([(A, P, B)]) == 1
    store.create_graph(G1)
    assert store.copy_graph(store.term_ids([DEFAULT_GRAPH])[DEFAULT_GRAPH],
                            store.term_ids([G1])[G1]) == 2
    assert store.remove((None, Q, None)) == 2 and len(store) == 2  # (A, P, C) in both graphs


def test_remove_takes_the_derivations_of_inferred_statements_it_removes(store_url: str) -> None:
    # after reason(live=False) remove() over every graph removed inferred statements but left
    # their derivations: kg check found "derivation(s) of missing statements" (found by
    # benchmarks/interrupts.py --backend sqlite, seed 44, uninterrupted)
    from kg_engine import KnowledgeGraph
    from kg_engine.store.check import problems

    ex = "http://example.org/"
    rdf_type = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    kg = KnowledgeGraph(store_url)
    kg.add([(URIRef(ex + "C0"), URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
             URIRef(ex + "C1")), (URIRef(ex + "e2"), rdf_type, URIRef(ex + "C0"))])
    kg.reason("rdfs", live=False)
    assert (URIRef(ex + "e2"), rdf_type, URIRef(ex + "C1")) in {q[:3] for q in kg.triples()}
    kg.remove((URIRef(ex + "e2"), None, None))
    assert problems(kg.store.db) == []
    assert list(kg.triples((URIRef(ex + "e2"), None, None))) == []
    kg.close()


def test_checkpoint_does_not_wait_for_another_process(tmp_path) -> None:
    # a load's checkpoint after its commit (PRAGMA wal_checkpoint(TRUNCATE)) waited the
    # busy timeout (30 s) for every reader of an older snapshot and every writer of the
    # file: kg load of one statement beside a kg serve answering a query took 21 s, its
    # statements committed after 1 s (kg_engine.testing.writers)
    import threading

    from kg_engine.store import open_store

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with open_store(url) as writer, open_store(url) as reader:
        writer.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
        writer.db.execute("PRAGMA busy_timeout=3600000")  # a wait would outlast the test
        done = threading.Event()
        with reader.db.snapshot():
            assert len(reader) == 1  # the reader's snapshot: before the next write
            writer.add([(URIRef("urn:c"), URIRef("urn:p"), URIRef("urn:d"))])
            thread = threading.Thread(target=lambda: (writer.checkpoint(), done.set()),
                                      daemon=True)
            thread.start()
            returned = done.wait(30)  # the reader still reads meanwhile
        thread.join()
        assert returned, "the checkpoint waited for the reader to finish"
        assert writer.db.scalar("PRAGMA busy_timeout") == 3600000  # restored
        writer.checkpoint()  # alone now: the log is folded into the file and truncated
        assert (tmp_path / "kg.sqlite-wal").stat().st_size == 0
