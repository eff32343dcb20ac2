"""The server's connection pool (kg_engine.serve.pool)."""

from __future__ import annotations

import sqlite3

import pytest

from kg_engine.api import KnowledgeGraph
from kg_engine.serve.pool import StorePool


def test_close_leaves_a_leased_connection_to_its_reader(tmp_path) -> None:
    # the server stopping mid-stream closed every connection, the streaming worker's too:
    # its next batch failed "Cannot operate on a closed database" (logged by kg serve)
    pool = StorePool(f"sqlite:///{tmp_path / 'p.sqlite'}", KnowledgeGraph)
    with pool.writer() as kg:
        kg.update("INSERT DATA { <urn:a> <urn:p> 1, 2, 3 }")
    idle, other = pool.acquire(), pool.acquire()  # two connections: one stays idle
    pool.release(idle)
    pool.release(other)
    with pool.reader() as kg:
        assert kg is not idle
        batches = kg.store.db.stream("SELECT s, p, o FROM kg_quads", batch=1)
        seen = len(next(batches))
        pool.close()
        with pytest.raises(sqlite3.ProgrammingError):
            idle.store.db.execute("SELECT 1")  # the idle one is closed at once
        seen += sum(len(b) for b in batches)
        assert seen == 3
        assert len(kg) == 3
    with pytest.raises(sqlite3.ProgrammingError):
        kg.store.db.execute("SELECT 1")  # closed when given back
