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


@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///", "sqlite:///kg.sqlite", "sqlite:////tmp/a b/kg.sqlite",
    "sqlite:///:memory:", "sqlite:///C:\\x\\kg.sqlite", "sqlite:///a:b", "sqlite:///é/x",
    "sqlite:////", "sqlite:///x\ny", "sqlite:///a;b=c", "sqlite:/// lead",
    # not plain: SQLAlchemy parses these (query, %-escapes, user part)
    "sqlite:///kg.sqlite?mode=ro", "sqlite:///a%20b", "sqlite://user@/x",
])
def test_parse_url_of_sqlite_as_sqlalchemy(url):
    """Plain SQLite URLs are read without importing SQLAlchemy, to the same database."""
    from sqlalchemy.engine import make_url

    from kg_engine.store.database import parse_url

    dialect, parsed = parse_url(url)
    assert dialect == "sqlite" and parsed.database == make_url(url).database


def test_reading_a_store_does_not_import_sqlalchemy(tmp_path):
    """``kg query`` on an existing store never imports SQLAlchemy (~0.16 s CPU per process)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    code = ("import sys; from kg_engine import KnowledgeGraph; kg = KnowledgeGraph(sys.argv[1]);"
            "kg.update('INSERT DATA { <urn:a> <urn:p> 1 }'); kg.close();"
            "print('sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"  # creating the store builds the tables
    code = ("import sys; from kg_engine.cli.app import app_for; from typer.main import get_command;"
            "args = ['query', '--db', sys.argv[1], '--format', 'json', 'SELECT * { ?s ?p ?o }'];"
            "get_command(app_for(args)).main(args, standalone_mode=False);"
            "print(); print('sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    lines = out.stdout.strip().splitlines()
    assert '"value": "urn:a"' in lines[0] and lines[-1] == "False"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_writers_of_one_store_queue(backend, tmp_path, request):
    """Two connections adding statements with the same new terms at once: both writes land,
    each term stored once. PostgreSQL (before the writer lock): the second writer failed on
    the first one's term ids (duplicate key) and terms were stored twice."""
    from kg_engine.store import open_store
    from kg_engine.testing.crashes import problems

    url = (f"sqlite:///{tmp_path / 'kg.sqlite'}" if backend == "sqlite"
           else request.getfixturevalue("pg_server").new_database_url())
    open_store(url).close()
    stores = [open_store(url) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for r in range(4):
                start.wait()
                stores[k].add([(URIRef(f"urn:ex:s{r}_{i}"), BATCH, Literal(f"{r}-{i}-{k}"))
                               for i in range(200)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(stores[0]) == 2 * 4 * 200
        assert problems(stores[0].db) == []
    finally:
        for s in stores:
            s.close()


def test_external_sort_switches_the_sorter_and_restores_the_settings(tmp_path) -> None:
    # temp_store=FILE with a 1 MiB page cache meanwhile (SQLite's sorter then merges short
    # runs); the connection's settings come back, and it sorts correctly inside a transaction
    db = Database.connect(f"sqlite:///{tmp_path / 'x.sqlite'}")
    db.execute("CREATE TABLE t (x INTEGER, y INTEGER)")
    with db.transaction():
        db.executemany("INSERT INTO t VALUES (?, ?)", [((i * 7919) % 50_000, i) for i in range(50_000)])
        with db.external_sort() as external:
            assert external and db.scalar("PRAGMA temp_store") == 1
            assert db.scalar("PRAGMA cache_size") == -1024
            db.execute("CREATE INDEX t_x ON t (x)")
            assert [r[0] for r in db.fetchall("SELECT x FROM t ORDER BY x LIMIT 3")] == [0, 1, 2]
    assert db.scalar("PRAGMA temp_store") == 2 and db.scalar("PRAGMA cache_size") == -262144
    assert db.scalar("PRAGMA integrity_check") == "ok"


def test_external_sort_is_skipped_once_a_temporary_table_exists(tmp_path) -> None:
    # SQLite refuses to switch the temporary store inside a transaction once its temporary
    # database is open (and switching outside drops its tables): then nothing changes
    db = Database.connect(f"sqlite:///{tmp_path / 'x.sqlite'}")
    db.execute("CREATE TEMP TABLE kept (x INTEGER)")
    db.execute("INSERT INTO kept VALUES (1)")
    with db.transaction(), db.external_sort() as external:
        assert not external and db.scalar("PRAGMA temp_store") == 2
    assert db.scalar("SELECT x FROM kept") == 1


def test_an_rdf_file_given_as_the_store_says_how_to_load_it():
    # kg load --db extra.ttl kg.sqlite: the hint was "a SQLite file: sqlite:///extra.ttl"
    from kg_engine.errors import StoreURLError
    from kg_engine.store.database import _RDF_SUFFIXES, parse_url
    from kg_engine.store.loader import FORMATS

    assert set(_RDF_SUFFIXES) == set(FORMATS)
    for name in ("extra.ttl", "dump.nq.gz"):
        with pytest.raises(StoreURLError, match=f"kg load {name} --db sqlite:///kg.sqlite"):
            parse_url(name)


def test_a_write_past_the_file_size_limit_is_named(tmp_path) -> None:
    """SQLite reports EFBIG (ulimit -f) as a plain 'disk I/O error', which the store passed
    on as 'check the disk and the file system': the limit is named now, and the store is as
    it was."""
    import sqlite3

    from kg_engine.store import open_store
    from kg_engine.store.database import database_error
    from kg_engine.testing.iofaults import file_size_limit

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    store = open_store(url)
    store.add([(URIRef("urn:a"), URIRef("urn:p"), Literal("a"))])
    rows = [(URIRef(f"urn:s{i}"), URIRef("urn:p"), Literal("x" * 300 + str(i)))
            for i in range(3000)]
    with file_size_limit(200_000):
        with pytest.raises(sqlite3.OperationalError) as caught:
            store.add(rows)
        error = database_error(caught.value, url)
    assert str(error) == (
        f"{url} could not be written: the file would pass this process's file size limit "
        "(200,000 bytes, ulimit -f): raise the limit and run the command again")
    assert len(store) == 1
    store.close()


def test_a_full_disk_is_named_for_a_store_without_a_url() -> None:
    """database_error's url may be a description ("the store": the error came before the
    store was known): its full-disk message failed 'cannot parse database URL'."""
    import sqlite3

    from kg_engine.store.database import database_error

    err = sqlite3.OperationalError("database or disk is full")
    err.sqlite_errorname = "SQLITE_FULL"
    assert str(database_error(err, "the store")).startswith(
        "the store could not be written: the disk is full (")


def test_a_postgresql_server_out_of_space_is_named() -> None:
    """PostgreSQL's DiskFull (ENOSPC, or a write cut short by the server's file size limit:
    'could not extend file …: wrote only 3072 of 8192 bytes') said 'check the database's
    permissions and space'; it names the full disk or the limit now."""
    from psycopg import errors

    from kg_engine.store.database import database_error

    err = errors.DiskFull('could not extend file "base/5/t3_24714": wrote only 3072 of 8192 '
                          "bytes at block 2441")
    text = str(database_error(err, "postgresql+psycopg://kg:secret@db/kg"))
    assert text.startswith("PostgreSQL database postgresql+psycopg://kg:***@db/kg could not be "
                           "written: the server's disk is full or its file size limit reached")
    assert "wrote only 3072 of 8192 bytes" in text
    # the limit passed exactly: EFBIG, which the server raises as an internal error (it was
    # kg load's 'internal error … this is a bug in kg-engine', exit 1)
    err = errors.InternalError('could not extend file "base/5/t3_24714": File too large')
    assert "the server's disk is full or its file size limit reached" in str(
        database_error(err, "postgresql+psycopg://kg@db/kg"))


def test_a_writer_lock_timeout_names_the_database(monkeypatch) -> None:
    # PostgreSQL's writer lock, waited for in vain, read "the store is locked by another
    # writer": the database was not named (a Database kept no URL)
    import pytest

    from kg_engine.errors import StoreError
    from kg_engine.store.database import Database

    db = Database.connect("sqlite://")
    try:
        assert db.name == "sqlite://"

        class LockNotAvailable(Exception):
            pass

        def refused(*args, **kwargs):
            raise LockNotAvailable("canceling statement due to lock timeout")

        monkeypatch.setattr(db, "execute", refused)
        with pytest.raises(StoreError, match=r"^sqlite:// is locked by another writer"):
            db._lock_writers()
    finally:
        monkeypatch.undo()
        db.close()
