"""``Database.reading``: PostgreSQL reads on pooled connections, in parallel with a writer."""

from __future__ import annotations

import threading

import pytest
from rdflib import Literal, URIRef

from kg_engine.store.database import Database

pytestmark = pytest.mark.postgres

BATCH = URIRef("urn:ex:batch")
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:ex:batch> ?b }"


def _batch(b: int, n: int = 50) -> list:
    return [(URIRef(f"urn:ex:s{b}_{i}"), BATCH, Literal(b)) for i in range(n)]


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.new_database_url()


def test_threads_query_in_parallel_while_a_writer_commits(pg_url):
    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph(pg_url)
    kg.store.add(_batch(0))
    db = kg.store.db
    readers = 6
    answers: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    in_tx = threading.Event()
    read_during_tx = threading.Barrier(readers + 1, timeout=60)
    committed = threading.Event()

    def count() -> int:
        return int(next(iter(kg.query(COUNT)))[0])

    def writer() -> None:
        try:
            with db.transaction():
                kg.store.add(_batch(1))
                in_tx.set()
                # every reader answers while this transaction holds the main connection
                read_during_tx.wait()
            committed.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            read_during_tx.abort()

    def reader() -> None:
        try:
            assert in_tx.wait(60)
            n = count()
            with lock:
                answers.append(("during", n))
            read_during_tx.wait()
            assert committed.wait(60)
            n = count()
            with lock:
                answers.append(("after", n))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            read_during_tx.abort()

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(answers) == [("after", 100)] * readers + [("during", 50)] * readers
    assert 1 <= db.readers_open <= db.max_readers
    kg.close()


def test_reads_use_their_own_connections(pg_url):
    db = Database.connect(pg_url)
    main = db.scalar("SELECT pg_backend_pid()")
    pids: list[int] = []
    both_inside = threading.Barrier(3, timeout=60)

    def read() -> None:
        with db.reading():
            pids.append(db.scalar("SELECT pg_backend_pid()"))
            both_inside.wait()  # the other read is open at the same time

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    both_inside.wait()
    for t in threads:
        t.join(60)
    assert len(set(pids)) == 2 and main not in pids
    assert db.readers_open == 2
    # a read inside this thread's transaction joins it (sees its uncommitted write)
    db.execute("CREATE TABLE t (x INTEGER)")
    with db.transaction():
        db.execute("INSERT INTO t VALUES (1)")
        with db.reading():
            assert db.scalar("SELECT pg_backend_pid()") == main
            assert db.scalar("SELECT count(*) FROM t") == 1
    # a write inside a read commits on the main connection
    with db.reading():
        assert db.scalar("SELECT count(*) FROM t") == 1  # the read's snapshot starts here
        with db.transaction():
            db.execute("INSERT INTO t VALUES (2)")
        assert db.scalar("SELECT count(*) FROM t") == 1
    assert db.scalar("SELECT count(*) FROM t") == 2
    db.close()
    assert db.readers_open == 0


def test_sqlite_reads_share_the_connection(tmp_path):
    db = Database.connect(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    assert db.max_readers == 0
    with db.reading():
        assert db.fetchone("SELECT 1") == (1,)
    assert db.readers_open == 0
    db.close()
