"""SQLStore: the SQL-backed quad store (SQLite embedded, PostgreSQL at scale).

The store keeps every RDF term once in ``kg_terms`` and every statement as four integers in
``kg_quads`` (see :mod:`kg_engine.store.schema`). Writes are batched and transactional: an
``add``/``remove``/``load`` either happens completely or not at all.

Example:
    >>> from rdflib import URIRef, Literal
    >>> store = open_store("sqlite://")
    >>> EX = "https://example.org/"
    >>> store.add([(URIRef(EX + "alice"), URIRef(EX + "name"), Literal("Alice"))])
    1
    >>> [o for _, _, o, _ in store.triples((URIRef(EX + "alice"), None, None))]
    [rdflib.term.Literal('Alice')]
    >>> len(store)
    1
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from rdflib import BNode, URIRef

from kg_engine.core.batch import TripleBatch
from kg_engine.core.provenance import Provenance
from kg_engine.core.terms import DEFAULT_GRAPH, Quad, Term, as_quad
from kg_engine.errors import StoreError, StoreURLError
from kg_engine.store import migrate, schema, writes
from kg_engine.store.database import Database, Dialect
from kg_engine.store.dictionary import TermDictionary
from kg_engine.store.reasoning import (
    PREDICTED_PREFIXES,
    Maintainer,
    ReasoningProfile,
    maintainer_for,
    read_profile,
    write_profile,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from kg_engine.store.loader import LoadResult

__all__ = ["DEFAULT_URL", "SQLStore", "open_store"]

#: The store used when neither ``--db`` nor ``$KG_DB`` names one.
DEFAULT_URL = "sqlite:///kg.sqlite"

Pattern = tuple["Term | None", "Term | None", "Term | None"]
_POSITIONS = ("s", "p", "o")
#: seconds :meth:`SQLStore.answer_graphs` is remembered (it is asked once per query)
ANSWER_GRAPHS_TTL = 1.0
_PROVENANCE_FIELDS = ("kind", "source", "sentence", "start", "end", "text", "agent", "version",
                      "confidence", "detail")


def open_store(url: str | os.PathLike[str] | None = None, *, readonly: bool = False,
               create: bool = True) -> SQLStore:
    """Open the store at ``url``; default ``$KG_DB`` or :data:`DEFAULT_URL`.

    Args:
        url: database URL; a :class:`~pathlib.Path` is a SQLite file (``sqlite:///PATH``);
            ``None`` for the default (an empty string is an error).
        readonly: open without writing anything (a missing store is an error).
        create: create the store if the database does not exist yet.

    Raises:
        StoreURLError: an empty or malformed URL.
        InputNotFoundError: no store at ``url`` and ``readonly`` or not ``create``.
        StoreError: the database is not a kg-engine store, or cannot be opened.
    """
    if isinstance(url, os.PathLike):
        url = f"sqlite:///{os.fspath(url)}"
    if url is not None and not url.strip():
        raise StoreURLError("the database URL is empty: give sqlite:///PATH, sqlite:// or "
                            "postgresql+psycopg://…, or leave --db out for $KG_DB / "
                            f"{DEFAULT_URL}")
    return SQLStore(url or os.environ.get("KG_DB") or DEFAULT_URL, readonly=readonly,
                    create=create)



def quads_in(table: str, source: str, graph: int | None = None, where: str = "", *,
             dialect: str = "sqlite") -> str:
    """SQL condition: the row of ``table`` (columns ``s, p, o, g``) is one of the rows of
    ``source`` (``s, p, o`` and ``g``, or every row in graph id ``graph``), restricted by
    ``where`` on ``source`` (alias ``d``).

    Not a row-value ``(s, p, o, g) IN (SELECT …)``: SQLite 3.40 answered that wrongly when
    its planner probed the ``(o, s, p, g)`` index (a ``MOVE DEFAULT TO <g>`` under a
    reasoning profile deleted one default-graph statement of four). A subject ``IN`` keeps
    the lookup driven by the (small) source, the ``EXISTS`` matches the whole quad.
    PostgreSQL keeps the row-value ``IN`` (one primary-key probe per source row).
    """
    w = f" AND {where}" if where else ""
    if dialect != "sqlite":
        g = str(int(graph)) if graph is not None else "d.g"
        return f"({table}.s, {table}.p, {table}.o, {table}.g) IN (SELECT d.s, d.p, d.o, {g} FROM {source} d WHERE 1 = 1{w})"
    g = f"{table}.g = {int(graph)}" if graph is not None else f"d.g = {table}.g"
    return (f"{table}.s IN (SELECT d.s FROM {source} d WHERE 1 = 1{w}) AND EXISTS (SELECT 1 FROM "
            f"{source} d WHERE d.s = {table}.s AND d.p = {table}.p AND d.o = {table}.o AND {g}{w})")

class SQLStore:
    """A quad store in one SQLite file / in-memory database, or one PostgreSQL database.

    A database that holds tables but no kg-engine marker (``kg_meta.schema_version``) is
    never changed: opening it raises :class:`~kg_engine.errors.StoreError`.

    Args:
        url: ``sqlite:///PATH``, ``sqlite://`` (in-memory) or ``postgresql+psycopg://…``.
        readonly: write nothing (SQLite files open read-only; a missing store is an error).
        create: create a store in a missing file / an empty database.

    Attributes:
        url: the URL the store was opened with.
        readonly: whether the store was opened read-only.
        dialect: ``"sqlite"`` or ``"postgresql"``.
        db: the hot-path :class:`~kg_engine.store.database.Database` (one connection).
        dictionary: the :class:`~kg_engine.store.dictionary.TermDictionary`.
    """

    def __init__(self, url: str, *, readonly: bool = False, create: bool = True) -> None:
        self.url = url
        self.readonly = readonly
        self.db = Database.connect(url, readonly=readonly, create=create)
        self.dialect: Dialect = self.db.dialect
        self.dictionary = TermDictionary(self.db)
        self._engine: Engine | None = None
        self._maintainer: tuple[ReasoningProfile, Maintainer] | None = None
        self._unmaintained = 0
        self._profile: tuple[int, ReasoningProfile | None] | None = None
        self._answer_graphs: dict[tuple[bool, bool], tuple[float, Any]] = {}
        #: the record of the write in progress (see :meth:`recording`)
        self._write_record: Provenance | None = None
        self.db.on_rollback.append(self._forget_profile)
        try:
            self._open_schema(create=create and not readonly)
            self.dictionary.start()
        except BaseException:
            self.db.close()
            raise

    # -- schema ------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """A SQLAlchemy engine over the store's own connection (for DDL of other packages)."""
        if self._engine is None:
            from sqlalchemy import create_engine  # not on the read path (~0.16 s to import)
            from sqlalchemy.pool import StaticPool

            name = "sqlite+pysqlite://" if self.dialect == "sqlite" else "postgresql+psycopg://"
            self._engine = create_engine(
                name, creator=lambda: self.db.raw, poolclass=StaticPool, pool_reset_on_return=None
            )
        return self._engine

    def _open_schema(self, create: bool) -> None:
        """Check the kg-engine marker; create the schema in an empty database."""
        version = self.meta(schema.VERSION_KEY) if self.has_table("kg_meta") else None
        if version is None:
            foreign = [t for t in self._tables() if not t.startswith("kg_")]
            if foreign:
                shown = ", ".join(sorted(foreign)[:5]) + (", …" if len(foreign) > 5 else "")
                raise StoreError(
                    f"{self.url} is a database but not a kg-engine store (it has the tables "
                    f"{shown} and no kg_meta marker); nothing was changed: give the path of a "
                    "kg-engine store or a new one")
            if not create and self._persistent():
                raise StoreError(
                    f"{self.url} is not a kg-engine store (no kg_meta marker){'' if self.readonly else ' and was not created'}: "
                    "give the path of a kg-engine store, or create one with kg load")
            self._create_schema()
        elif version in migrate.UPGRADABLE:
            migrate.upgrade(self.db, version, self.url, readonly=self.readonly,
                            recompute_closure=self._recompute_after_upgrade)
        else:
            schema.check_version(version, self.url)
            migrate.refresh_closure(self.db, self.url, readonly=self.readonly,
                                    recompute_closure=self._recompute_after_upgrade)
        if not self.readonly and self.dialect == "postgresql":
            self.db.execute("CREATE TEMPORARY TABLE IF NOT EXISTS kg_stage "
                            "(g BIGINT, s BIGINT, p BIGINT, o BIGINT)")

    def _recompute_after_upgrade(self) -> None:
        """The reasoning profile's closure recomputed (inside the upgrade's transaction)."""
        self.dictionary.start()
        self.recompute_reasoning("opening a store written by another kg-engine")

    def _stage(self) -> None:
        """SQLite: create this connection's staging table ``kg_stage`` if it is missing (every
        statement that fills it calls this first; PostgreSQL creates it on opening). Made on
        first use, so that a connection that never stages never opens SQLite's temporary
        database, and a bulk load can build its indexes with file-backed sorts
        (:meth:`~kg_engine.store.database.Database.external_sort`)."""
        if self.dialect == "sqlite":
            self.db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS kg_stage (g BIGINT, s BIGINT, p BIGINT, o BIGINT)")
            # the EXISTS of a staged delete (quads_in) looks each candidate quad up here:
            # without it every candidate scanned the whole stage (a DELETE WHERE of 8,330
            # LUBM(1) statements took 47 s, 0.2 s with it)
            self.db.execute("CREATE INDEX IF NOT EXISTS temp.kg_stage_spog ON kg_stage (s, p, o, g)")

    def _create_schema(self) -> None:
        """Create the tables, indexes and marker that are missing, in one write transaction.

        Not SQLAlchemy's ``create_all``: it commits each statement on its own, so a process
        killed meanwhile left a half schema, and two commands creating one store at once
        both found a table missing and one failed creating it. Under the write lock the
        second finds the first one's schema and creates nothing.
        """
        from sqlalchemy.schema import CreateIndex, CreateTable

        dialect = self.engine.dialect
        with self.db.transaction():
            for table in schema.metadata.sorted_tables:
                if not self.has_table(table.name):
                    self.db.execute(str(CreateTable(table).compile(dialect=dialect)))
                for index in table.indexes:
                    self.db.execute(str(CreateIndex(index, if_not_exists=True).compile(
                        dialect=dialect)))
            self.create_indexes()
            self.db.execute(
                "INSERT INTO kg_meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (schema.VERSION_KEY, schema.SCHEMA_VERSION),
            )
            if self.db.fetchone("SELECT 1 FROM kg_quads LIMIT 1") is None:
                # from its first statement on, every write of this store is recorded
                self.db.execute(
                    "INSERT INTO kg_meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (writes.RECORDED_KEY, writes.now()))

    def _persistent(self) -> bool:
        return self.dialect == "postgresql" or self.db.fetchall("PRAGMA database_list")[0][2] != ""

    def _tables(self) -> list[str]:
        """Names of the tables in the store's database (schema, for PostgreSQL)."""
        if self.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') " \
                  "AND name NOT LIKE 'sqlite%'"
        else:
            sql = "SELECT table_name FROM information_schema.tables " \
                  "WHERE table_schema = current_schema()"
        return [str(r[0]) for r in self.db.fetchall(sql)]

    def meta(self, key: str) -> str | None:
        """The value of ``key`` in the store's key/value metadata (``kg_meta``), or ``None``.

        Example:
            >>> store = open_store("sqlite://")
            >>> store.meta("schema_version") == schema.SCHEMA_VERSION
            True
        """
        return self.db.scalar("SELECT value FROM kg_meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (``None``: delete) ``key`` in the store's metadata, in one transaction.

        Other packages keep small facts about the store here (a demo marker, a reasoning
        profile); :data:`~kg_engine.store.schema.VERSION_KEY` belongs to the store.

        Example:
            >>> store = open_store("sqlite://")
            >>> store.set_meta("note", "hello"); store.meta("note")
            'hello'
        """
        if key == schema.VERSION_KEY:
            raise StoreError(f"{key!r} is the store's own schema marker; choose another key")
        with self.db.transaction():
            self.db.execute("DELETE FROM kg_meta WHERE key = ?", (key,))
            if value is not None:
                self.db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)", (key, value))

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists (in the current schema on PostgreSQL)."""
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_name = ? " \
                  "AND table_schema = current_schema()"
        return self.db.fetchone(sql, (name,)) is not None

    def create_indexes(self) -> None:
        """Create the secondary quad indexes and the term-hash index that are missing.

        On SQLite the sorts run as external merge sorts of short runs
        (:meth:`~kg_engine.store.database.Database.external_sort`), except GSPO's: its input,
        read in SPOG order, is already sorted for a store of one graph, which the in-memory
        sort handles best (10 M quads: 3.4 against 4.5 CPU-s)."""
        quads = {name: ", ".join(cols) for name, cols in schema.QUAD_INDEXES.items()}
        gspo = quads.pop("kg_quads_gspo")
        with self.db.external_sort():
            for name, cols in quads.items():
                self.db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON kg_quads ({cols})")
            self.db.execute(f"CREATE INDEX IF NOT EXISTS {schema.TERM_HASH_INDEX} ON kg_terms (h)")
        self.db.execute(f"CREATE INDEX IF NOT EXISTS kg_quads_gspo ON kg_quads ({gspo})")

    def drop_indexes(self, terms: bool = False) -> None:
        """Drop the secondary quad indexes (the bulk loader rebuilds them after a load), and
        with ``terms`` the term-hash index: only for a load that never looks terms up by
        hash (a load into an empty store, whose writer keeps every term's id in memory). Its
        inserts land at random places of an index (a 64-bit hash) that outgrows the page
        cache at ~10 M triples (SQLite: term inserts 11.6× the LUBM(10) CPU for 8× the data;
        PostgreSQL: each 100k-term COPY 3× slower by the end of LUBM(10)); built after the
        load, it is one sort."""
        for name in schema.QUAD_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")
        if terms:
            self.db.execute(f"DROP INDEX IF EXISTS {schema.TERM_HASH_INDEX}")

    # -- terms ---------------------------------------------------------------------------
    def term_ids(self, terms: Iterable[Term], create: bool = False) -> dict[Term, int]:
        """Ids of ``terms``; unknown ones are left out, or created when ``create``."""
        if create:
            with self.db.transaction():
                return self.dictionary.ids(terms, create=True)
        return self.dictionary.ids(terms)

    def decode(self, ids: Iterable[int]) -> dict[int, Term]:
        """Terms of ``ids``; 0 decodes to the default graph."""
        return self.dictionary.terms(ids)

    # -- writes --------------------------------------------------------------------------
    def add(self, statements: Iterable[tuple], graph: URIRef | BNode | None = None) -> int:
        """Add triples (into ``graph``, default: the default graph) or quads.

        Returns:
            The number of statements that were not in the store before.
        """
        return self.add_batch(TripleBatch.of(statements, graph or DEFAULT_GRAPH))

    def add_batch(self, batch: TripleBatch) -> int:
        """Add a batch and its provenance in one transaction; returns the new statement count.

        A batch without provenance is recorded as written by the write in progress
        (:meth:`recording`), else as added through the API (:mod:`kg_engine.store.writes`).
        """
        if not batch.quads:
            return 0
        record = None
        if batch.provenance is None:
            record = self._write_record or writes.api_record("add", self.last_load_id())
        with self.db.transaction():
            ids = self.dictionary.ids(
                {t for q in batch.quads for t in q}, create=True
            )
            rows = [(ids[g], ids[s], ids[p], ids[o]) for s, p, o, g in batch.quads]
            added = self._insert_quad_ids(rows, record)
            if batch.provenance is not None:
                self.db.executemany(
                    "INSERT INTO kg_provenance (g, s, p, o, kind, source, sentence, start, "
                    '"end", text, agent, version, confidence, detail) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        row + tuple(getattr(prov, f) for f in _PROVENANCE_FIELDS)
                        for row, prov in zip(rows, batch.provenance)
                        if prov is not None
                    ],
                )
        return added

    @contextlib.contextmanager
    def recording(self, record: Provenance | None) -> Iterator[None]:
        """Record the statements written meanwhile (and new then) as written by ``record``
        (a record of :mod:`kg_engine.store.writes`; ``None``: not at all).

        Example:
            >>> from rdflib import URIRef
            >>> from kg_engine.store import open_store
            >>> store = open_store("sqlite://")
            >>> t = (URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))
            >>> with store.recording(writes.update_record("INSERT DATA { ... }")):
            ...     store.add([t])
            1
            >>> store.provenance_of(t)[0].agent
            'sparql-update'
        """
        saved, self._write_record = self._write_record, record
        try:
            yield
        finally:
            self._write_record = saved

    def _insert_quad_ids(self, rows: Sequence[tuple[int, int, int, int]],
                         record: Provenance | None) -> int:
        """Insert integer quads through the staging table; returns how many were new.

        PostgreSQL copies them in (one ``COPY``: an ``executemany`` of 8k rows, one statement
        each, was ~0.2 CPU-s of the client's 0.55 adding a LUBM department)."""
        self._stage()
        self.db.insert_rows("kg_stage", ("g", "s", "p", "o"), rows)
        return self._insert_staged(record)

    def _insert_staged(self, record: Provenance | None) -> int:
        """Insert the quads of ``kg_stage`` (then emptied), keeping the closure of the
        reasoning profile current; returns how many were new. Call inside a transaction.

        ``record``: the write record kept for each statement that is new (see
        :mod:`kg_engine.store.writes`); a statement already there keeps its own sources.
        """
        hook = self._hook()
        if hook is not None:
            hook.before_insert("kg_stage")
        insert = ("INSERT INTO kg_quads (g, s, p, o) SELECT DISTINCT g, s, p, o FROM kg_stage "
                  "WHERE true ON CONFLICT DO NOTHING")
        if record is None:
            added = self.db.execute(insert).rowcount
        elif self.dialect == "postgresql":
            # one statement: the provenance of the rows the insert wrote (RETURNING), not a
            # second pass probing kg_quads' primary key for every staged quad
            added = self.db.execute(
                f"WITH new AS ({insert} RETURNING g, s, p, o) "
                "INSERT INTO kg_provenance (g, s, p, o, kind, source, text, agent, detail) "
                "SELECT g, s, p, o, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
                "CAST(? AS TEXT), CAST(? AS TEXT) FROM new",
                (record.kind, record.source, record.text, record.agent, record.detail)).rowcount
        else:  # SQLite: no INSERT inside a WITH
            self.db.execute(
                "INSERT INTO kg_provenance (g, s, p, o, kind, source, text, agent, detail) "
                "SELECT DISTINCT g, s, p, o, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
                "CAST(? AS TEXT), CAST(? AS TEXT) FROM kg_stage st WHERE NOT EXISTS (SELECT 1 "
                "FROM kg_quads q WHERE q.s = st.s AND q.p = st.p AND q.o = st.o AND q.g = st.g)",
                (record.kind, record.source, record.text, record.agent, record.detail))
            added = self.db.execute(insert).rowcount
        self.db.execute(
            "INSERT INTO kg_graphs (id) SELECT DISTINCT g FROM kg_stage WHERE g <> 0 "
            "ON CONFLICT DO NOTHING"
        )
        if hook is not None:
            hook.after_insert("kg_stage")
        self.db.execute("DELETE FROM kg_stage")
        return added

    def _delete_staged(self) -> int:
        """Delete the quads of ``kg_stage`` (then emptied) with their provenance, keeping the
        closure of the reasoning profile current; returns how many were deleted."""
        hook = self._hook()
        if hook is not None:
            removed = hook.delete("kg_stage")
        else:
            self.db.execute(f"DELETE FROM kg_provenance WHERE {quads_in('kg_provenance', 'kg_stage', dialect=self.dialect)}")
            removed = self.db.execute(f"DELETE FROM kg_quads WHERE {quads_in('kg_quads', 'kg_stage', dialect=self.dialect)}").rowcount
        self.db.execute("DELETE FROM kg_stage")
        return removed

    # -- reasoning profile ---------------------------------------------------------------
    @property
    def reasoning(self) -> ReasoningProfile | None:
        """The reasoning profile whose inferences answer queries (see
        :mod:`kg_engine.store.reasoning`), or ``None``.

        Read once per query: on SQLite it is cached until another connection commits
        (``PRAGMA data_version``) or this one changes it.
        """
        if self.dialect != "sqlite":
            return read_profile(self.db)
        version = self.db.scalar("PRAGMA data_version")
        cached = self._profile
        if cached is None or cached[0] != version:
            cached = self._profile = (version, read_profile(self.db))
        return cached[1]

    def set_reasoning(self, profile: ReasoningProfile | None) -> None:
        """Record (or, with ``None``, clear) the reasoning profile."""
        self._forget_profile()
        write_profile(self.db, profile)
        self._maintainer = None

    def inferred_graph_id(self) -> int | None:
        """Id of the profile's inferred graph (``None``: no profile, or no such graph yet)."""
        profile = self.reasoning
        if profile is None:
            return None
        return self.dictionary.ids([URIRef(profile.graph)]).get(URIRef(profile.graph))

    def answer_graphs(self, *, include_inferred: bool = True, include_predicted: bool = False
                      ) -> tuple[tuple[URIRef | BNode, ...], bool]:
        """Graphs merged into the default graph for answers, and whether they are disjoint
        from it (then the merge needs no duplicate elimination).

        Asked once per query, so the answer is kept for :data:`ANSWER_GRAPHS_TTL` seconds
        (a profile set or cleared by another process shows within that time; by this
        store at once).

        Args:
            include_inferred: the inferred graph of the reasoning profile, if one is set.
            include_predicted: the GNN prediction and analytics graphs.

        Returns:
            ``(graphs, disjoint)``; ``((), False)`` when the default graph stands alone.
        """
        key = (include_inferred, include_predicted)
        now = time.monotonic()
        hit = self._answer_graphs.get(key)
        if hit is not None and now - hit[0] < ANSWER_GRAPHS_TTL:
            return hit[1]
        graphs: list[URIRef | BNode] = []
        profile = self.reasoning if include_inferred else None
        if profile is not None:
            graphs.append(URIRef(profile.graph))
        if include_predicted:
            graphs += [g for g in self.graphs() if str(g).startswith(PREDICTED_PREFIXES)]
        # the maintainer keeps the default graph and the inferred graph disjoint
        answer = (tuple(graphs), profile is not None and len(graphs) == 1)
        self._answer_graphs[key] = (now, answer)
        return answer

    @contextlib.contextmanager
    def unmaintained(self) -> Iterator[None]:
        """Writes inside this block leave the closure alone (the maintainer's own writes, and
        bulk loads followed by a recompute)."""
        self._unmaintained += 1
        try:
            yield
        finally:
            self._unmaintained -= 1

    def _forget_profile(self) -> None:
        self._profile = None
        self._answer_graphs.clear()

    def _hook(self) -> Maintainer | None:
        """The maintainer of the reasoning profile, or ``None`` (no profile / suspended)."""
        if self._unmaintained:
            return None
        profile = self.reasoning
        if profile is None:
            return None
        if self._maintainer is None or self._maintainer[0] != profile:
            self._maintainer = (profile, maintainer_for(self, profile))
        return self._maintainer[1]

    def recompute_reasoning(self, why: str) -> None:
        """Recompute the profile's closure now (no-op without a profile); ``why`` is logged."""
        hook = self._hook()
        if hook is not None:
            hook.recompute(why)

    # -- bulk path of the loader --------------------------------------------------------
    def bulk_begin(self) -> None:
        """Start a bulk insert of integer quads (call inside a transaction).

        SQLite inserts rows straight into ``kg_quads`` (in file order that is close to key
        order, and measured faster than staging). PostgreSQL copies them (``COPY``) into an
        unindexed staging table moved over by :meth:`bulk_finish`. When ``kg_quads`` is
        empty, PostgreSQL copies straight into it instead (``TRUNCATE`` + ``COPY … FREEZE``:
        rows written frozen, pages marked all-visible, so the statistics and the first
        queries read the indexes alone, without a ``VACUUM``), its primary key dropped
        meanwhile and rebuilt with one sort (duplicates removed first if the input had any).
        """
        self._bulk_added = 0
        self._bulk_graphs: set[int] = set()
        self._bulk_direct = False
        # with a reasoning profile, rows go through the staging table (closure kept current)
        self._bulk_live = self._hook() is not None
        #: whether :meth:`bulk_add` may run in a thread of the loader's own while the loading
        #: thread (which holds the transaction) writes terms: plain SQLite inserts only
        self.bulk_threaded = self.dialect == "sqlite" and not self._bulk_live
        if self.dialect == "postgresql" and not self._bulk_live:
            if self.db.fetchone("SELECT 1 FROM kg_quads LIMIT 1") is None:
                self._bulk_direct = True
                # ALTER TABLE already locks the table for the transaction; TRUNCATE gives it
                # a new file in this transaction, which COPY FREEZE requires
                self.db.execute("ALTER TABLE kg_quads DROP CONSTRAINT kg_quads_spog")
                self.db.execute("TRUNCATE kg_quads")
            else:
                self.db.execute("DROP TABLE IF EXISTS kg_bulk")
                self.db.execute(
                    "CREATE TEMPORARY TABLE kg_bulk (g BIGINT, s BIGINT, p BIGINT, o BIGINT)")

    def bulk_add(self, rows: Sequence[tuple[int, int, int, int]]) -> None:
        """Add integer quads ``(g, s, p, o)`` to the bulk insert.

        With :attr:`bulk_threaded`, the loader calls this from a writer thread while its own
        thread holds the transaction (and the database lock): the SQLite insert then goes
        straight to the connection; the loader's own lock keeps its term inserts from running
        meanwhile, so the statement's row count is its own.
        """
        self._bulk_graphs.update(r[0] for r in rows if r[0] != schema.DEFAULT_GRAPH_ID)
        if self._bulk_live:  # a load is recorded per file (kg_loads), not per statement
            self._bulk_added += self._insert_quad_ids(rows, None)
            return
        if self.dialect == "postgresql":
            if self._bulk_direct:
                self.db.insert_rows("kg_quads", ("g", "s", "p", "o"), rows, freeze=True)
                self._bulk_added += len(rows)
            else:
                self.db.insert_rows("kg_bulk", ("g", "s", "p", "o"), rows)
            return
        cursor = self.db.raw.executemany(
            "INSERT INTO kg_quads (g, s, p, o) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", rows
        )
        self._bulk_added += cursor.rowcount

    def bulk_finish(self) -> int:
        """End the bulk insert; returns how many quads were new."""
        if self.dialect == "postgresql" and not self._bulk_live:
            if self._bulk_direct:
                self._bulk_added -= self._add_primary_key()
            else:
                self._bulk_added = self.db.execute(
                    "INSERT INTO kg_quads (g, s, p, o) SELECT DISTINCT g, s, p, o FROM kg_bulk "
                    "ON CONFLICT DO NOTHING"
                ).rowcount
                self.db.execute("DROP TABLE kg_bulk")
        if self._bulk_graphs:
            self.db.executemany(
                "INSERT INTO kg_graphs (id) VALUES (?) ON CONFLICT DO NOTHING",
                [(g,) for g in self._bulk_graphs],
            )
        return self._bulk_added

    def _add_primary_key(self) -> int:
        """PostgreSQL bulk load into the empty table: rebuild the primary key; if the input
        repeated statements, delete the repeats first. Returns how many were deleted."""
        from psycopg.errors import UniqueViolation

        add = "ALTER TABLE kg_quads ADD CONSTRAINT kg_quads_spog PRIMARY KEY (s, p, o, g)"
        self.db.execute("SAVEPOINT kg_bulk_pk")
        try:
            self.db.execute(add)
        except UniqueViolation:
            self.db.execute("ROLLBACK TO SAVEPOINT kg_bulk_pk")
        else:
            self.db.execute("RELEASE SAVEPOINT kg_bulk_pk")
            return 0
        removed = self.db.execute(
            "DELETE FROM kg_quads q USING (SELECT ctid, row_number() OVER "
            "(PARTITION BY s, p, o, g ORDER BY ctid) AS n FROM kg_quads) d "
            "WHERE d.n > 1 AND q.ctid = d.ctid").rowcount
        self.db.execute("RELEASE SAVEPOINT kg_bulk_pk")
        self.db.execute(add)
        return removed

    def copy_graph(self, source: int, target: int) -> int:
        """Insert every statement of graph id ``source`` into graph id ``target`` (SPARQL
        ``ADD``/``COPY``/``MOVE``); returns how many were new."""
        with self.db.transaction():
            self._stage()
            self.db.execute(
                "INSERT INTO kg_stage (g, s, p, o) SELECT ?, s, p, o FROM kg_quads WHERE g = ?",
                (target, source),
            )
            return self._insert_staged(self._write_record)

    def remove(self, pattern: Pattern = (None, None, None), graph: Term | None = None) -> int:
        """Remove the statements matching ``pattern`` (``None`` = any) in ``graph``
        (``None`` = every graph, the default graph included); returns how many.

        With a reasoning profile, statements of the inferred graph are not removed: they go
        when the statements they follow from go (DRed, in the same transaction).
        """
        where = self._where(pattern, graph)
        if where is None:
            return 0
        clause, params = where
        with self.db.transaction():
            if all(t is None for t in pattern):
                # the graph is emptied: no file loaded into it before holds a statement now
                self.db.execute("DELETE FROM kg_loads" + (" WHERE graph = ?" if params else ""),
                                params)
            if self._hook() is None:
                self.db.execute(f"DELETE FROM kg_provenance WHERE {clause}", params)
                if self.has_table("kg_rules_derivations"):
                    # statements of an inferred graph no profile maintains (reason(live=
                    # False), reason_off) go with their derivations: those of missing
                    # statements were left (kg check: "derivation(s) of missing statements")
                    self.db.execute(f"DELETE FROM kg_rules_derivations WHERE {clause}", params)
                return self.db.execute(f"DELETE FROM kg_quads WHERE {clause}", params).rowcount
            # inferred statements are not removed directly: they go when they no longer follow
            inferred = self.inferred_graph_id()
            self._stage()
            self.db.execute(
                f"INSERT INTO kg_stage (g, s, p, o) SELECT g, s, p, o FROM kg_quads "
                f"WHERE {clause} AND g <> ?", [*params, -1 if inferred is None else inferred]
            )
            return self._delete_staged()

    def remove_quads(self, quads: Iterable[tuple]) -> int:
        """Remove exactly these triples/quads; returns how many were present."""
        wanted = [as_quad(q) for q in quads]
        if not wanted:
            return 0
        with self.db.transaction():
            ids = self.dictionary.ids({t for q in wanted for t in q})
            rows = [
                (ids[g], ids[s], ids[p], ids[o])
                for s, p, o, g in wanted
                if s in ids and p in ids and o in ids and g in ids
            ]
            self._stage()
            self.db.insert_rows("kg_stage", ("g", "s", "p", "o"), rows)
            return self._delete_staged()

    def remove_source(self, source: str) -> int:
        """Remove the provenance of ``source`` and the statements that had no other source.

        Used to replace the triples extracted from a changed document. Returns the number of
        statements removed.
        """
        with self.db.transaction():
            self._stage()
            self.db.execute(
                "INSERT INTO kg_stage (g, s, p, o) SELECT DISTINCT g, s, p, o FROM kg_provenance "
                "WHERE source = ?", (source,)
            )
            self.db.execute("DELETE FROM kg_provenance WHERE source = ?", (source,))
            # statements with another source stay
            self.db.execute(
                "DELETE FROM kg_stage WHERE EXISTS (SELECT 1 FROM kg_provenance pr WHERE "
                "pr.g = kg_stage.g AND pr.s = kg_stage.s AND pr.p = kg_stage.p AND "
                "pr.o = kg_stage.o)"
            )
            return self._delete_staged()

    # -- graphs --------------------------------------------------------------------------
    def graphs(self) -> list[URIRef | BNode]:
        """The named graphs (those holding statements or created explicitly)."""
        ids = [r[0] for r in self.db.fetchall("SELECT id FROM kg_graphs ORDER BY id")]
        terms = self.decode(ids)
        return [terms[i] for i in ids if i in terms]  # type: ignore[misc]

    def create_graph(self, graph: URIRef | BNode) -> None:
        """Record a named graph, even while it is empty."""
        with self.db.transaction():
            gid = self.dictionary.ids([graph], create=True)[graph]
            if gid != schema.DEFAULT_GRAPH_ID:
                self.db.execute(
                    "INSERT INTO kg_graphs (id) VALUES (?) ON CONFLICT DO NOTHING", (gid,)
                )

    def drop_graph(self, graph: URIRef | BNode) -> int:
        """Remove a named graph and its statements; returns the number of statements.

        The inferred graph of a reasoning profile stays (see :meth:`remove`).
        """
        with self.db.transaction():
            removed = self.remove((None, None, None), graph)
            gid = self.dictionary.ids([graph]).get(graph)
            if gid is not None and (self._hook() is None or gid != self.inferred_graph_id()):
                self.db.execute("DELETE FROM kg_graphs WHERE id = ?", (gid,))
        return removed

    # -- reads ---------------------------------------------------------------------------
    def _where(self, pattern: Pattern, graph: Term | None) -> tuple[str, list[int]] | None:
        """WHERE clause for a pattern, or ``None`` if a bound term is not in the store."""
        bound = [(col, t) for col, t in zip(_POSITIONS, pattern) if t is not None]
        if graph is not None:
            bound.append(("g", graph))
        if not bound:
            return "1 = 1", []
        ids = self.dictionary.ids(t for _, t in bound)
        if len(ids) < len({t for _, t in bound}):
            return None
        return " AND ".join(f"{col} = ?" for col, _ in bound), [ids[t] for _, t in bound]

    def triples(self, pattern: Pattern = (None, None, None), graph: Term | None = None
                ) -> Iterator[Quad]:
        """Statements matching ``pattern`` in ``graph`` (``None``: every graph)."""
        where = self._where(pattern, graph)
        if where is None:
            return iter(())
        clause, params = where
        rows = self.db.fetchall(f"SELECT s, p, o, g FROM kg_quads WHERE {clause}", params)
        if not rows:
            return iter(())
        terms = self.decode({i for row in rows for i in row})
        return ((terms[s], terms[p], terms[o], terms[g]) for s, p, o, g in rows)  # type: ignore[misc]

    def count(self, graph: Term | None = None) -> int:
        """Number of statements in ``graph`` (``None``: in every graph)."""
        where = self._where((None, None, None), graph)
        if where is None:
            return 0
        clause, params = where
        return int(self.db.scalar(f"SELECT count(*) FROM kg_quads WHERE {clause}", params))

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, statement: tuple) -> bool:
        s, p, o, g = as_quad(statement)
        return next(iter(self.triples((s, p, o), g)), None) is not None

    def provenance_of(self, statement: tuple) -> list[Provenance]:
        """Per-statement provenance records of a triple (any graph) or quad."""
        if len(statement) == 3:
            where = self._where(statement, None)  # type: ignore[arg-type]
        else:
            s, p, o, g = as_quad(statement)
            where = self._where((s, p, o), g)
        if where is None:
            return []
        clause, params = where
        cols = ", ".join(f'"{f}"' if f == "end" else f for f in _PROVENANCE_FIELDS)
        rows = self.db.fetchall(
            f"SELECT {cols} FROM kg_provenance WHERE {clause} ORDER BY id", params
        )
        return [Provenance(**dict(zip(_PROVENANCE_FIELDS, row))) for row in rows]

    def loads(self, graph: Term | None = None) -> list[dict[str, Any]]:
        """Records of the bulk loads (file, graph, format, statements, time, id), oldest first."""
        sql = "SELECT source, graph, format, statements, loaded_at, id FROM kg_loads"
        params: list[int] = []
        if graph is not None:
            gid = self.dictionary.ids([graph]).get(graph)
            if gid is None:
                return []
            sql += " WHERE graph = ?"
            params.append(gid)
        rows = self.db.fetchall(sql + " ORDER BY id", params)
        names = self.decode({r[1] for r in rows})
        return [
            {"source": r[0], "graph": names.get(r[1]), "format": r[2], "statements": r[3],
             "loaded_at": r[4], "id": r[5]}
            for r in rows
        ]

    def last_load_id(self) -> int:
        """Id of the newest load record (0: none); a later load has a greater one."""
        return int(self.db.scalar("SELECT max(id) FROM kg_loads") or 0)

    # -- loading and statistics ----------------------------------------------------------
    def load(
        self,
        paths: str | Path | Iterable[str | Path],
        format: str | None = None,
        graph: URIRef | BNode | None = None,
        progress: bool | None = None,
        allow_contexts: Iterable[str] = (),
    ) -> LoadResult:
        """Bulk-load RDF files (any rdflib format, gzip transparently) in one transaction.

        See :func:`kg_engine.store.loader.load_files`.
        """
        from kg_engine.store.loader import load_files

        return load_files(self, paths, format=format, graph=graph, progress=progress,
                          allow_contexts=frozenset(allow_contexts))

    def refresh_stats(self) -> None:
        """Recompute per-predicate statistics (``kg_stats``) and the planner statistics."""
        with self.db.transaction():
            self.db.execute("DELETE FROM kg_stats")
            # two grouped scans: (p, o) is in POSG order; distinct subjects need their own pass
            objects = self.db.fetchall(
                "SELECT p, count(*), count(DISTINCT o) FROM kg_quads GROUP BY p ORDER BY p")
            with self.db.external_sort() as external:
                # (s, p) pairs come distinct from the SPOG order; counting them per predicate
                # is a sort, which an external sort does best (10 M quads: 2.1 CPU-s against
                # 3.0 for count(DISTINCT s), whose in-memory b-trees are best otherwise)
                subjects = dict(self.db.fetchall(
                    "SELECT p, count(*) FROM (SELECT DISTINCT s, p FROM kg_quads) GROUP BY p"
                    if external else "SELECT p, count(DISTINCT s) FROM kg_quads GROUP BY p"))
            self.db.executemany(
                "INSERT INTO kg_stats (p, triples, subjects, objects) VALUES (?, ?, ?, ?)",
                [(p, n, subjects[p], o) for p, n, o in objects],
            )
        # PostgreSQL's bare ANALYZE takes every table of the database: the other stores'
        # schemas too (and a lock on each: hundreds of stores ran out of lock memory)
        if self.dialect == "sqlite":
            self.db.execute("ANALYZE")
            return
        self._planner_statistics()
        tables = [name for (name,) in self.db.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        self.db.execute("ANALYZE " + ", ".join(f'"{name}"' for name in tables))

    def _planner_statistics(self) -> None:
        """PostgreSQL: a fine-grained sample of ``kg_quads.p`` and ``.o`` and their joint
        distribution (``CREATE STATISTICS … (mcv, dependencies)``, targets 1000), set once
        per store, taken by every ``ANALYZE``.

        PostgreSQL multiplies ``p = ?`` by ``o = ?`` as if they were independent: ``?x
        rdf:type ub:Chair`` was estimated at 9 rows for 189 and ``?y ub:subOrganizationOf
        <University0>`` at 1 for 239, so a plan in the compiler's join order put the small
        side inside a loop (LUBM q12: 4 → 150 ms). With these statistics the estimates are
        within 10-20 % (164 for 189, 196 for 239). The price: ``ANALYZE kg_quads`` samples
        300k rows (~2 s) instead of 30k."""
        if self.db.fetchone("SELECT 1 FROM pg_statistic_ext WHERE stxname = 'kg_quads_po' "
                            "AND stxnamespace = current_schema()::regnamespace") is not None:
            return
        self.db.execute("ALTER TABLE kg_quads ALTER COLUMN p SET STATISTICS 1000, "
                        "ALTER COLUMN o SET STATISTICS 1000")
        self.db.execute("CREATE STATISTICS IF NOT EXISTS kg_quads_po (mcv, dependencies) "
                        "ON p, o FROM kg_quads")
        self.db.execute("ALTER STATISTICS kg_quads_po SET STATISTICS 1000")

    def bump_stats(self, added: dict[int, int]) -> None:
        """Update ``kg_stats`` after a small write of ``added`` statements per predicate id
        without scanning the store: triple counts grow by ``added``, distinct subjects and
        objects in proportion (estimates; :meth:`refresh_stats` recomputes them exactly)."""
        if not added:
            return
        known = self.predicate_stats()
        rows = []
        for p, n in added.items():
            t, s, o = known.get(p, (0, 0, 0))
            grow = (t + n) / t if t else 1.0
            rows.append((p, t + n, round(s * grow) if t else n, round(o * grow) if t else n))
        with self.db.transaction():
            self.db.executemany("DELETE FROM kg_stats WHERE p = ?", [(r[0],) for r in rows])
            self.db.executemany(
                "INSERT INTO kg_stats (p, triples, subjects, objects) VALUES (?, ?, ?, ?)", rows)

    def recount_stats(self, predicates: Sequence[int]) -> None:
        """Set the triple counts of ``predicates`` in ``kg_stats`` exactly (one indexed count
        each), distinct subjects and objects grown in proportion, as :meth:`bump_stats`."""
        known = self.predicate_stats()
        counts = {p: int(self.db.scalar("SELECT count(*) FROM kg_quads WHERE p = ?", (p,)))
                  for p in predicates}
        self.bump_stats({p: n - known.get(p, (0, 0, 0))[0] for p, n in counts.items()
                         if n != known.get(p, (0, 0, 0))[0]})

    def vacuum(self, *, compact: bool = True) -> dict[str, int | bool | None]:
        """Free the terms no statement (or other record) uses any more, then compact the file.

        Terms used by a column of :data:`~kg_engine.store.schema.TERM_ID_COLUMNS` stay (and
        the datatypes of those that are literals); the others are deleted, and their ids are
        never handed out again. Other processes see the store's vacuum count change
        (``kg_meta`` key ``term_epoch``) before their next read or write and drop their
        cached term ids and compiled queries (:mod:`kg_engine.store.dictionary`).

        The terms are deleted (and committed) before the file is compacted: when another
        process takes the write lock in between and keeps it past the lock wait, the terms
        stay freed and ``compacted`` is ``False``; a later vacuum compacts the file (it
        compacts whenever the file has free pages).

        Args:
            compact: also give the free pages back to the file system (SQLite ``VACUUM``).

        Returns:
            ``{"terms_removed", "terms", "bytes_before", "bytes_after", "compacted"}``;
            ``compacted``: ``True`` when the file was compacted, ``False`` when another
            writer held the store, ``None`` when there was nothing to do (nothing removed and
            no free pages, ``compact=False``, PostgreSQL).
        """
        before = self.file_size()
        temp = "TEMP" if self.dialect == "sqlite" else "TEMPORARY"
        with self.db.transaction():
            # in the transaction: the vacuum and its statistics, or neither (an interrupted
            # vacuum left the statistics refreshed and every term still there)
            self.refresh_stats()  # predicates no statement uses any more leave kg_stats
            top = int(self.db.scalar("SELECT max(id) FROM kg_terms") or 0)
            floor = int(self.db.scalar(
                "SELECT value FROM kg_meta WHERE key = ?", (schema.TERM_ID_FLOOR_KEY,)) or 0)
            self.db.execute("DELETE FROM kg_meta WHERE key = ?", (schema.TERM_ID_FLOOR_KEY,))
            self.db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)",
                            (schema.TERM_ID_FLOOR_KEY, str(max(top, floor))))
            self.db.execute(f"CREATE {temp} TABLE IF NOT EXISTS kg_used (id BIGINT PRIMARY KEY)")
            self.db.execute("DELETE FROM kg_used")
            for table, cols in schema.TERM_ID_COLUMNS.items():
                if not self.has_table(table):
                    continue
                for col in cols:
                    self.db.execute(f"INSERT INTO kg_used (id) SELECT DISTINCT {col} FROM {table} "
                                    f"WHERE {col} > 0 ON CONFLICT DO NOTHING")
            self.db.execute("INSERT INTO kg_used (id) SELECT DISTINCT t.dt FROM kg_terms t "
                            "JOIN kg_used u ON u.id = t.id WHERE t.dt > 0 ON CONFLICT DO NOTHING")
            removed = self.db.execute(
                "DELETE FROM kg_terms WHERE NOT EXISTS (SELECT 1 FROM kg_used u "
                "WHERE u.id = kg_terms.id)").rowcount
            self.db.execute("DELETE FROM kg_used")
            if removed:  # other processes' cached ids of these terms are stale now
                epoch = int(self.meta(schema.TERM_EPOCH_KEY) or 0) + 1
                self.db.execute("DELETE FROM kg_meta WHERE key = ?", (schema.TERM_EPOCH_KEY,))
                self.db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)",
                                (schema.TERM_EPOCH_KEY, str(epoch)))
        self.dictionary.check_epoch()  # a new generation: plans holding ids are dropped
        compacted = None
        if compact and self.dialect == "sqlite" and (
                removed or int(self.db.scalar("PRAGMA freelist_count") or 0)):
            try:
                self.db.execute("VACUUM")
                compacted = True
            except sqlite3.OperationalError as exc:  # another writer since the commit
                if not getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                    raise
                compacted = False
        return {"terms_removed": removed,
                "terms": int(self.db.scalar("SELECT count(*) FROM kg_terms")),
                "bytes_before": before, "bytes_after": self.file_size(),
                "compacted": compacted}

    def predicate_stats(self) -> dict[int, tuple[int, int, int]]:
        """``{predicate id: (triples, distinct subjects, distinct objects)}``."""
        return {
            p: (t, s, o)
            for p, t, s, o in self.db.fetchall("SELECT p, triples, subjects, objects FROM kg_stats")
        }

    def file_size(self) -> int | None:
        """Bytes the store occupies on disk: the SQLite file (after a WAL checkpoint), or the
        kg-engine tables of the current PostgreSQL schema with their indexes and TOAST."""
        if self.dialect == "sqlite":
            path = self.db.fetchall("PRAGMA database_list")[0][2]
            if not path:
                return None
            # SQLite names the file in UTF-8; the file system's encoding may be another
            # (LANG=C: os.path.exists of a non-ASCII name was False, the size "in memory")
            path = os.fsdecode(path.encode("utf-8", "surrogateescape"))
            self.checkpoint()  # nothing on a read-only store
            return sum(
                os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)
            )
        return int(self.db.scalar(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'kg%'"
        ))

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log into the database file, and empty it, as far as
        the other connections to the file allow now (no-op on PostgreSQL).

        It never waits for them: a ``TRUNCATE`` checkpoint waits (the busy timeout, 30 s)
        for every reader of an older snapshot and every writer, so a ``kg load`` of one
        statement beside a ``kg serve`` answering a query took 21 s, committed after 1 s.
        Without the wait it copies what it can, as SQLite's automatic checkpoints do,
        and leaves the rest to them.
        """
        if self.dialect == "sqlite" and not self.db.in_transaction and not self.readonly:
            wait = self.db.scalar("PRAGMA busy_timeout")
            self.db.execute("PRAGMA busy_timeout=0")
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self.db.execute(f"PRAGMA busy_timeout={int(wait)}")

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        if self._engine is not None:
            self._engine.dispose()
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r})"
