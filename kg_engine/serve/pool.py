"""Connections for the server: readers in parallel with one writer.

Every request leases a :class:`~kg_engine.api.KnowledgeGraph` (one database connection) from
a :class:`StorePool`; a streamed response keeps its lease until the last byte is written.
On SQLite (WAL) each lease is its own connection, so readers run in parallel and never block
the writer; on PostgreSQL the pool is a pool of server connections. Writes additionally take
the pool's write lock, so there is one writer at a time, and every read runs inside
:meth:`~kg_engine.store.database.Database.snapshot`, so a reader never sees half of an update.
An in-memory database (``sqlite://``) exists once per connection: it gets a pool of one.
The connections share one id → term cache (ids belong to the database, not the connection).

The pool opens connections with the ``connect`` it is given (``KnowledgeGraph``: the CLI
passes it down, so this package does not import the layer above it).

Example:
    >>> from kg_engine.api import KnowledgeGraph
    >>> pool = StorePool("sqlite://", KnowledgeGraph)
    >>> with pool.writer() as kg:
    ...     kg.update('INSERT DATA { <urn:a> <urn:p> 1 }')
    >>> with pool.reader() as kg:
    ...     len(kg)
    1
    >>> pool.close()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kg_engine.errors import QueryTimeoutError
from kg_engine.sparql.compiler.decode import share_terms
from kg_engine.store.database import parse_url

__all__ = ["PoolBusyError", "StorePool"]


class PoolBusyError(QueryTimeoutError):
    """No connection of the pool came free in time (the server answers 503, Retry-After)."""


def _in_memory(url: str) -> bool:
    dialect, parsed = parse_url(url)
    return dialect == "sqlite" and parsed.database in (None, "", ":memory:")


class StorePool:
    """A bounded pool of open knowledge graphs on one database.

    Args:
        url: the database URL (see :class:`~kg_engine.api.KnowledgeGraph`).
        connect: opens a knowledge graph on ``url`` (``KnowledgeGraph``).
        size: most connections open at once (requests beyond it wait for a free one).
        setup: called with each new knowledge graph before its first lease (outside any
            snapshot: for one-time schema work such as creating tables).
        wait: seconds a request waits for a free connection before :class:`PoolBusyError`
            (``None``: as long as it takes).
    """

    def __init__(self, url: str, connect: Callable[[str], Any], size: int = 16,
                 setup: Callable[[Any], None] | None = None, wait: float | None = None) -> None:
        def make() -> Any:
            kg = connect(url)
            if self._all:  # term ids are the database's: one decoding cache for the pool
                share_terms(kg.store, self._all[0].store)
            if setup is not None:
                setup(kg)
            return kg

        self.url = url
        self.wait = wait
        self.size = 1 if _in_memory(url) else max(1, size)
        self._make = make
        self._all: list[Any] = []
        self._all.append(self._make())  # opened now: a bad URL fails at start-up
        self._idle: list[Any] = list(self._all)
        self._free = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._closed = False
        self.write_lock = threading.Lock()

    def acquire(self) -> Any:
        """Lease a knowledge graph (waits while ``size`` are leased, at most ``wait`` seconds);
        give it back with :meth:`release`.

        Raises:
            PoolBusyError: every connection stayed leased for ``wait`` seconds.
        """
        if not self._free.acquire(timeout=self.wait):
            raise PoolBusyError(
                f"all {self.size} database connections of the server stayed busy for "
                f"{self.wait:g} s (other requests' queries); retry later, or start kg serve "
                "with a lower --timeout so that slow queries give their connections back sooner")
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            kg = self._make()
        except BaseException:
            self._free.release()
            raise
        with self._lock:
            self._all.append(kg)
        return kg

    def release(self, kg: Any) -> None:
        """Return a leased knowledge graph (closed now if the pool was closed meanwhile)."""
        with self._lock:
            if self._closed:
                self._all.remove(kg)
            else:
                self._idle.append(kg)
                kg = None
        if kg is not None:
            kg.close()
        self._free.release()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        """A leased knowledge graph inside a read snapshot."""
        kg = self.acquire()
        try:
            with kg.store.db.snapshot():
                yield kg
        finally:
            self.release(kg)

    @contextlib.contextmanager
    def writer(self) -> Iterator[Any]:
        """A leased knowledge graph holding the write lock (one writer at a time)."""
        with self.write_lock:
            kg = self.acquire()
            try:
                yield kg
            finally:
                self.release(kg)

    def close(self) -> None:
        """Close the idle connections; a leased one (a response still streaming when the
        server stops) is closed when given back, not under its reader."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            for kg in idle:
                self._all.remove(kg)
        for kg in idle:
            kg.close()
