"""Bulk loading RDF files into the store: streaming, batched, transactional.

N-Triples and N-Quads take the fast path (a strict line parser, raw-token → id cache, large
``executemany``/``COPY`` batches); Turtle and TriG are read by kg-engine's own strict streaming
parser (:mod:`kg_engine.store.turtle`) into the same path; the other rdflib formats (RDF/XML,
JSON-LD, N3) are parsed by rdflib straight into a collecting sink, chunk by chunk, without
building an in-memory graph. Gzip is handled transparently. All files of one call load in ONE
transaction: a malformed file raises :class:`~kg_engine.errors.RDFSyntaxError`
(``file:line: what was expected``) and leaves the store exactly as before; a killed process
leaves the last committed state. Blank node labels are scoped per file, in every format
(``_:b1`` loaded twice is two nodes). Secondary indexes are dropped before a large load and
rebuilt after it, then statistics are refreshed. Several N-Triples/N-Quads files of one load
are parsed in worker processes feeding this one writer in file order, and on SQLite the quad
inserts run in a writer thread (:mod:`kg_engine.store.pipeline`).

Example:
    >>> import tempfile, os
    >>> from kg_engine.store import open_store
    >>> path = os.path.join(tempfile.mkdtemp(), "facts.nt")
    >>> _ = open(path, "w").write('<urn:a> <urn:p> "x" .\\n_:b <urn:p> <urn:a> .\\n')
    >>> result = open_store("sqlite://").load(path)
    >>> result.statements, result.added
    (2, 2)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import gzip
import io
import os
import re
import time
import uuid
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, filterfalse
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from rdflib import BNode, Dataset, URIRef
from rdflib.store import Store
from tqdm import tqdm

from kg_engine.core.files import path_text
from kg_engine.core.inputs import check_file
from kg_engine.core.lines import where
from kg_engine.core.terms import DEFAULT_GRAPH, exact_literals
from kg_engine.errors import (
    ConfigError,
    InputReadError,
    KgEngineError,
    RDFSyntaxError,
    UnsupportedOperationError,
)
from kg_engine.store import writes
from kg_engine.store.n3data import check_data_statement
from kg_engine.store.ntriples import parse_blocks, token_row
from kg_engine.store.pipeline import ParsedFiles, QuadWriter
from kg_engine.store.relative_iris import BaseGuard
from kg_engine.store.schema import BNODE
from kg_engine.store.terms import (
    VALUED_DATATYPES,
    TermRow,
    encode,
    ill_typed,
    make_row,
)
from kg_engine.store.turtle import TurtleParser, key_row, warn_ill_typed
from kg_engine.store.untrusted import DTD_WINDOW, check_jsonld_contexts, check_xml_entities

if TYPE_CHECKING:
    from kg_engine.store.database import Database
    from kg_engine.store.dictionary import TermDictionary

__all__ = ["FORMATS", "LoadResult", "LoadTarget", "guess_format", "load_files", "load_statements"]


class LoadTarget(Protocol):
    """What the loader needs of the store it fills (:class:`~kg_engine.store.SQLStore`).

    Named by its shape so that this module does not import ``sqlstore``, whose
    ``SQLStore.load`` calls :func:`load_files` (no import circle).
    """

    db: Database
    dictionary: TermDictionary

    @property
    def reasoning(self) -> Any: ...
    def drop_indexes(self, terms: bool = False) -> None: ...
    def create_indexes(self) -> None: ...
    def unmaintained(self) -> contextlib.AbstractContextManager[None]: ...
    def bump_stats(self, added: dict[int, int]) -> None: ...
    def recount_stats(self, predicates: Sequence[int]) -> None: ...
    def refresh_stats(self) -> None: ...
    def recompute_reasoning(self, why: str) -> None: ...
    def checkpoint(self) -> None: ...
    def bulk_begin(self) -> None: ...
    def bulk_add(self, rows: Sequence[tuple[int, int, int, int]]) -> None: ...
    def bulk_finish(self) -> int: ...

#: File extension → rdflib format name.
FORMATS = {
    ".nt": "nt", ".ntriples": "nt", ".nq": "nquads", ".nquads": "nquads", ".ttl": "turtle",
    ".turtle": "turtle", ".trig": "trig", ".n3": "n3", ".rdf": "xml", ".owl": "xml",
    ".xml": "xml", ".jsonld": "json-ld", ".json": "json-ld", ".hext": "hext",
}
_FAST_FORMATS = {"nt": False, "ntriples": False, "nt11": False, "nquads": True}
_TURTLE_FORMATS = {"turtle": False, "ttl": False, "trig": True}  # format -> TriG
#: rdflib's media-type names of the formats above (``--format application/n-quads``) -> ours,
#: so they take the same parsers (rdflib's N-Quads parser cannot write into the loader)
_MEDIA_TYPES = {
    "application/n-quads": "nquads", "application/n-triples": "nt", "text/turtle": "turtle",
    "application/trig": "trig", "application/rdf+xml": "xml", "application/ld+json": "json-ld",
    "text/n3": "n3",
    "nq": "nquads",  # kg export's name for N-Quads: what it writes, load reads by the same name
}
_CHUNK = 100_000  # statements per batch
_BIG_LOAD = 32 * 1024 * 1024  # bytes of input above which indexes are rebuilt after the load
_SMALL_LOAD = 20  # loads adding under 1/20 of the store's statements bump the statistics
_PRELOAD_TERMS = 100_000  # terms of a store without statements read in before a load
# N-Triples/N-Quads files of one load are parsed in worker processes (see .pipeline) when
# there are at least this many of them, together at least _PARALLEL_MIN_BYTES
_PARALLEL_MIN_FILES = 2
_PARALLEL_MIN_BYTES = 8 * 1024 * 1024


@dataclass
class LoadResult:
    """What a load did.

    Attributes:
        files: the files loaded, in order.
        statements: statements parsed (duplicates included).
        added: statements new to the store.
        seconds: wall time of the whole load, indexes and statistics included, from the
            moment it had the store's write lock.
        waited: seconds it waited for that lock first (another process writing).
    """

    files: list[str] = field(default_factory=list)
    statements: int = 0
    added: int = 0
    seconds: float = 0.0
    waited: float = 0.0

    @property
    def rate(self) -> float:
        """Statements parsed per second."""
        return self.statements / self.seconds if self.seconds else 0.0


def guess_format(path: str | Path) -> str:
    """rdflib format name from a file name (``.gz`` looked through).

    Raises:
        RDFSyntaxError: if the extension is not an RDF format.
    """
    name = str(path).lower()
    name = name.removesuffix(".gz")
    suffix = Path(name).suffix
    if suffix not in FORMATS:
        raise RDFSyntaxError(
            f"cannot tell the RDF format from the extension {suffix or '(none)'!r}; "
            f"pass format= (kg load --format FMT), one of {_format_names()}",
            source=str(path),
        )
    return FORMATS[suffix]


def _format_names() -> str:
    return ", ".join(sorted(set(FORMATS.values())))


def check_format(format: str) -> None:
    """Refuse a format name that no RDF parser reads.

    Raises:
        ConfigError: naming the usual formats.

    Example:
        >>> check_format("turtle")
        >>> check_format("nope")
        Traceback (most recent call last):
        ...
        kg_engine.errors.ConfigError: unknown RDF format 'nope'; use one of hext, json-ld, n3, nquads, nt, trig, turtle, xml
    """
    if format in _FAST_FORMATS or format in _TURTLE_FORMATS:
        return
    from rdflib.parser import Parser
    from rdflib.plugin import PluginException, get

    try:
        get(format, Parser)
    except PluginException:
        raise ConfigError(f"unknown RDF format {format!r}; use one of {_format_names()}") from None


def _open_binary(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(stream to read, raw file for progress) — gzip detected by its magic bytes."""
    raw = open(path, "rb")  # noqa: SIM115 - returned open, the caller closes it
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw), raw  # type: ignore[return-value]
    raw.seek(0)
    return raw, raw


def _not_utf8(path: Path, exc: UnicodeDecodeError, what: str) -> RDFSyntaxError:
    """The error for a file that is not UTF-8, at the line and column of its first bad byte
    (a Latin-1 ``Genève`` is byte 0xe8 where UTF-8 expects a continuation byte).

    Example:
        >>> import tempfile
        >>> f = Path(tempfile.mkdtemp()) / "latin1.ttl"
        >>> _ = f.write_bytes(b'<urn:a> <urn:b> "x" .\\r\\n<urn:a> <urn:n> "Gen\\xe8ve" .\\n')
        >>> exc = UnicodeDecodeError("utf-8", b"", 0, 1, "invalid continuation byte")
        >>> print(_not_utf8(f, exc, "Turtle and TriG files"))  # doctest: +ELLIPSIS
        /.../latin1.ttl:2:21: not UTF-8 text (byte 0xe8: invalid continuation byte); Turtle and TriG files must be UTF-8: ...
    """
    line = column = None
    byte = ""
    stream, raw = _open_binary(path)
    try:
        # surrogateescape: each undecodable byte becomes one lone surrogate, which UTF-8 text
        # never decodes to
        with raw, io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape",
                                   newline="") as text:
            for number, content in enumerate(text, 1):
                bad = next((i for i, c in enumerate(content) if "\udc80" <= c <= "\udcff"), None)
                if bad is not None:
                    line, column = number, bad + 1
                    byte = f"byte {ord(content[bad]) - 0xdc00:#04x}: "
                    break
    except (OSError, EOFError, zlib.error):
        pass
    return RDFSyntaxError(
        f"not UTF-8 text ({byte}{exc.reason}); {what} must be UTF-8: save the file as UTF-8 "
        "(from Latin-1: iconv -f latin1 -t utf-8 FILE > NEW)",
        source=str(path), line=line, column=column)


def load_files(
    store: LoadTarget,
    paths: str | Path | Iterable[str | Path],
    format: str | None = None,
    graph: URIRef | BNode | None = None,
    progress: bool | None = None,
    allow_contexts: Collection[str] = (),
) -> LoadResult:
    """Load RDF files into ``store`` in one transaction.

    Args:
        store: the target store.
        paths: one path or several.
        format: rdflib format name for all files (default: from each extension).
        graph: graph receiving the triples of triple formats and the default-graph part of
            quad formats (default: the default graph).
        progress: show a progress bar (``None``: only on a terminal, after 2 s).
        allow_contexts: JSON-LD context addresses that may be fetched (default: none; a
            document naming another is refused, see :mod:`kg_engine.store.untrusted`).

    Returns:
        A :class:`LoadResult`.

    Raises:
        InputNotFoundError: if a file does not exist (nothing is loaded).
        RDFSyntaxError: on malformed input, naming file, line and column (nothing is loaded).
        ConfigError: ``format`` names no RDF parser (nothing is loaded).
    """
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    for f in files:
        check_file(f, "RDF", nothing=" (nothing was loaded)")
    if format is not None:
        format = _MEDIA_TYPES.get(format.lower(), format)
        check_format(format)
    formats = [format or guess_format(f) for f in files]
    total_bytes = sum(f.stat().st_size for f in files)
    result = LoadResult(files=[str(f) for f in files])
    bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="loading", delay=2.0,
               disable=(not progress) if progress is not None else None, leave=False)
    asked = time.perf_counter()
    try:
        with _gc_paused(), store.db.transaction():
            # the transaction began with the write lock: a wait for another writer is no
            # part of the load's time (it made a 2 s load report 30 s and its rate a 15th)
            started = time.perf_counter()
            result.waited = started - asked
            empty = store.db.fetchone("SELECT 1 FROM kg_quads LIMIT 1") is None
            rebuild = total_bytes > _BIG_LOAD or empty
            # with a reasoning profile, a big load is followed by one recompute of the
            # closure; smaller ones extend it batch by batch (store.bulk_add)
            recompute = rebuild and store.reasoning is not None
            # a load adding < 1/_SMALL_LOAD of the statements updates the statistics
            # without a scan of the whole store (the scan would cost more than the load)
            before = int(store.db.scalar("SELECT SUM(triples) FROM kg_stats") or 0)
            target = store.dictionary.ids([graph or DEFAULT_GRAPH], create=True)[
                graph or DEFAULT_GRAPH]
            # every term's id in memory (an empty store): no look-up by hash during the load
            known = _all_terms(store) if empty else None
            if rebuild:
                store.drop_indexes(terms=known is not None)
            now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            live = contextlib.nullcontext() if not recompute else store.unmaintained()
            with live:
                per_predicate = _load_all(store, files, formats, target, now, bar, result,
                                          allow_contexts, known)
            known = None  # (~700 MB at 10 M triples) freed before the index sorts
            if rebuild:
                store.create_indexes()
            # in the transaction: the load and its statistics, or neither
            _update_stats(store, result, per_predicate, before, rebuild)
            if recompute:
                store.recompute_reasoning(f"a large load ({total_bytes:,} bytes)")
    finally:
        bar.close()
    store.checkpoint()
    result.seconds = time.perf_counter() - started
    return result


def load_statements(store: LoadTarget, chunks: Iterable[list[tuple]],
                    row_of: Callable[[Any], TermRow], graph: URIRef | BNode | None = None,
                    source: str = "<input>", format: str = "parsed") -> LoadResult:
    """Load the statements a parser yields, chunk by chunk, in one transaction.

    The path of ``Graph.parse`` into a kg-engine store (:mod:`kg_engine.store.rdflib_parsers`):
    the same writer as :func:`load_files`, fed by a stream instead of files. A parser error
    rolls everything back; inside a transaction that is already open (``store.begin()``,
    a SPARQL update) the statements are all parsed before the first is written, so a
    syntax error never leaves part of the input in the transaction either.

    Args:
        store: the target store.
        chunks: lists of ``(s, p, o, g)`` statements (``g`` ``None``: ``graph``) of keys
            that ``row_of`` turns into dictionary rows (raw N-Triples tokens, Turtle keys or
            rdflib terms); blank nodes are scoped to this call.
        row_of: key -> :class:`~kg_engine.store.terms.TermRow`.
        graph: the graph receiving default-graph statements (default: the default graph).
        source: the input's name (for the result and the load record, ``kg_loads``).
        format: the load record's format (``graph-store`` for a Graph Store Protocol write).

    Returns:
        A :class:`LoadResult`.

    Raises:
        RDFSyntaxError: whatever the parser raises (nothing is loaded).
    """
    started = time.perf_counter()
    result = LoadResult(files=[source])
    if store.db.in_transaction:
        chunks = [list(chain.from_iterable(chunks))]
    with _gc_paused(), store.db.transaction():
        before = int(store.db.scalar("SELECT SUM(triples) FROM kg_stats") or 0)
        target = store.dictionary.ids([graph or DEFAULT_GRAPH], create=True)[
            graph or DEFAULT_GRAPH]
        writer = _Writer(store, target)
        store.bulk_begin()
        for chunk in chunks:
            if chunk:
                writer.write(chunk, row_of)
        result.added = store.bulk_finish()
        result.statements = writer.statements
        writer.record(source, format, writes.now())
        _update_stats(store, result, writer.per_predicate, before, rebuild=False)
    store.checkpoint()
    result.seconds = time.perf_counter() - started
    return result


def _update_stats(store: LoadTarget, result: LoadResult, per_predicate: Counter[int],
                  before: int, rebuild: bool) -> None:
    """A load adding < 1/_SMALL_LOAD of the statements updates the statistics without a scan
    of the whole store (the scan would cost more than the load). When some statements were
    there already (a file loaded again: only its blank-node statements are new), which
    predicates the new ones have is not known, so the predicates the load touched are
    recounted (scaling each count by the share of new statements showed ex:q 4, ex:r 3 for a
    store holding 3 and 4)."""
    if not rebuild and result.added * _SMALL_LOAD < before and result.statements:
        if result.added == result.statements:
            store.bump_stats(dict(per_predicate))
        elif result.added:
            store.recount_stats(list(per_predicate))
    else:
        store.refresh_stats()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile: a load allocates millions of tuples and
    keeps hundreds of thousands alive (token -> id maps), so the collector's passes cost
    ~1 CPU-s per million statements and find nothing (the loader makes no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _all_terms(store: LoadTarget) -> dict[tuple, int] | None:
    """Identity -> id of every term of a store without statements (a few graph names and
    datatypes), or ``None`` if it still holds many terms (then the loader looks them up)."""
    if int(store.db.scalar("SELECT count(*) FROM kg_terms")) > _PRELOAD_TERMS:
        return None
    return {(kind, lex, dt, lang): id_ for id_, kind, lex, dt, lang in store.db.fetchall(
        "SELECT t.id, t.kind, t.lex, d.lex, t.lang FROM kg_terms t "
        "LEFT JOIN kg_terms d ON d.id = t.dt")}


def _load_all(store: LoadTarget, files: list[Path], formats: list[str], target: int, now: str,
              bar: tqdm, result: LoadResult, allow_contexts: Collection[str],
              known: dict[tuple, int] | None) -> Counter[int]:
    """Load the files; returns the statements read per predicate id. ``known``: see
    :class:`_Writer` (shared by the files: all terms they add go into it)."""
    per_predicate: Counter[int] = Counter()
    lines = [i for i, fmt in enumerate(formats) if fmt in _FAST_FORMATS]
    parallel = (len(lines) >= _PARALLEL_MIN_FILES
                and sum(files[i].stat().st_size for i in lines) >= _PARALLEL_MIN_BYTES)
    store.bulk_begin()
    threaded = getattr(store, "bulk_threaded", False)
    with contextlib.ExitStack() as stack:
        quads = stack.enter_context(QuadWriter(store.bulk_add)) if threaded else None
        sink = quads or store.bulk_add
        # the thread's inserts and this thread's statements never run at once (a statement's
        # row count is read from the connection after it ran)
        lock = quads.lock if quads else contextlib.nullcontext()
        parsed = stack.enter_context(ParsedFiles(
            f"{__name__}:_parsed_chunks", [(files[i], _FAST_FORMATS[formats[i]]) for i in lines],
            workers=min(len(lines), _cpus()))) if parallel else None
        offset = 0
        for i, (path, fmt) in enumerate(zip(files, formats)):
            writer = _Writer(store, target, known, sink, lock)
            if parsed is not None and fmt in _FAST_FORMATS:
                ids = [target]  # this file's token table: index -> term id
                for indexes, rows, position in parsed.chunks(lines.index(i)):
                    writer.write_indexes(indexes, rows, ids)
                    bar.update(offset + position - bar.n)
            elif fmt in _FAST_FORMATS:
                _load_lines(writer, path, _FAST_FORMATS[fmt], bar)
            elif fmt in _TURTLE_FORMATS:
                _load_turtle(writer, path, _TURTLE_FORMATS[fmt], bar)
            else:
                _load_rdflib(writer, path, fmt, bar, allow_contexts)
            offset += path.stat().st_size
            result.statements += writer.statements
            per_predicate.update(writer.per_predicate)
            with lock:
                writer.record(path_text(path), fmt, now)
    bar.set_description("indexing")
    result.added = store.bulk_finish()
    return per_predicate


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Writer:
    """Turns chunks of statements (raw tokens or rdflib terms) of ONE file into rows of the
    store.

    Blank nodes are scoped here, for every format: each file gets a fresh label prefix, so
    ``_:b1`` of two loads (or of two files of one load) names two nodes, while one label
    within a file (across its graphs too) stays one node. Parsers differ on this on their own
    (rdflib's JSON-LD parser keeps document labels as they are), so it is not left to them.

    ``known``, when given, maps the identity of EVERY term of the store to its id (a load
    into an empty store starts it from the few terms there): new terms are then told apart
    without a dictionary look-up in the database, and added to it. ``sink`` receives the
    rows of ids (default ``store.bulk_add``); ``lock`` is held around this writer's own
    statements (the term inserts) when ``sink`` writes from another thread.
    """

    def __init__(self, store: LoadTarget, target: int,
                 known: dict[tuple, int] | None = None,
                 sink: Callable[[list[tuple[int, int, int, int]]], None] | None = None,
                 lock: contextlib.AbstractContextManager[Any] | None = None) -> None:
        self.store = store
        self.sink = sink or store.bulk_add  # where rows of ids go (a QuadWriter: a thread)
        self.lock = lock or contextlib.nullcontext()  # held for this thread's own statements
        self.tokens: dict[Any, int] = {None: target}  # raw token / rdflib term -> id
        self.target = target
        self.known = known
        self.statements = 0
        self.per_predicate: Counter[int] = Counter()  # statements per predicate id
        self.per_graph: Counter[int] = Counter()  # statements per graph id
        self.bnode_prefix = f"b{uuid.uuid4().hex[:16]}_"

    def write(self, chunk: list[tuple], row_of: Callable[[Any], TermRow]) -> None:
        """Store a chunk of ``(s, p, o, g)`` statements; ``row_of(key)`` makes the dictionary
        row of an unknown key. Keys are mapped to ids by C-level passes over the chunk."""
        tokens = self.tokens
        keys = list(chain.from_iterable(chunk))
        # new keys in the order they first occur (a set's order follows the hash seed: the
        # ids, so export order, differed between two loads of one file)
        new = list(filterfalse(tokens.__contains__, dict.fromkeys(keys)))
        if new:
            prefix = self.bnode_prefix
            rows = [row if (row := row_of(k)).kind != BNODE else make_row(BNODE, prefix + row.lex)
                    for k in new]
            with self.lock:
                found = self._resolve(rows)
            for k, row in zip(new, rows):
                tokens[k] = found[row[1:5]]  # the identity: (kind, lex, datatype, lang)
        self._emit(list(map(tokens.__getitem__, keys)))

    def write_indexes(self, indexes: Sequence[int], rows: list[TermRow], ids: list[int]) -> None:
        """Store a chunk given as ``s, p, o, g`` indexes into the file's token table ``ids``
        (index -> term id), which ``rows`` (the chunk's new tokens, in table order) extend."""
        if rows:
            prefix = self.bnode_prefix
            rows = [row if row.kind != BNODE else make_row(BNODE, prefix + row.lex)
                    for row in rows]
            with self.lock:
                found = self._resolve(rows)
            ids.extend(found[row[1:5]] for row in rows)
        if indexes:
            self._emit(list(map(ids.__getitem__, indexes)))

    def _emit(self, ids: list[int]) -> None:
        """Hand flat ``s, p, o, g`` term ids to the sink as ``(g, s, p, o)`` rows."""
        self.sink(list(zip(ids[3::4], ids[0::4], ids[1::4], ids[2::4])))
        self.per_predicate.update(ids[1::4])
        self.per_graph.update(ids[3::4])
        self.statements += len(ids) // 4

    def record(self, source: str, format: str, at: str) -> None:
        """Write the load records of this file: one per graph it put statements in (a TriG
        or N-Quads file fills several; ``explain`` of a statement names the files loaded
        into ITS graph), the target graph's when it put none anywhere."""
        # the target first, the others in the order the file names them (ids differ by run)
        graphs = sorted(self.per_graph.items(), key=lambda g: g[0] != self.target)
        self.store.db.executemany(
            "INSERT INTO kg_loads (source, graph, format, statements, loaded_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(source, g, format, n, at) for g, n in graphs or [(self.target, 0)]])

    def _resolve(self, rows: list[TermRow]) -> dict[tuple, int]:
        dictionary = self.store.dictionary
        known = self.known
        if known is None:
            return dictionary.resolve(rows, create=True)
        found: dict[tuple, int] = {}
        new: dict[tuple, TermRow] = {}
        for row in rows:
            key = row[1:5]
            id_ = known.get(key)
            if id_ is None:
                new[key] = row
            else:
                found[key] = id_
        if new:
            # datatype IRIs included (resolved through ``known``, which gets the new ids)
            found.update(dictionary.insert(list(new.values()), known))
        return found


def _statement_chunks(path: Path, quads: bool) -> Iterator[tuple[list[tuple], int]]:
    """``(statements of raw tokens, bytes read so far)`` per chunk of an N-Triples/N-Quads
    file; decoding and decompression errors as :mod:`kg_engine.errors` errors."""
    stream, raw = _open_binary(path)
    # utf-8-sig: a leading byte order mark (Windows editors write one) is no content
    with raw, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
        chunk: list[tuple] = []
        try:
            for statements in parse_blocks(text, str(path), quads):
                chunk += statements
                if len(chunk) >= _CHUNK:
                    yield chunk, raw.tell()
                    chunk = []
            yield chunk, raw.tell()
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc, "N-Triples and N-Quads files") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise _truncated(path, exc) from None


def _token_row_of(path: Path) -> Callable[[str], TermRow]:
    warned = 0

    def row_of(token: str) -> TermRow:
        nonlocal warned
        try:
            row = token_row(token)
        except ValueError as exc:  # the token's first occurrence is the faulty line
            line = _find_token(path, token)
            raise RDFSyntaxError(str(exc), source=str(path), line=line) from None
        if row.datatype in VALUED_DATATYPES and row.num is None and row.dtm is None \
                and row.bln is None and ill_typed(row.lex, row.datatype):
            warned += 1  # the line is found by reading the file again, only for these
            warn_ill_typed(str(path), lambda: _find_token(path, token), None, row.lex,
                           str(row.datatype), warned)
        return row
    return row_of


def _load_lines(writer: _Writer, path: Path, quads: bool, bar: tqdm) -> None:
    row_of = _token_row_of(path)
    offset = bar.n
    for chunk, position in _statement_chunks(path, quads):
        if chunk:
            writer.write(chunk, row_of)
        bar.update(offset + position - bar.n)


def _parsed_chunks(path: Path, quads: bool) -> Iterator[tuple[array, list[TermRow], int]]:
    """In a parser process (:class:`~.pipeline.ParsedFiles`): per chunk of the file, the
    statements as numbers (``s, p, o, g`` indexes into the file's token table, 0 = the
    load's target graph), the dictionary rows of the tokens the chunk adds to the table (in
    table order; validated and hashed here) and the byte position. Token text never travels
    twice, and the writer's work per chunk is integer mapping (:meth:`_Writer.write_indexes`)."""
    row_of = _token_row_of(path)
    table: dict[Any, int] = {None: 0}
    for chunk, position in _statement_chunks(path, quads):
        keys = list(chain.from_iterable(chunk))
        new = list(filterfalse(table.__contains__, dict.fromkeys(keys)))  # first-seen order
        table.update(zip(new, range(len(table), len(table) + len(new))))
        rows = [row_of(token) for token in new]
        yield array("q", map(table.__getitem__, keys)), rows, position


def _load_turtle(writer: _Writer, path: Path, trig: bool, bar: tqdm) -> None:
    """Turtle / TriG through :class:`~kg_engine.store.turtle.TurtleParser` (strict, streaming);
    relative IRIs resolve against the file's ``file:`` URI, as rdflib resolves them."""
    parser = TurtleParser(str(path), base=path.resolve().as_uri(), trig=trig, implicit_base=True)
    stream, raw = _open_binary(path)
    # newline="": a carriage return inside a long string is data, not a line end to translate
    with raw, io.TextIOWrapper(stream, encoding="utf-8", newline="") as text:
        chunk: list[tuple] = []
        try:
            for statements in parser.blocks(text):
                chunk += statements
                if len(chunk) >= _CHUNK:
                    writer.write(chunk, key_row)
                    chunk = []
                    bar.update(raw.tell() - bar.n)
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc, "Turtle and TriG files") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise _truncated(path, exc) from None
        if chunk:
            writer.write(chunk, key_row)
        bar.update(raw.tell() - bar.n)
    _keep_prefixes(writer, parser.prefixes)


def _keep_prefixes(writer: _Writer, prefixes: dict[str, Any]) -> None:
    """The file's prefixes are kept (first binding of a prefix wins), for exports to reuse."""
    with writer.lock:
        writer.store.db.executemany(
            "INSERT INTO kg_meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(f"ns:{p}", str(ns)) for p, ns in prefixes.items()],
        )


def _find_token(path: Path, token: str) -> int | None:
    """Number of the first line containing ``token`` (to locate a malformed token)."""
    stream, raw = _open_binary(path)
    with raw, io.TextIOWrapper(stream, encoding="utf-8", errors="replace") as text:
        for number, line in enumerate(text, 1):
            if token in line:
                return number
    return None


class _Collector(Store):
    """A write-only rdflib Store that hands parsed statements to the writer in chunks
    (without a writer: keeps them all in ``chunk``)."""

    context_aware = True
    graph_aware = True
    formula_aware = True
    transaction_aware = False

    def __init__(self, writer: _Writer | None, source: str, guard: BaseGuard) -> None:
        super().__init__()
        self.writer = writer
        self.source = source
        self.guard = guard
        self.chunk: list[tuple] = []
        self._namespaces: dict[str, URIRef] = {}
        #: Prefixes bound while parsing (the file's own), as opposed to rdflib's defaults.
        self.declared: dict[str, URIRef] = {}

    def add(self, triple: tuple, context: Any, quoted: bool = False) -> None:
        check_data_statement(triple, context, quoted, self.source)
        absolute = self.guard.absolute
        s, p, o = triple
        g = getattr(context, "identifier", context)
        self.chunk.append((absolute(s), absolute(p), absolute(o),
                           None if g in (None, DEFAULT_GRAPH) else absolute(g)))
        if len(self.chunk) >= _CHUNK and self.writer is not None:
            self.flush()

    def addN(self, quads: Iterable[tuple]) -> None:
        for s, p, o, c in quads:
            self.add((s, p, o), c)

    def flush(self) -> None:
        if self.chunk:
            self.writer.write(self.chunk, encode)
            self.chunk = []

    # rdflib's parsers bind prefixes and look up graphs while parsing
    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        self._namespaces[prefix] = namespace
        self.declared[prefix] = namespace

    def namespace(self, prefix: str) -> URIRef | None:
        return self._namespaces.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        return next((p for p, n in self._namespaces.items() if n == namespace), None)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        return iter(self._namespaces.items())

    def add_graph(self, graph: Any) -> None:
        pass

    def remove_graph(self, graph: Any) -> None:
        """rdflib's HexTuples parser drops the empty default graph of the Dataset it makes
        over this store before it reads a line; nothing is collected yet, nothing to do."""
        if self.chunk or (self.writer is not None and self.writer.statements):
            raise UnsupportedOperationError(
                f"{self.source}: the parser removes a graph after statements were read; "
                "the load cannot drop statements it has passed on")

    def contexts(self, triple: Any = None) -> Iterator[Any]:
        return iter(())

    def triples(self, pattern: Any, context: Any = None) -> Iterator[Any]:
        return iter(())

    def __len__(self, context: Any = None) -> int:
        return 0


_LINE_IN_MESSAGE = re.compile(r"line (\d+)", re.IGNORECASE)


def _load_rdflib(writer: _Writer, path: Path, fmt: str, bar: tqdm,
                 allow_contexts: Collection[str] = ()) -> None:
    # relative IRIs resolve against the file's address, the first one warned (as in Turtle)
    guard = BaseGuard(str(path), path.resolve().as_uri(), implicit=True)
    collector = _Collector(writer, str(path), guard)
    dataset = Dataset(store=collector)
    _ = dataset.namespace_manager  # rdflib binds its own prefixes here, before the file's
    collector.declared = {}
    stream, raw = _open_binary(path)
    with raw, exact_literals():
        try:
            stream = _guarded(stream, path, fmt, allow_contexts)
            dataset.parse(source=stream, format=fmt, publicID=guard.parse_base)
        except KgEngineError:
            raise
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise _truncated(path, exc) from None
        except Exception as exc:  # rdflib parsers raise many types; keep the position
            raise _syntax_error(exc, path, fmt) from exc
        collector.flush()
    _keep_prefixes(writer, collector.declared)
    bar.update(path.stat().st_size)


def _guarded(stream: BinaryIO, path: Path, fmt: str, allow_contexts: Collection[str]) -> Any:
    """``stream`` after the untrusted-input checks of ``fmt`` (see :mod:`.untrusted`)."""
    if fmt == "json-ld":
        import json

        data = stream.read().removeprefix(b"\xef\xbb\xbf")  # a byte order mark is no content
        try:
            doc = json.loads(data)
        except UnicodeDecodeError as exc:
            raise RDFSyntaxError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                 source=str(path)) from None
        except json.JSONDecodeError as exc:  # its lineno counts LFs only
            line, column = where(exc.doc, exc.pos)
            raise RDFSyntaxError(f"invalid JSON: {exc.msg}", source=str(path), line=line,
                                 column=column) from None
        check_jsonld_contexts(doc, str(path), allow_contexts)
        return io.BytesIO(data)
    if fmt in ("xml", "pretty-xml", "trix"):
        head = stream.read(DTD_WINDOW)
        check_xml_entities(head, str(path))
        return io.BufferedReader(_Prefixed(head, stream))  # type: ignore[arg-type]
    return stream


class _Prefixed(io.RawIOBase):
    """``head`` (already read) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head = memoryview(head)
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _truncated(path: Path, exc: Exception) -> InputReadError:
    return InputReadError(f"{path}: the compressed file is truncated or corrupt ({exc}); "
                          "nothing was loaded: download or compress it again")


def _syntax_error(exc: Exception, path: Path, fmt: str) -> RDFSyntaxError:
    line = column = None
    reason = None
    if hasattr(exc, "getLineNumber"):  # xml.sax.SAXParseException: a 0-based column, and
        # its str() repeats the place as "<unknown>:4:2: mismatched tag"
        line, column, reason = exc.getLineNumber(), exc.getColumnNumber() + 1, exc.getMessage()
    elif hasattr(exc, "lineno") and isinstance(exc.lineno, int):  # json / SyntaxError
        line, column = exc.lineno, getattr(exc, "colno", None)
    elif hasattr(exc, "lines") and isinstance(exc.lines, int):  # notation3.BadSyntax
        line = exc.lines + 1
    else:
        m = _LINE_IN_MESSAGE.search(str(exc))
        if m:
            line = int(m.group(1))
    if reason is None:
        reason = getattr(exc, "_why", None) or str(exc).strip().splitlines()[0] if str(exc) else \
            type(exc).__name__
    return RDFSyntaxError(f"invalid {fmt}: {reason}", source=str(path), line=line, column=column)
