"""Readers beside a writer see committed states only (kg_engine.testing.concurrency)."""

from __future__ import annotations

import pytest

from kg_engine.testing.concurrency import Schedule, run_path


def _url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cc.sqlite'}"


def test_schedule_keeps_the_invariants() -> None:
    states = Schedule(3, transactions=30).states()
    assert len({s.answer()[0] for s in states}) == 1  # the sum of the balances
    assert len({s.answer()[1] for s in states}) > 1  # the weighted sum tells states apart
    assert all(a[-1] == a[-2] for a in (s.answer() for s in states))


def test_one_knowledge_graph_shared_by_threads_beside_vacuum(tmp_path) -> None:
    # threads sharing one KnowledgeGraph on SQLite used its one connection at once: a
    # statement left running by a reader made the writer's checkpoint fail "database table
    # is locked" and the reader's own COMMIT "SQL statements in progress" (then every read
    # "cannot start a transaction within a transaction"), or the process hung for ever
    # (sqlite3 waits for SQLite's connection mutex holding the GIL)
    report = run_path("api-shared", _url(tmp_path), seed=2, transactions=16, readers=2,
                      kinds=("transfer", "vacuum", "member+"), min_reads=20)
    assert report.reads >= 20
    assert (report.inconsistent, report.errors, report.writer_errors) == (0, 0, 0), report.samples


def test_one_knowledge_graph_per_thread(tmp_path) -> None:
    report = run_path("api-own", _url(tmp_path), seed=1, transactions=16, readers=2, min_reads=20)
    assert (report.inconsistent, report.errors, report.writer_errors) == (0, 0, 0), report.samples
    assert report.transactions == 16


def test_kg_serve_clients(tmp_path) -> None:
    pytest.importorskip("httpx")
    report = run_path("serve", _url(tmp_path), seed=1, transactions=10, readers=2, min_reads=10)
    assert (report.inconsistent, report.errors, report.writer_errors) == (0, 0, 0), report.samples


def test_kg_query_processes(tmp_path) -> None:
    report = run_path("process", _url(tmp_path), seed=1, transactions=3, readers=1, min_reads=2,
                      kinds=("transfer", "move", "replace"))
    assert (report.inconsistent, report.errors, report.writer_errors) == (0, 0, 0), report.samples


def test_first_query_outside_sql_beside_a_commit(tmp_path) -> None:
    # a connection's first query answered outside SQL made rdflib bind its default prefixes
    # in the store inside the query's read snapshot: once another connection had committed,
    # the write failed "database is locked" (api-own path, seed 1: 54 of 1,097 reads)
    from rdflib import Literal, URIRef

    from kg_engine.api import KnowledgeGraph
    from kg_engine.testing.concurrency import FALLBACK_QUERY, prepare

    url = _url(tmp_path)
    prepare(url, Schedule(1))
    with KnowledgeGraph(url) as reader, KnowledgeGraph(url) as writer:
        db = reader.store.db
        done = []

        def commit_elsewhere() -> None:
            if not done:
                done.append(db.scalar("SELECT count(*) FROM kg_quads"))  # the snapshot starts
                writer.add([(URIRef("urn:x"), URIRef("urn:y"), Literal(1))])

        db.on_read.append(commit_elsewhere)
        rows = list(reader.query(FALLBACK_QUERY))
        assert done and len(rows) == 1
