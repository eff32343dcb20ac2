"""The kg-engine marker: foreign databases are never changed, read-only opens write nothing.

Runs on every backend (SQLite file, in-memory, PostgreSQL when a server can be started).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_engine.errors import InputNotFoundError, StoreError
from kg_engine.store import SQLStore, open_store
from kg_engine.store.database import Database
from kg_engine.store.schema import SCHEMA_VERSION, VERSION_KEY


def _tables(url: str) -> list[str]:
    db = Database.connect(url)
    try:
        if db.dialect == "sqlite":
            rows = db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = db.fetchall("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = current_schema()")
        return sorted(str(r[0]) for r in rows)
    finally:
        db.close()


def test_a_new_store_carries_the_marker(store: SQLStore) -> None:
    assert store.meta(VERSION_KEY) == SCHEMA_VERSION
    store.set_meta("owner", "tests")
    assert store.meta("owner") == "tests"
    store.set_meta("owner", None)
    assert store.meta("owner") is None
    with pytest.raises(StoreError):
        store.set_meta(VERSION_KEY, "2")


def test_a_foreign_database_is_never_changed(store_url: str) -> None:
    if store_url == "sqlite://":
        pytest.skip("an in-memory database is new on every connection")
    db = Database.connect(store_url)
    db.execute("CREATE TABLE invoices (id INTEGER, amount INTEGER)")
    db.execute("INSERT INTO invoices VALUES (1, 100)")
    db.close()
    before = _tables(store_url)
    for kwargs in ({}, {"readonly": True}, {"create": False}):
        with pytest.raises(StoreError, match="not a kg-engine store.*invoices"):
            open_store(store_url, **kwargs)
    assert _tables(store_url) == before == ["invoices"]


def test_a_newer_store_is_refused_by_name(store: SQLStore) -> None:
    store.db.execute("UPDATE kg_meta SET value = '99' WHERE key = ?", (VERSION_KEY,))
    if store.url == "sqlite://":
        return
    with pytest.raises(StoreError, match="newer kg-engine"):
        open_store(store.url)


def test_read_only_open_of_a_missing_or_empty_store(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("sqlite:///"):
        missing = f"sqlite:///{tmp_path / 'missing.sqlite'}"
        with pytest.raises(InputNotFoundError, match="missing.sqlite"):
            open_store(missing, readonly=True)
        with pytest.raises(InputNotFoundError):
            open_store(missing, create=False)
        assert not (tmp_path / "missing.sqlite").exists()
        (tmp_path / "empty.sqlite").write_bytes(b"")
        with pytest.raises(StoreError, match="not a kg-engine store"):
            open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}", readonly=True)
        assert (tmp_path / "empty.sqlite").read_bytes() == b""
    elif store_url.startswith("postgresql"):
        with pytest.raises(StoreError, match="not a kg-engine store"):
            open_store(store_url, readonly=True)  # an empty database: nothing is created
        assert _tables(store_url) == []


def test_read_only_store_answers_without_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with open_store(url) as store:
        store.add([])
    before = (tmp_path / "kg.sqlite").read_bytes()
    with open_store(url, readonly=True) as store:
        assert len(store) == 0 and store.file_size() == len(before)  # no checkpoint
        with pytest.raises(Exception, match="readonly|read-only"):
            store.db.execute("DELETE FROM kg_quads")
    assert (tmp_path / "kg.sqlite").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]


def test_a_foreign_sqlite_file_keeps_every_byte(tmp_path: Path) -> None:
    """Somebody else's SQLite database (rollback journal, as sqlite3 makes it) is refused by
    every kind of open without a byte changed (before: a writable open switched it to WAL
    first, rewriting its header, and then said nothing was changed)."""
    import sqlite3

    path = tmp_path / "invoices.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER, amount INTEGER)")
    conn.execute("INSERT INTO invoices VALUES (1, 100)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for kwargs in ({}, {"readonly": True}, {"create": False}):
        with pytest.raises(StoreError, match="not a kg-engine store.*invoices"):
            open_store(f"sqlite:///{path}", **kwargs)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoices.sqlite"]


def test_a_read_only_store_sees_what_a_later_writer_commits(tmp_path: Path) -> None:
    """A read-only open (kg serve, kg query, a notebook) of a store no one was writing, then
    a writer: the reader sees each committed state, never a torn one. Before: it read the
    file as immutable, so it kept answering from stale pages and, once the writer's log was
    copied into the file, failed 'database disk image is malformed' on an intact store.
    Closing it leaves no -wal/-shm files behind."""
    from rdflib import Literal, URIRef

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    open_store(url).close()
    reader = open_store(url, readonly=True)
    assert len(reader) == 0
    with open_store(url) as writer:
        for batch in range(3):
            writer.add([(URIRef(f"urn:s{batch}_{i}"), URIRef("urn:p"), Literal(i))
                        for i in range(2000)])
            writer.checkpoint()  # the log copied into the file under the reader
            assert len(reader) == 2000 * (batch + 1)
    assert len(list(reader.triples((URIRef("urn:s2_7"), None, None)))) == 1
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]
