"""Writing extraction results into a store, idempotently.

The extraction package never imports the store: :func:`extract_into` takes any object with
the store's interface (``engine``, ``db``, ``add_batch``, ``remove_source``, ``triples``) —
in practice the :class:`~kg_engine.store.SQLStore` that ``KnowledgeGraph.extract`` passes.

Each processed document is recorded in the table ``kg_extraction_documents`` (document id,
content hash, pipeline, triple count, time) in the same transaction as its triples, so

* re-running over an unchanged document changes nothing (its hash matches: skipped);
* a changed document's triples are replaced (``remove_source(doc_id)`` then ``add_batch``);
* an interrupted run resumes where it stopped (every committed document is recorded).

Each document is written in ONE transaction of the store's own connection: its old triples
removed, the new ones added, its record written; a failure inside it leaves the store as
after the previous document. The bookkeeping table is created inside the first document's
transaction (not with SQLAlchemy's ``create_all``, which commits on its own and would also
commit a transaction the caller has open): a run that fails before its first document is
written leaves the store exactly as it was, and ``extract_into`` inside a caller's
``with store.db.transaction():`` is part of that transaction, rolled back with it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from rdflib import Literal, URIRef

from kg_engine.core import TripleBatch
from kg_engine.core.terms import LABEL_PREDICATES
from kg_engine.errors import ConfigError
from kg_engine.extraction.corpus import CorpusReport, Document, SkippedFile

__all__ = [
    "DOCUMENTS",
    "METADATA",
    "ExtractResult",
    "as_documents",
    "extract_into",
    "graph_labels",
    "known_hashes",
]

METADATA = sa.MetaData()
#: One row per extracted document: what was extracted from which content, by which pipeline.
DOCUMENTS = sa.Table(
    "kg_extraction_documents",
    METADATA,
    sa.Column("doc_id", sa.String(1024), primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("pipeline", sa.String(1024), nullable=False),
    sa.Column("triples", sa.Integer, nullable=False),
    sa.Column("extracted_at", sa.Float, nullable=False),
)


class _Store(Protocol):  # the parts of SQLStore used here
    engine: Any
    db: Any

    def has_table(self, name: str) -> bool: ...

    def add_batch(self, batch: TripleBatch) -> int: ...

    def remove_source(self, source: str) -> int: ...

    def triples(self, pattern: tuple, graph: Any = None) -> Iterable[tuple]: ...


@dataclass
class ExtractResult:
    """What one ``extract`` call did.

    Attributes:
        documents: documents processed (new or changed).
        skipped: documents skipped because their content was unchanged.
        replaced: changed documents whose old triples were removed first.
        triples: triples extracted (before de-duplication by the store).
        added: statements that were new in the store.
        removed: statements removed with the old versions of changed documents.
        entities: entity mentions found.
        words: words in the processed documents.
        seconds: wall-clock time.
        deleted: documents removed because their file no longer holds them (a file now
            empty, a paragraph or record gone) or, with ``prune``, their file is gone.
        missing: documents of files gone from a folder read, kept (``prune`` removes them).
        skipped_files: the files of the folders read that were left out, and why.
    """

    documents: int = 0
    skipped: int = 0
    replaced: int = 0
    triples: int = 0
    added: int = 0
    removed: int = 0
    entities: int = 0
    words: int = 0
    seconds: float = 0.0
    deleted: int = 0
    missing: int = 0
    skipped_files: list[SkippedFile] = field(default_factory=list)


def _ensure_table(store: _Store) -> None:
    """Create ``kg_extraction_documents`` if it is missing, in the store's transaction.

    The DDL runs through ``store.db`` inside ``db.transaction()`` (joining one in progress),
    so it commits or rolls back with the document written in it.
    """
    if store.has_table(DOCUMENTS.name):
        return
    from sqlalchemy.schema import CreateTable

    with store.db.transaction():
        store.db.execute(str(CreateTable(DOCUMENTS).compile(dialect=store.engine.dialect)))


def known_hashes(store: _Store) -> dict[str, str]:
    """doc id → content hash of every document already extracted into ``store``.

    Reads only: a store with no extraction yet gives ``{}`` (nothing is created).
    """
    if not store.has_table(DOCUMENTS.name):
        return {}
    return {r[0]: r[1] for r in store.db.fetchall(
        "SELECT doc_id, hash FROM kg_extraction_documents")}


def graph_labels(store: _Store) -> dict[str, str]:
    """Label values → IRI, for entity linking: ``rdfs:label``, ``skos:prefLabel``/``altLabel``,
    ``schema:name``, ``foaf:name`` and Dublin Core titles (:data:`~kg_engine.core.terms.
    LABEL_PREDICATES`, the labels the explorer and the analytics views show).

    A label shared by several IRIs is left out (ambiguous).
    """
    out: dict[str, str] = {}
    ambiguous: set[str] = set()
    for pred in LABEL_PREDICATES:
        for s, _, o, *_ in store.triples((None, pred, None)):
            if not isinstance(s, URIRef) or not isinstance(o, Literal):
                continue
            label = str(o)
            if label in out and out[label] != str(s):
                ambiguous.add(label)
            out.setdefault(label, str(s))
    return {k: v for k, v in out.items() if k not in ambiguous}


def extract_into(
    store: _Store,
    documents: Iterable[Document],
    pipeline: Any,
    *,
    n_process: int = 1,
    batch_size: int | None = None,
    checkpoint: str | None = None,
    progress: bool | None = None,
    total: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    report: CorpusReport | None = None,
    prune: bool = False,
) -> ExtractResult:
    """Run ``pipeline`` over ``documents`` and write the triples into ``store``.

    Args:
        store: the store (see module docstring).
        documents: the corpus.
        pipeline: an :class:`~kg_engine.extraction.pipeline.ExtractionPipeline`.
        n_process: ``nlp.pipe`` worker processes; with ``executor="ray"`` the number of Ray
            workers (1, the default: one per CPU of the cluster).
        batch_size: ``nlp.pipe`` batch size (default: the pipeline's).
        checkpoint: optional JSON Lines checkpoint file (written by the runner; what is
            skipped is what the store records: a document removed since is extracted again).
        progress: progress bar (``None``: on a terminal).
        total: number of documents, for the progress bar.
        executor: ``"local"`` (this process, ``n_process`` spaCy processes) or ``"ray"``
            (:mod:`~kg_engine.extraction.distributed`; this process stays the only writer).
        ray_address: the Ray cluster for ``executor="ray"``: ``None`` starts Ray on this
            machine, ``"auto"`` joins the running cluster, ``"HOST:PORT"`` a given one.
        report: the :class:`~kg_engine.extraction.corpus.CorpusReport` that reading
            ``documents`` fills in: with it, documents extracted earlier from a file read
            now that no longer holds them are removed (a file emptied, a paragraph or a
            ``path:line`` record gone), and those of files gone from a folder read are
            counted (``missing``) or, with ``prune``, removed.
        prune: remove the documents of files gone from the folders read (needs ``report``).

    Returns:
        An :class:`ExtractResult`.

    Raises:
        ConfigError: an unknown ``executor``; ``ray_address`` without ``executor="ray"``;
            no Ray cluster reachable.
        MissingDependencyError: ``executor="ray"`` without ray installed.
    """
    from kg_engine.extraction.runner import ExtractionRunner

    started = time.perf_counter()
    size = batch_size or pipeline.batch_size
    if executor == "ray":
        from kg_engine.extraction.distributed import RayExtractionRunner

        runner: ExtractionRunner = RayExtractionRunner(
            pipeline.nlp, pipeline.converter, address=ray_address,
            workers=n_process if n_process > 1 else None, batch_size=size,
            checkpoint=checkpoint, progress=progress, resume=False)
    elif executor == "local":
        if ray_address is not None:
            raise ConfigError("a Ray address needs the Ray executor (--executor ray)")
        runner = ExtractionRunner(pipeline.nlp, pipeline.converter, batch_size=size,
                                  n_process=n_process, checkpoint=checkpoint,
                                  progress=progress, resume=False)
    else:
        raise ConfigError(f"unknown executor {executor!r}: use 'local' or 'ray'")
    known = known_hashes(store)
    res = ExtractResult()
    late = 0  # written meanwhile by another process extracting the same documents
    name = str(pipeline.name)
    # closed at once when writing fails, not when garbage-collected: the runner's workers
    # (Ray actors, spaCy processes) and checkpoint file are released before the error is seen
    seen: set[str] = set()

    def tap(docs: Iterable[Document]) -> Iterable[Document]:
        for doc in docs:
            seen.add(doc.id)
            if report is not None and report.legacy and doc.id not in known:
                _rename_former(store, report, doc.id, known)
            yield doc

    with contextlib.closing(runner.run(tap(documents), known=known, total=total)) as results:
        for item in results:
            with store.db.transaction():
                _ensure_table(store)
                # `known` was read before extracting: look again under the write lock, so two
                # concurrent runs over one corpus never write a document's evidence twice
                current = store.db.scalar(
                    "SELECT hash FROM kg_extraction_documents WHERE doc_id = ?", (item.doc_id,))
                if current == item.hash:
                    late += 1
                    continue
                if item.replaces or current is not None:
                    res.removed += store.remove_source(item.doc_id)
                    res.replaced += 1
                res.added += store.add_batch(item.batch)
                store.db.execute("DELETE FROM kg_extraction_documents WHERE doc_id = ?",
                                 (item.doc_id,))
                store.db.execute(
                    "INSERT INTO kg_extraction_documents (doc_id, hash, pipeline, triples, "
                    "extracted_at) VALUES (?, ?, ?, ?, ?)",
                    (item.doc_id, item.hash, name, len(item.batch), time.time()),
                )
            res.documents += 1
            res.triples += len(item.batch)
            res.entities += item.entities
            res.words += item.words
    if report is not None:
        _remove_gone(store, report, seen, prune, res)
        res.skipped_files = list(report.skipped)
    res.skipped = runner.stats.skipped + late
    res.seconds = time.perf_counter() - started
    return res


def _rename_former(store: _Store, report: CorpusReport, doc_id: str, known: dict[str, str]) -> None:
    """Give the document recorded under a former id of ``doc_id`` (the path as given, before
    ids were normalised: :meth:`CorpusReport.former_ids`) its id now, with its provenance,
    in one transaction: the run then finds it unchanged (or replaces it) instead of
    extracting the file a second time under the new id."""
    for old in report.former_ids(doc_id):
        if old not in known:
            continue
        with store.db.transaction():
            if store.db.scalar("SELECT 1 FROM kg_extraction_documents WHERE doc_id = ?", (doc_id,)):
                return  # written meanwhile under its id now
            store.db.execute("UPDATE kg_extraction_documents SET doc_id = ? WHERE doc_id = ?", (doc_id, old))
            store.db.execute("UPDATE kg_provenance SET source = ? WHERE source = ?", (doc_id, old))
        known[doc_id] = known.pop(old)
        return


def _owner(doc_id: str, files: Mapping[str, str]) -> str | None:
    """The file of ``files`` (id -> format) a document id was made from: the file's id
    itself, or a text file's id followed by ``#p<N>`` (a paragraph), or a JSONL/CSV file's
    followed by ``:<line>`` (a record without an id)."""
    if doc_id in files:
        return doc_id
    for sep, formats in (("#p", ("text",)), (":", ("jsonl", "csv"))):
        base, found, n = doc_id.rpartition(sep)
        if found and n.isdigit() and files.get(base) in formats:
            return base
    return None


def _remove_gone(store: _Store, report: CorpusReport, seen: set[str], prune: bool,
                 res: ExtractResult) -> None:
    """Remove the documents no longer in the files read (and, with ``prune``, those of files
    gone from the folders read), each in one transaction with its record."""
    import os

    read = report.files
    # files (and folders) there but not read this time keep their documents; an empty file
    # was read (it holds none now), a second path to a file is read under the first
    unread = {s.path: "text" for s in report.skipped if s.kind not in ("empty", "duplicate")}
    unread.update({p: "jsonl" for p in unread if p.lower().endswith((".jsonl", ".ndjson"))})
    unread.update({p: "csv" for p in unread if p.lower().endswith((".csv", ".tsv"))})
    unread_folders = tuple(f + os.sep for f in unread)
    # a folder's documents under the path it was given as before ids were normalised (a
    # deleted file's, never read again to be renamed) are its documents too
    given = [old for new, old in report.legacy if new in report.folders]
    folders = tuple(f.rstrip(os.sep) + os.sep for f in (*report.folders, *given))
    for doc_id in sorted(known_hashes(store)):
        if doc_id in seen or _owner(doc_id, unread) is not None or \
                doc_id.startswith(unread_folders):
            continue  # still there, or its file was not read this time: left as it is
        if _owner(doc_id, read) is None:
            if not doc_id.startswith(folders):
                continue  # from another file or folder than those read now
            if not prune:
                res.missing += 1
                continue
        with store.db.transaction():
            res.removed += store.remove_source(doc_id)
            store.db.execute("DELETE FROM kg_extraction_documents WHERE doc_id = ?", (doc_id,))
        res.deleted += 1


def as_documents(
    items: Iterable[Any] | str | Any,
    *,
    text_field: str = "text",
    id_field: str = "id",
    split: str = "none",
    report: CorpusReport | None = None,
) -> list[Document] | Iterable[Document]:
    """Documents from texts, paths and :class:`Document` objects (mixed).

    A string naming an existing file or folder is read as a corpus path; any other string is
    a text whose id is ``text:`` + a hash prefix. ``report`` collects what reading the paths
    read and left out (:func:`~kg_engine.extraction.corpus.iter_documents`).
    """
    import itertools
    from pathlib import Path

    from kg_engine.extraction.corpus import iter_documents

    if isinstance(items, (str, Path, Document)):
        items = [items]

    def is_path(it: Any) -> bool:
        return isinstance(it, Path) or (isinstance(it, str) and len(it) < 4096
                                        and "\n" not in it and _exists(it))

    def gen() -> Iterable[Document]:
        paths: list[Any] = []  # consecutive paths are read together: each file once
        for it in itertools.chain(items, [None]):
            if paths and not is_path(it):
                yield from iter_documents(paths, text_field=text_field, id_field=id_field,
                                          split=split, report=report)  # type: ignore[arg-type]
                paths = []
            if it is None:
                break
            if isinstance(it, Document):
                yield it
            elif is_path(it):
                paths.append(it)
            elif isinstance(it, str):
                yield Document.from_text(it)
            elif isinstance(it, Mapping) and text_field in it:
                text = it[text_field]
                yield Document(str(it.get(id_field) or Document.from_text(text).id), text)
            else:
                raise TypeError(f"cannot extract from {type(it).__name__}: give texts, paths "
                                "or Document objects")

    return gen()


def _exists(s: str) -> bool:
    from pathlib import Path

    try:
        return Path(s).exists()
    except OSError:
        return False
