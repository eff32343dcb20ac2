"""Running an extraction pipeline over a corpus: batched, multi-process, resumable.

:class:`ExtractionRunner` feeds documents through ``nlp.pipe`` (``batch_size``, ``n_process``),
converts each processed doc with a :class:`~kg_engine.extraction.to_rdf.DocConverter` and
yields one :class:`DocResult` (a :class:`~kg_engine.core.TripleBatch` plus the document's id
and content hash) per document, with a tqdm progress bar.

Idempotence: give the runner the hashes already processed (``known``: id → content hash, e.g.
from the store's extraction table, or a checkpoint file). Unchanged documents are skipped;
changed ones are yielded with ``replaces=True`` so the writer removes the document's old
triples first (``store.remove_source(doc_id)`` + ``store.add_batch(batch)`` in one
transaction — the API layer does that; this module never imports the store).

Resumability: with ``checkpoint=PATH`` every document is appended to a JSON Lines file
(``{"id", "hash"}``) once its result has been consumed (the caller asked for the next one), so
after an interruption a new run with the same checkpoint skips what was already written.

Example:
    >>> import spacy
    >>> from kg_engine.extraction.corpus import Document
    >>> nlp = spacy.blank("en")
    >>> runner = ExtractionRunner(nlp, progress=False)
    >>> [r.doc_id for r in runner.run([Document("d1", "Hello."), Document("d2", "Bye.")])]
    ['d1', 'd2']
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kg_engine.core import TripleBatch
from kg_engine.errors import InputSyntaxError
from kg_engine.extraction.corpus import Document, split_long
from kg_engine.extraction.to_rdf import DocConverter

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

__all__ = ["DocResult", "ExtractionRunner", "RunStats", "read_checkpoint"]


@dataclass
class DocResult:
    """The triples extracted from one document.

    Attributes:
        doc_id: the document id (provenance ``source`` of every triple in ``batch``).
        hash: the document's content hash.
        batch: the triples, each with provenance.
        replaces: the document was seen before with other content: its old triples must go.
        words: whitespace-separated words in the document (for throughput figures).
        entities: number of entity mentions found.
    """

    doc_id: str
    hash: str
    batch: TripleBatch
    replaces: bool = False
    words: int = 0
    entities: int = 0


@dataclass
class RunStats:
    """Counters of one run."""

    processed: int = 0
    skipped: int = 0
    replaced: int = 0
    triples: int = 0
    words: int = 0
    entities: int = 0


def read_checkpoint(path: str | Path) -> dict[str, str]:
    """id → content hash recorded in a checkpoint file (empty if the file does not exist).

    Raises:
        InputSyntaxError: a line is not a ``{"id", "hash"}`` JSON object (a torn last line,
            left by a crash mid-write, is ignored).
    """
    path = Path(path)
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            out[str(rec["id"])] = str(rec["hash"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            if lineno == len(lines):  # interrupted while writing the last record
                break
            raise InputSyntaxError(
                f"not a checkpoint record ({exc}); delete the file to start afresh",
                source=str(path), line=lineno,
            ) from exc
    return out


class ExtractionRunner:
    """Runs ``nlp`` over documents and yields triple batches.

    Args:
        nlp: the spaCy pipeline (NER, optionally ``kg_relation_extractor``).
        converter: doc → triples (default :meth:`DocConverter.for_pipeline`).
        batch_size: documents per ``nlp.pipe`` batch.
        n_process: worker processes for ``nlp.pipe``.
        checkpoint: JSON Lines file recording processed documents (resume support).
        progress: show a tqdm progress bar (``None``: only on a terminal).
        resume: skip the documents the checkpoint names (``False``: the checkpoint is only
            written, and ``known`` alone says what is done — for a writer whose store
            records each document with its triples, and may remove it later).
    """

    def __init__(
        self,
        nlp: Language,
        converter: DocConverter | None = None,
        *,
        batch_size: int = 64,
        n_process: int = 1,
        checkpoint: str | Path | None = None,
        progress: bool | None = None,
        resume: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        if n_process < 1 and n_process != -1:
            raise ValueError(f"n_process must be ≥ 1 (or -1 for all cores), got {n_process}")
        self.nlp = nlp
        self.converter = converter or DocConverter.for_pipeline(nlp)
        self.batch_size = batch_size
        self.n_process = n_process
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.progress = progress
        self.resume = resume
        self.stats = RunStats()

    def _already_done(self, known: Mapping[str, str] | None) -> dict[str, str]:
        """id -> content hash of what is done: ``known``, and the checkpoint's (``resume``)."""
        done = read_checkpoint(self.checkpoint) if self.checkpoint and self.resume else {}
        done.update(known or {})
        return done

    def _open_checkpoint(self) -> IO[str] | None:
        """The checkpoint file opened for appending (``None`` without one)."""
        if not self.checkpoint:
            return None
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        return self.checkpoint.open("a", encoding="utf-8")

    @staticmethod
    def _done(ckpt: IO[str] | None, result: DocResult) -> None:
        """Record a handled document in the checkpoint (durably: a crash right after keeps it)."""
        if ckpt is not None:
            ckpt.write(json.dumps({"id": result.doc_id, "hash": result.hash}) + "\n")
            ckpt.flush()
            os.fsync(ckpt.fileno())

    def _count(self, result: DocResult) -> None:
        self.stats.processed += 1
        self.stats.replaced += int(result.replaces)
        self.stats.triples += len(result.batch)
        self.stats.words += result.words
        self.stats.entities += result.entities

    def _todo(
        self, documents: Iterable[Document], known: Mapping[str, str],
        on_skip: Callable[[], Any] | None = None,
    ) -> Iterator[tuple[Document, bool]]:
        seen: set[str] = set()
        for doc in documents:
            if doc.id in seen:
                raise InputSyntaxError(
                    f"document id {doc.id!r} occurs twice in the corpus; ids must be unique "
                    "(choose another id field, or give each file its own name)",
                    source=doc.id,
                )
            seen.add(doc.id)
            old = known.get(doc.id)
            if old == doc.hash:
                self.stats.skipped += 1
                if on_skip is not None:  # handled: the bar counts every document of the corpus
                    on_skip()
                continue
            yield doc, old is not None

    def run(
        self,
        documents: Iterable[Document],
        *,
        known: Mapping[str, str] | None = None,
        total: int | None = None,
    ) -> Iterator[DocResult]:
        """Process ``documents``; yield a :class:`DocResult` per new or changed document.

        Args:
            documents: the corpus (see :func:`~kg_engine.extraction.corpus.iter_documents`).
            known: id → content hash already processed (merged with the checkpoint's, unless
                ``resume=False``).
            total: number of documents, for the progress bar.

        Yields:
            One result per processed document, in corpus order.
        """
        from tqdm.auto import tqdm

        done = self._already_done(known)
        pending: dict[int, tuple[Document, bool]] = {}
        parts: dict[int, list[tuple[int, int]]] = {}
        sentences: dict[int, int] = {}  # sentences of a document's parts so far
        limit = max(2, int(getattr(self.nlp, "max_length", 1_000_000) or 1_000_000))

        def texts() -> Iterator[tuple[str, tuple[int, int]]]:
            for i, (doc, replaces) in enumerate(todo):
                pending[i] = (doc, replaces)
                # a text over spaCy's max_length goes through in parts (cut at paragraphs or
                # sentences), merged back into one result below
                parts[i] = split_long(doc.text, limit)
                for start, end in parts[i]:
                    yield doc.text[start:end], (i, start)

        ckpt = self._open_checkpoint()
        bar = tqdm(total=total, unit="doc", desc="extract",
                   disable=(not self.progress) if self.progress is not None else None)
        todo = self._todo(documents, done, lambda: bar.update(1))
        try:
            merged: TripleBatch | None = None
            entities = 0
            for sdoc, (i, start) in self.nlp.pipe(texts(), as_tuples=True,
                                                  batch_size=self.batch_size,
                                                  n_process=self.n_process):
                doc, replaces = pending[i]
                # sentence indices run on through the parts of a document cut in parts
                first = sentences.pop(i, 0)
                batch = self.converter.convert(sdoc, doc.id, offset=doc.offset + start, first_sentence=first)
                sentences[i] = first + len(self.converter.sentences(sdoc))
                entities += len(sdoc.ents)
                if len(parts[i]) > 1:
                    if merged is None:
                        merged = batch
                    else:
                        for quad, prov in batch:
                            merged.add(quad, prov)
                    if start != parts[i][-1][0]:
                        continue  # more parts of this document follow
                    batch, merged = merged, None
                del pending[i], parts[i], sentences[i]
                result = DocResult(doc.id, doc.hash, batch, replaces,
                                   words=len(doc.text.split()), entities=entities)
                entities = 0
                self._count(result)
                yield result
                # the caller came back for more: the result has been handled
                self._done(ckpt, result)
                bar.update(1)
        finally:
            bar.close()
            if ckpt is not None:
                ckpt.close()
