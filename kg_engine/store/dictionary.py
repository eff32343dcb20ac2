"""The term dictionary: rdflib terms ⇄ integer ids, batched and cached in-process.

Ids are assigned densely (1, 2, 3, …) inside write transactions and never reused, so a cached
mapping stays valid until this process rolls a transaction back, or a ``vacuum`` (of any
process) deletes terms: then the cache is dropped. Every write transaction checks the
store's vacuum count first (``kg_meta`` key ``term_epoch``), so an id cached before another
process's vacuum is never written into a statement; on SQLite reads check it too whenever
another connection has committed.

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

from collections.abc import Callable, Iterable

from kg_engine.core.terms import DEFAULT_GRAPH, Term
from kg_engine.store.database import Database
from kg_engine.store.schema import DEFAULT_GRAPH_ID, IRI, TERM_EPOCH_KEY
from kg_engine.store.terms import TermRow, decode, encode, term_hash

__all__ = ["TermDictionary"]

_CHUNK = 500  # ids / hashes per IN (...) list
_CACHE_LIMIT = 2_000_000

Identity = tuple[int, str, "str | None", str]


class TermDictionary:
    """Batched, cached access to ``kg_terms`` for one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[Term, int] = {DEFAULT_GRAPH: DEFAULT_GRAPH_ID}
        self._terms: dict[int, Term] = {DEFAULT_GRAPH_ID: DEFAULT_GRAPH}
        self._epoch: str | None = None  # the store's vacuum count the cache is valid for
        self._version: int | None = None  # SQLite data_version when the epoch was checked
        #: Called when the cache was dropped because another process vacuumed (compiled
        #: plans holding term ids register here).
        self.on_stale: list[Callable[[], None]] = []
        db.on_rollback.append(self.clear_cache)
        db.on_begin.append(self.check_epoch)

    def clear_cache(self) -> None:
        """Forget cached mappings (after a rollback, ids handed out may not exist)."""
        self._ids = {DEFAULT_GRAPH: DEFAULT_GRAPH_ID}
        self._terms = {DEFAULT_GRAPH_ID: DEFAULT_GRAPH}

    def check_epoch(self) -> None:
        """Drop the cache if a ``vacuum`` deleted terms since it was filled (see module)."""
        if len(self._ids) <= 1 and len(self._terms) <= 1:
            return  # nothing cached (nor, while the store is being created, a kg_meta)
        epoch = self.db.scalar("SELECT value FROM kg_meta WHERE key = ?", (TERM_EPOCH_KEY,))
        if epoch != self._epoch:
            self._epoch = epoch
            self.clear_cache()
            for callback in self.on_stale:
                callback()

    def _check_reads(self) -> None:
        """SQLite: :meth:`check_epoch` when another connection has committed meanwhile."""
        if self.db.dialect != "sqlite" or (len(self._ids) <= 1 and len(self._terms) <= 1):
            return
        version = self.db.scalar("PRAGMA data_version")
        if version != self._version:
            self._version = version
            self.check_epoch()

    def _remember(self, term: Term, id_: int) -> None:
        if len(self._ids) > _CACHE_LIMIT:
            self.clear_cache()
        self._ids[term] = id_
        self._terms[id_] = term

    # -- term -> id ----------------------------------------------------------------------
    def ids(self, terms: Iterable[Term], create: bool = False) -> dict[Term, int]:
        """Ids of ``terms``; unknown terms are created when ``create`` (needs a write
        transaction), else left out of the result."""
        self._check_reads()
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
        self._check_reads()
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
