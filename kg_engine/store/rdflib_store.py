"""The rdflib ``Store`` plugin over :class:`~kg_engine.store.sqlstore.SQLStore`.

Graph-aware, context-aware and transaction-aware, so ``rdflib.Dataset(store=…)`` and every
rdflib tool work on the SQL store. Statements added one by one (``Graph.add``) are buffered and
written in batches through the store's bulk path — never one transaction per triple; the buffer
is flushed before any read, on ``commit()`` and on ``close()``, so reads always see earlier
writes. ``Graph.parse`` into the store is strict (kg-engine's Turtle/TriG/N-Triples/N-Quads
parsers), keeps lexical forms, and writes all of a document or nothing
(:mod:`kg_engine.store.rdflib_parsers`). Writes are autocommitted, as with
rdflib's other SQL stores, unless ``begin()`` opened an explicit transaction, which
``commit()`` or ``rollback()`` ends.

With a reasoning profile set (:mod:`kg_engine.store.reasoning`), reads of the *default graph*
(``triples()``, ``len()``, ``in``, and so the Dataset's ``default_graph``) see asserted ∪
inferred statements, as queries do; ``include_inferred=False`` (on the store) or the
:func:`asserted_only` block opts out. The inferred graph stays a named graph of its own:
named graphs, ``quads()`` and ``contexts()`` are unchanged, and prediction/analytics graphs
are never merged. SPARQL evaluation reads inside :func:`asserted_only` (its dataset merges
the inferred graph itself, so a fallback query sees each inference once).

The SPARQL layer subclasses this store to answer ``query()``/``update()`` in SQL
(:mod:`kg_engine.sparql`); this base class declines them.

Example:
    >>> from rdflib import Dataset, URIRef, Literal
    >>> ds = Dataset(store=KgEngineStore("sqlite://"))
    >>> g = ds.graph(URIRef("urn:g"))
    >>> g.add((URIRef("urn:a"), URIRef("urn:p"), Literal("x")))  # doctest: +ELLIPSIS
    <Graph identifier=urn:g ...>
    >>> [str(o) for o in g.objects(URIRef("urn:a"), URIRef("urn:p"))]
    ['x']
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import _NAMESPACE_PREFIXES_CORE, _NAMESPACE_PREFIXES_RDFLIB
from rdflib.paths import Path as RdfPath
from rdflib.store import NO_STORE, VALID_STORE, Store

from kg_engine.core.batch import TripleBatch
from kg_engine.core.terms import DEFAULT_GRAPH
from kg_engine.errors import KgEngineError
from kg_engine.store.n3data import check_data_statement
from kg_engine.store.rdflib_parsers import register as register_parsers
from kg_engine.store.sqlstore import SQLStore
from kg_engine.store.writes import api_record

#: rdflib's default prefixes (``bind_namespaces="rdflib"``): what its namespace managers bind
#: unasked
_RDFLIB_DEFAULTS: dict[str, str] = {
    p: str(ns) for p, ns in {**_NAMESPACE_PREFIXES_CORE, **_NAMESPACE_PREFIXES_RDFLIB}.items()}

__all__ = ["KgEngineStore", "asserted_only"]

register_parsers()  # Graph.parse into this store: strict and atomic (store.rdflib_parsers)

_ASSERTED_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("kg_asserted_only",
                                                                      default=False)


@contextlib.contextmanager
def asserted_only() -> Iterator[None]:
    """Inside this block the plugin's default graph holds asserted statements only, even
    with a reasoning profile (the per-call ``include_inferred=False``; the SPARQL engine
    evaluates inside it, its query dataset merging the inferred graph where asked).

    Example:
        >>> with asserted_only():
        ...     pass
    """
    token = _ASSERTED_ONLY.set(True)
    try:
        yield
    finally:
        _ASSERTED_ONLY.reset(token)


def _url_of(configuration: str, create: bool) -> str | None:
    """The database URL for ``open(configuration)``: a URL as is, a path as SQLite."""
    if "://" in configuration:
        return configuration
    path = Path(configuration).expanduser()
    if path.is_dir() or (not path.exists() and not path.suffix):
        if not path.exists():
            if not create:
                return None
            path.mkdir(parents=True)
        path = path / "kg.sqlite"
    if not path.exists() and not create:
        return None
    return f"sqlite:///{path.resolve()}"

_BUFFER = 50_000  # statements buffered before a write-through


class KgEngineStore(Store):
    """rdflib Store over a kg-engine SQL store.

    Args:
        configuration: a database URL (opened at once) or ``None`` (call ``open`` later).
        identifier: rdflib store identifier (unused; kept for the Store signature).
        store: an already open :class:`SQLStore` to wrap instead of a URL.
        include_inferred: with a reasoning profile, the default graph holds asserted ∪
            inferred statements (``False``: asserted only; settable later).
    """

    context_aware = True
    formula_aware = True  # rdflib's N3 parser needs it; formulae are refused (store.n3data)
    transaction_aware = True
    graph_aware = True

    def __init__(
        self,
        configuration: str | None = None,
        identifier: URIRef | None = None,
        *,
        store: SQLStore | None = None,
        include_inferred: bool = True,
    ) -> None:
        super().__init__(configuration=None, identifier=identifier)
        self.sql: SQLStore | None = store
        self.include_inferred = include_inferred
        self._buffer = TripleBatch()
        self._graphs: dict[Any, Graph] = {}
        self._tx: contextlib.ExitStack | None = None
        #: prefix bindings made on a read-only store live in memory only
        self._session_ns: dict[str, URIRef] = {}
        #: bindings written inside a transaction around bind() (a SPARQL update's, begin()'s)
        #: that has not committed yet: see bind()
        self._unsure_ns: dict[str, URIRef] = {}
        self._watched: Any = None  # the Database whose commits and begins clear/rewrite them
        #: SQLite: ((data_version, total_changes), bindings in kg_meta), read again when
        #: another connection has committed or this one has written (a load keeps the
        #: file's prefixes) — queries declare the bound prefixes: read for every query
        self._stored_ns: tuple[Any, dict[str, URIRef]] | None = None
        if configuration is not None and store is None:
            self.open(configuration)

    # -- lifecycle -----------------------------------------------------------------------
    def open(self, configuration: str, create: bool = True) -> int:
        """Open the store at a database URL, or at a path as rdflib users write it.

        A path that is a directory (or has no suffix) holds the database as ``kg.sqlite``;
        any other path is the SQLite file itself. Returns ``VALID_STORE``, or ``NO_STORE``
        when the path does not exist and ``create`` is false.
        """
        url = _url_of(configuration, create)
        if url is None:
            return NO_STORE
        self.sql = SQLStore(url)
        return VALID_STORE

    def close(self, commit_pending_transaction: bool = True) -> None:
        """Commit (or roll back) an explicit transaction, write the buffer, and close."""
        if self.sql is None:
            return
        if commit_pending_transaction:
            self.commit()
        else:
            self.rollback()
        self.sql.close()
        self.sql = None

    @property
    def store(self) -> SQLStore:
        """The underlying SQL store; a store never opened is an in-memory one
        (``rdflib.Dataset(store="kg_engine")`` works as written)."""
        if self.sql is None:
            self.sql = SQLStore("sqlite://")
        return self.sql

    # -- transactions --------------------------------------------------------------------
    def begin(self) -> None:
        """Start an explicit transaction: writes stay invisible to others until ``commit()``."""
        if self._tx is None:
            self._tx = contextlib.ExitStack()
            self._tx.enter_context(self.store.db.transaction())

    def flush(self) -> None:
        """Write buffered statements through the store's bulk path.

        A write that is interrupted (Ctrl-C) or fails for a reason other than the statements
        themselves keeps them buffered for the next flush: ``Graph.add`` accepted them. One
        that kg-engine refuses (a :class:`~kg_engine.errors.KgEngineError`: a term the store
        cannot hold…) drops them, as its message says (nothing of them was written).
        """
        if self._buffer.quads:
            batch, self._buffer = self._buffer, TripleBatch()
            try:
                with self.store.recording(api_record("rdflib Graph.add",
                                                     self.store.last_load_id())):
                    self.store.add_batch(batch)
            except KgEngineError:
                raise
            except BaseException:
                for quad in self._buffer.quads:  # added meanwhile (another thread): after them
                    batch.add(quad)
                self._buffer = batch
                raise

    def commit(self) -> None:
        """Write buffered statements and commit an explicit transaction, if one is open."""
        self.flush()
        if self._tx is not None:
            tx, self._tx = self._tx, None
            tx.close()

    def rollback(self) -> None:
        """Roll back an explicit transaction (``begin()``) with its buffered statements.

        Outside an explicit transaction writes are autocommitted (buffering only batches
        them), so there is nothing to roll back: the buffer is written.
        """
        if self._tx is None:
            self.flush()
            return
        self._buffer = TripleBatch()
        tx, self._tx = self._tx, None
        tx.__exit__(RuntimeError, RuntimeError("rollback"), None)

    # -- writes --------------------------------------------------------------------------
    @staticmethod
    def _graph_id(context: Any) -> Any:
        g = getattr(context, "identifier", context)
        return DEFAULT_GRAPH if g is None else g

    def add(self, triple: tuple, context: Any = None, quoted: bool = False) -> None:
        """Buffer one statement (written in batches).

        Raises:
            RDFSyntaxError: for an N3 formula's statement or a variable (N3 rules are not data).
        """
        check_data_statement(triple, context, quoted)
        Store.add(self, triple, context, quoted)  # rdflib events
        self._buffer.add((*triple, self._graph_id(context)))
        if len(self._buffer) >= _BUFFER:
            self.flush()

    def addN(self, quads: Iterable[tuple]) -> None:
        """Buffer many statements."""
        for s, p, o, c in quads:
            self._buffer.add((s, p, o, self._graph_id(c)))
        if len(self._buffer) >= _BUFFER:
            self.flush()

    def load_parsed(self, chunks: Iterable[list[tuple]], row_of: Any, graph: Any,
                    source: str) -> int:
        """Write the statements of one ``Graph.parse`` at once, all or nothing (called by the
        parser plugins of :mod:`kg_engine.store.rdflib_parsers`); returns how many were new.

        Args:
            chunks: lists of ``(s, p, o, g)`` keys (``g`` ``None``: ``graph``).
            row_of: key -> dictionary row (see :func:`~kg_engine.store.loader.load_statements`).
            graph: the graph receiving default-graph statements (``None``: the default graph).
            source: the input's name.
        """
        from kg_engine.store.loader import load_statements

        self.flush()  # statements added before the parse go first
        return load_statements(self.store, chunks, row_of, graph, source).added

    def remove(self, triple: tuple, context: Any = None) -> None:
        """Remove statements matching a pattern (``context`` None: from every graph)."""
        self.flush()
        Store.remove(self, triple, context)
        graph = None if context is None else self._graph_id(context)
        self.store.remove(triple, graph)

    def add_graph(self, graph: Graph) -> None:
        """Record a (possibly empty) named graph."""
        if graph.identifier != DEFAULT_GRAPH:
            self.store.create_graph(graph.identifier)

    def remove_graph(self, graph: Graph) -> None:
        """Remove a graph and its statements (the default graph is only emptied)."""
        self.flush()
        if graph.identifier == DEFAULT_GRAPH:
            self.store.remove((None, None, None), DEFAULT_GRAPH)
        else:
            self.store.drop_graph(graph.identifier)

    # -- reads ---------------------------------------------------------------------------
    def _graph(self, identifier: Any) -> Graph:
        graph = self._graphs.get(identifier)
        if graph is None:
            graph = self._graphs[identifier] = Graph(store=self, identifier=identifier)
        return graph

    @property
    def reads_inferred(self) -> bool:
        """Whether default-graph reads include the inferred graph now (profile aside):
        ``include_inferred`` and not inside :func:`asserted_only`."""
        return self.include_inferred and not _ASSERTED_ONLY.get()

    def _read_graphs(self, graph: Any) -> tuple[Any, ...]:
        """Graphs read as ``graph``: itself, plus for the default graph the inferred graph of
        a profile (:meth:`SQLStore.answer_graphs`, which keeps them disjoint: each triple
        is read once, no duplicate elimination)."""
        if graph != DEFAULT_GRAPH or not self.reads_inferred:
            return (graph,)
        merge, disjoint = self.store.answer_graphs(include_inferred=True,
                                                   include_predicted=False)
        assert disjoint or not merge, "the inferred graph is kept disjoint from the default"
        return (graph, *merge)

    def triples(self, triple_pattern: tuple, context: Any = None) -> Iterator[tuple]:
        """``((s, p, o), contexts)`` for each matching triple (the default graph: with the
        inferred statements of a reasoning profile, each triple once)."""
        self.flush()
        s, p, o = triple_pattern
        if isinstance(p, RdfPath):  # property paths: rdflib walks them over our triples()
            yield from self._path_triples(s, p, o, context)
            return
        graph = None if context is None else self._graph_id(context)
        if graph is not None:
            gobj = self._graph(graph)
            for g in self._read_graphs(graph):
                for qs, qp, qo, _ in self.store.triples((s, p, o), g):
                    yield (qs, qp, qo), iter((gobj,))
            return
        grouped: dict[tuple, list[Any]] = {}
        for qs, qp, qo, g in self.store.triples((s, p, o), None):
            grouped.setdefault((qs, qp, qo), []).append(g)
        for triple, gs in grouped.items():
            yield triple, iter([self._graph(g) for g in gs])

    def _path_triples(self, s: Any, path: Any, o: Any, context: Any) -> Iterator[tuple]:
        graph = self._graph(DEFAULT_GRAPH if context is None else self._graph_id(context))
        for ps, po in path.eval(graph, s, o):
            yield (ps, path, po), iter((graph,))

    def __len__(self, context: Any = None) -> int:
        """Triples in ``context`` (the default graph: with the inferred statements of a
        reasoning profile); with none, distinct triples over all graphs (as rdflib)."""
        self.flush()
        if context is None:
            return int(self.store.db.scalar(
                "SELECT count(*) FROM (SELECT DISTINCT s, p, o FROM kg_quads) t"))
        return sum(self.store.count(g) for g in self._read_graphs(self._graph_id(context)))

    def contexts(self, triple: tuple | None = None) -> Iterator[Graph]:
        """Graphs holding ``triple`` (or every graph: named ones, and the default if non-empty)."""
        self.flush()
        if triple is None:
            if self.store.count(DEFAULT_GRAPH):
                yield self._graph(DEFAULT_GRAPH)
            for g in self.store.graphs():
                yield self._graph(g)
            return
        seen = set()
        for *_, g in self.store.triples(triple, None):
            if g not in seen:
                seen.add(g)
                yield self._graph(g)

    # -- namespaces ----------------------------------------------------------------------
    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        """Persist a prefix binding (kept in ``kg_meta``; in memory on a read-only store):
        one namespace per prefix and one prefix per namespace, as rdflib's stores keep them.
        Without ``override`` an existing binding of the prefix or of the namespace wins.

        A binding made inside a transaction that then rolls back is not lost: bindings are
        not data, and rdflib never binds again what it believes bound (its namespace
        manager binds its default prefixes once, when it is made: on PostgreSQL inside the
        first SPARQL update that reads the store, which a Ctrl-C may roll back). Until that
        transaction commits the binding is kept here too: the lookups answer it, and the
        next write transaction writes it again if it is missing.
        """
        db = self.store.db
        key = f"ns:{prefix}"
        current = db.scalar("SELECT value FROM kg_meta WHERE key = ?", (key,))
        if current == str(namespace) and self.prefix(namespace) == prefix:
            return  # already bound so: nothing to write
        if not override and (current is not None or self.prefix(namespace) is not None):
            return
        if getattr(self.store, "readonly", False) or _RDFLIB_DEFAULTS.get(prefix) == str(namespace):
            # rdflib's namespace manager binds its defaults whenever one is made (each
            # kg.graph: 29 bindings in 29 commits, and a kg update killed among them left a
            # store neither before nor after it): every process binds them again, so they are
            # kept in memory, not written
            self._session_ns[prefix] = URIRef(namespace)
            return
        with db.transaction():
            db.execute("DELETE FROM kg_meta WHERE key = ? OR (key LIKE 'ns:%' AND value = ?)",
                       (key, str(namespace)))
            db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)", (key, str(namespace)))
        for p, ns in list(self._session_ns.items()):  # the stored binding replaces theirs
            if p == prefix or ns == namespace:
                del self._session_ns[p]
        for p, ns in list(self._unsure_ns.items()):  # this binding replaces theirs
            if p == prefix or ns == namespace:
                del self._unsure_ns[p]
        if db._depth:  # inside the caller's transaction, which may roll back
            if self._watched is not db:
                self._watched = db
                db.on_begin.append(self._rewrite_unsure)
                db.on_commit.append(self._unsure_ns.clear)
            self._unsure_ns[prefix] = URIRef(namespace)

    def _rewrite_unsure(self) -> None:
        """Write again, in the write transaction just begun, the bindings whose transaction
        did not commit (those that it did commit are found there, and left as they are)."""
        if self._unsure_ns and self.store.db is self._watched:
            for prefix, namespace in list(self._unsure_ns.items()):
                self.bind(prefix, namespace)

    def namespace(self, prefix: str) -> URIRef | None:
        if prefix in self._session_ns:
            return self._session_ns[prefix]
        value = self.store.db.scalar("SELECT value FROM kg_meta WHERE key = ?", (f"ns:{prefix}",))
        return URIRef(value) if value is not None else self._unsure_ns.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        for p, ns in self._session_ns.items():
            if ns == namespace:
                return p
        key = self.store.db.scalar(
            "SELECT key FROM kg_meta WHERE key LIKE 'ns:%' AND value = ?", (str(namespace),))
        if key is not None:
            return key[3:]
        return next((p for p, ns in self._unsure_ns.items() if ns == namespace), None)

    def _stored_namespaces(self) -> dict[str, URIRef]:
        """The bindings kept in ``kg_meta`` (on SQLite cached until another connection
        commits, ``data_version``, or this one writes, ``total_changes()``)."""
        db = self.store.db
        version = db.fetchone("SELECT data_version, total_changes() FROM pragma_data_version"
                              ) if self.store.dialect == "sqlite" else None
        cached = self._stored_ns
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        # PostgreSQL: a pooled read, as queries read (another thread's transaction may hold
        # the main connection: kg.query reads the prefixes first, and waited for it)
        with db.reading() if version is None else contextlib.nullcontext():
            stored = {key[3:]: URIRef(value) for key, value in db.fetchall(
                "SELECT key, value FROM kg_meta WHERE key LIKE 'ns:%' ORDER BY key")}
        if version is not None and not db._depth:  # not inside a transaction that may roll back
            self._stored_ns = (version, stored)
        return stored

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        stored = dict(self._stored_namespaces())
        bound = set(stored.values())
        stored.update((p, ns) for p, ns in self._unsure_ns.items()
                      if p not in stored and ns not in bound)
        stored.update(self._session_ns)
        yield from sorted(stored.items())

    # -- SPARQL: answered by the SPARQL layer's subclass -----------------------------------
    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
