"""The term dictionary: rdflib terms ⇄ integer ids, batched and cached in-process.

Ids are assigned densely (1, 2, 3, …) inside write transactions (those a vacuum frees are never
given again), so a cached mapping stays valid until this process rolls back a transaction that created terms (their ids
go to the next new terms), or a ``vacuum`` (of any process) deletes terms: then the cache is
dropped and :attr:`TermDictionary.generation` counted up (the SPARQL engine drops its compiled
plans and its id → term cache, which hold ids, when it changes).
Every write transaction checks the store's vacuum count first (``kg_meta`` key
``term_epoch``), so an id cached before another process's vacuum is never written into a
statement; so does every read transaction (:meth:`~kg_engine.store.database.Database.snapshot`,
PostgreSQL's ``reading``: in its own snapshot), and every look-up outside one (SQLite: only
when another connection has committed, ``PRAGMA data_version``). A SQLite query, which runs
outside a transaction, checks when it has run (:meth:`TermDictionary.current`): if a vacuum
committed before its end, it runs again.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> with store.db.transaction():
    ...     ids = store.dictionary.ids([URIRef("urn:a")], create=True)
    >>> store.dictionary.terms(ids.values())
    {1: rdflib.term.URIRef('urn:a')}
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from typing import TypeVar

from kg_engine.core.terms import DEFAULT_GRAPH, Term
from kg_engine.errors import StoreError
from kg_engine.store.database import Database
from kg_engine.store.schema import DEFAULT_GRAPH_ID, IRI, TERM_EPOCH_KEY
from kg_engine.store.terms import TermRow, decode, encode, term_hash

__all__ = ["TermDictionary"]

_CHUNK = 500  # ids / hashes per IN (...) list
_CACHE_LIMIT = 2_000_000

Identity = tuple[int, str, "str | None", str]
T = TypeVar("T")

#: Runs of one read (:meth:`TermDictionary.current`), each overtaken by a vacuum, at most.
RUNS = 5
#: Inside a :meth:`TermDictionary.current` read (SQLite: look-ups leave the check to its end).
_DEFERRED: contextvars.ContextVar[bool] = contextvars.ContextVar("kg_epoch_deferred",
                                                                 default=False)


class TermDictionary:
    """Batched, cached access to ``kg_terms`` for one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[Term, int] = {DEFAULT_GRAPH: DEFAULT_GRAPH_ID}
        self._terms: dict[int, Term] = {DEFAULT_GRAPH_ID: DEFAULT_GRAPH}
        self._epoch: str | None = None  # the store's vacuum count the ids are valid for
        self._version: int | None = None  # SQLite data_version when the epoch was checked
        self._started = False  # the schema exists (start() was called): checks can read it
        #: How many times the ids handed out were dropped because a vacuum deleted terms, or
        #: a rollback undid terms created in its transaction.
        self.generation = 0
        self._created = False  # the write transaction in progress created terms
        db.on_rollback.append(self._rolled_back)
        db.on_begin.append(self._begun)
        db.on_begin.append(self.check_epoch)
        db.on_read.append(self.check_reads)

    @property
    def epoch(self) -> str | None:
        """The store's vacuum count (``kg_meta`` key ``term_epoch``) that the ids handed out
        are valid for (``None``: never vacuumed)."""
        return self._epoch

    def start(self) -> None:
        """Note the store's vacuum count (the store calls it once its schema exists)."""
        self._epoch = self.db.scalar("SELECT value FROM kg_meta WHERE key = ?", (TERM_EPOCH_KEY,))
        self._started = True

    def clear_cache(self) -> None:
        """Forget cached mappings (after a rollback, ids handed out may not exist)."""
        self._ids = {DEFAULT_GRAPH: DEFAULT_GRAPH_ID}
        self._terms = {DEFAULT_GRAPH_ID: DEFAULT_GRAPH}

    def _begun(self) -> None:
        self._created = False

    def _rolled_back(self) -> None:
        """After a rollback: the ids of the terms the transaction created are free again, and
        the next new terms get them. Every cache of ids (this one, compiled plans, the
        SPARQL layer's id → term cache) may hold them: a new :attr:`generation` if so (a
        failed update that had read its own new terms answered later queries with them, in
        place of the terms that got their ids)."""
        self.clear_cache()
        if self._created:
            self._created = False
            self.generation += 1

    def check_epoch(self) -> bool:
        """Drop the cache (and count a :attr:`generation`) if a ``vacuum`` deleted terms
        since the ids handed out were read; returns whether it did."""
        if not self._started:
            return False  # the store is being created: no kg_meta yet, no ids handed out
        epoch = self.db.scalar("SELECT value FROM kg_meta WHERE key = ?", (TERM_EPOCH_KEY,))
        if epoch == self._epoch:
            return False
        self._epoch = epoch
        self.generation += 1
        self.clear_cache()
        return True

    def check_reads(self) -> bool:
        """The check before a read: SQLite: :meth:`check_epoch` when another connection has
        committed meanwhile (``PRAGMA data_version``, no read of the file); PostgreSQL:
        :meth:`check_epoch`. Returns whether the ids handed out were dropped."""
        if not self._started:
            return False
        if self.db.dialect == "sqlite":
            version = self.db.scalar("PRAGMA data_version")
            if version == self._version:
                return False
            self._version = version
        return self.check_epoch()

    def _check_lookup(self) -> None:
        """Before a look-up: :meth:`check_reads`, unless a PostgreSQL read or write
        transaction is in progress (its start checked, in its snapshot) or the look-up is
        part of a :meth:`current` read on SQLite (checked at its end)."""
        if self.db.dialect == "sqlite":
            if not _DEFERRED.get():
                self.check_reads()
        elif not self.db.in_transaction:
            self.check_reads()

    def current(self, read: Callable[[], T]) -> T:
        """``read()``, run again while a vacuum (of another process) that committed before
        its end deleted terms: the ids it used (compiled plans, this cache) may have named
        deleted terms, and a term written again since has a new id (a query of it found
        nothing). SQLite: one ``data_version`` after the read (look-ups during it skip
        theirs); PostgreSQL: checked at the start of the read's transaction, or now.

        Raises:
            StoreError: every one of :data:`RUNS` runs was overtaken by a vacuum.
        """
        for _ in range(RUNS):
            if self.db.dialect != "sqlite":
                self._check_lookup()
            start = self.generation
            token = _DEFERRED.set(True)
            try:
                result = read()
            finally:
                _DEFERRED.reset(token)
            self._check_lookup()
            if self.generation == start:
                return result
        raise StoreError(f"another process vacuumed the store during each of {RUNS} runs of "
                         "this read: run it again once kg vacuum has finished")

    def _remember(self, term: Term, id_: int) -> None:
        if len(self._ids) > _CACHE_LIMIT:
            self.clear_cache()
        self._ids[term] = id_
        self._terms[id_] = term

    # -- term -> id ----------------------------------------------------------------------
    def ids(self, terms: Iterable[Term], create: bool = False) -> dict[Term, int]:
        """Ids of ``terms``; unknown terms are created when ``create`` (needs a write
        transaction), else left out of the result."""
        self._check_lookup()
        out: dict[Term, int] = {}
        missing: dict[Term, TermRow] = {}
        for term in terms:
            id_ = self._ids.get(term)
            if id_ is not None:
                out[term] = id_
            elif term not in missing:
                missing[term] = encode(term)
        if missing:
            found = self.resolve(list(missing.values()), create=create)
            for term, row in missing.items():
                id_ = found.get(_identity(row))
                if id_ is not None:
                    out[term] = id_
                    self._remember(term, id_)
                    if row.lang and row.lang != term.language:  # type: ignore[union-attr]
                        self._terms[id_] = decode(*row[1:5])  # the stored (lower-case) tag
        return out

    def resolve(self, rows: list[TermRow], create: bool) -> dict[Identity, int]:
        """Ids of term rows by identity, looking up by hash; creates missing ones if asked."""
        wanted = {_identity(r): r for r in rows}
        found = self._lookup(wanted)
        if create:
            new = [r for key, r in wanted.items() if key not in found]
            if new:
                found.update(self.insert(new))
        return found

    def _lookup(self, wanted: dict[Identity, TermRow]) -> dict[Identity, int]:
        found: dict[Identity, int] = {}
        hashes = list({r.h for r in wanted.values()})
        for i in range(0, len(hashes), _CHUNK):
            chunk = hashes[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for id_, kind, lex, dt_lex, lang in self.db.fetchall(
                "SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
                f"LEFT JOIN kg_terms d ON d.id = t.dt WHERE t.h IN ({marks})",
                chunk,
            ):
                key = (kind, lex, dt_lex, lang)
                if key in wanted:
                    found[key] = id_
        return found

    def next_id(self) -> int:
        """The next free id (call inside the write transaction that uses it): ids freed by
        ``vacuum`` are never given again (``kg_meta`` keeps the highest id handed out)."""
        top = int(self.db.scalar("SELECT max(id) FROM kg_terms") or 0)
        floor = self.db.scalar("SELECT value FROM kg_meta WHERE key = 'term_id_floor'")
        return max(top, int(floor or 0)) + 1

    def insert(self, rows: list[TermRow], every: dict[Identity, int] | None = None
               ) -> dict[Identity, int]:
        """Insert new term rows (known to be absent) with fresh ids; returns their ids.

        Datatype IRIs of literals are resolved (and created) first: looked up by hash, or in
        ``every`` when given (the identity → id of every term of the store, kept by a bulk
        load: no look-up then, the hash index may be absent; the new ids are added to it).
        """
        if not self.db.in_transaction:
            raise RuntimeError("terms can only be created inside store.db.transaction()")
        datatypes = {r.datatype for r in rows if r.datatype is not None}
        dt_ids: dict[str | None, int] = {None: 0}
        if datatypes:
            dt_rows = {d: encode_iri(d) for d in datatypes}
            if every is None:
                known = self._lookup({_identity(r): r for r in dt_rows.values()})
            else:
                known = {k: every[k] for r in dt_rows.values() if (k := _identity(r)) in every}
            missing = [r for r in dt_rows.values() if _identity(r) not in known]
            if missing:
                known.update(self.insert(missing, every))
            dt_ids.update({d: known[_identity(r)] for d, r in dt_rows.items()})
        next_id = self.next_id()
        self._created = True
        out: dict[Identity, int] = {}
        if datatypes:  # a datatype IRI may also be among the rows (e.g. `rdfs:range xsd:date`)
            out.update(known)
        records = []
        for r in rows:
            key = _identity(r)
            if key in out:
                continue
            out[key] = next_id
            records.append(
                (next_id, r.h, r.kind, r.lex, dt_ids[r.datatype], r.lang, r.num, r.dtm, r.bln)
            )
            next_id += 1
        self.db.insert_rows(
            "kg_terms", ("id", "h", "kind", "lex", "dt", "lang", "num", "dtm", "bln"), records
        )
        if every is not None:
            every.update(out)
        return out

    # -- id -> term ----------------------------------------------------------------------
    def terms(self, ids: Iterable[int]) -> dict[int, Term]:
        """Terms of ``ids`` (0 is the default graph); unknown ids are left out."""
        self._check_lookup()
        out: dict[int, Term] = {}
        missing = []
        for id_ in ids:
            term = self._terms.get(id_)
            if term is not None:
                out[id_] = term
            else:
                missing.append(id_)
        missing = list(set(missing))
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for id_, kind, lex, dt_lex, lang in self.db.fetchall(
                "SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
                f"LEFT JOIN kg_terms d ON d.id = t.dt WHERE t.id IN ({marks})",
                chunk,
            ):
                term = decode(kind, lex, dt_lex, lang)
                out[id_] = term
                self._remember(term, id_)
        return out


def encode_iri(iri: str) -> TermRow:
    """The dictionary row of an IRI given as a string."""
    return TermRow(term_hash(IRI, iri, None, ""), IRI, iri, None, "", None, None, None)


def _identity(row: TermRow) -> Identity:
    return (row.kind, row.lex, row.datatype, row.lang)
