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


def _triangle(store) -> tuple[str, str]:
    """A university-like triangle (LUBM q02's shape) and a two-pattern query over it."""
    ex = EX
    rows = []
    for u in range(4):
        uni = URIRef(f"{ex}u{u}")
        rows.append((uni, RDF.type, URIRef(ex + "Uni")))
        for d in range(3):
            dept = URIRef(f"{ex}u{u}d{d}")
            rows += [(dept, RDF.type, URIRef(ex + "Dept")), (dept, URIRef(ex + "sub"), uni)]
            for s in range(20):
                st = URIRef(f"{ex}u{u}d{d}s{s}")
                rows += [(st, RDF.type, URIRef(ex + "Student")), (st, URIRef(ex + "member"), dept),
                         (st, URIRef(ex + "from"), URIRef(f"{ex}u{(u + s) % 4}"))]
    store.add(rows)
    store.refresh_stats()
    p = f"PREFIX : <{ex}>\n"
    q02 = p + ("SELECT ?x ?y ?z WHERE { ?x a :Student . ?y a :Uni . ?z a :Dept . "
               "?x :member ?z . ?z :sub ?y . ?x :from ?y }")
    pair = p + "SELECT ?x ?n WHERE { ?x a :Student ; :member ?n }"
    return q02, pair


def test_small_multiway_joins_run_in_the_compiled_order_on_postgres(pg_server) -> None:
    """PostgreSQL (no statistic of distinct objects per predicate) runs a BGP of three or more
    patterns that the compiler estimates small in the compiler's order with nested loops,
    for that statement only: the session's planner settings are back afterwards; two-pattern
    BGPs keep PostgreSQL's own plan. Same answers as SQLite."""
    pg = open_store(pg_server.new_database_url())
    lite = open_store("sqlite://")
    try:
        answers = []
        for store in (pg, lite):
            q02, pair = _triangle(store)
            cq = compile_query(store, q02)
            assert cq.full and cq.pin_joins is (store.dialect == "postgresql")
            assert not compile_query(store, pair).pin_joins
            answers.append(sorted(tuple(map(str, r)) for r in cq.execute(store)[1]))
            if store.dialect == "postgresql":
                settings = "SELECT current_setting('join_collapse_limit'), current_setting('enable_hashjoin')"
                assert store.db.fetchone(settings) == ("8", "on")  # outside a transaction
                with store.db.snapshot():
                    rows = list(cq.execute(store)[1])
                    assert store.db.fetchone(settings) == ("8", "on")  # inside one
                assert len(rows) == len(answers[0])
                # the joint (p, o) statistics the pinned plans rely on
                assert store.db.scalar("SELECT count(*) FROM pg_statistic_ext "
                                       "WHERE stxname = 'kg_quads_po' "
                                       "AND stxnamespace = current_schema()::regnamespace") == 1
        assert answers[0] == answers[1] and len(answers[0]) == 60
    finally:
        pg.close()
        lite.close()
