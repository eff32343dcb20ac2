"""Tests of kg_engine.extraction.runner: batching, skipping unchanged docs, resuming."""

from __future__ import annotations

import pytest
import spacy

from kg_engine.errors import InputSyntaxError
from kg_engine.extraction.corpus import Document
from kg_engine.extraction.runner import ExtractionRunner, read_checkpoint


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "Person", "pattern": "Ada"},
                        {"label": "Location", "pattern": "London"}])
    return nlp


DOCS = [Document("d1", "Ada lives in London."), Document("d2", "Nobody here."),
        Document("d3", "Ada again.")]


def test_yields_one_batch_per_document_with_provenance(nlp) -> None:
    runner = ExtractionRunner(nlp, batch_size=2, progress=False)
    out = list(runner.run(DOCS))
    assert [r.doc_id for r in out] == ["d1", "d2", "d3"]
    assert [len(r.batch) for r in out] == [4, 0, 2]
    assert all(p is not None and p.source == r.doc_id for r in out for _, p in r.batch)
    assert runner.stats.processed == 3 and runner.stats.triples == 6


def test_known_hashes_skip_unchanged_and_flag_changed(nlp) -> None:
    known = {"d1": DOCS[0].hash, "d2": "old-hash"}
    runner = ExtractionRunner(nlp, progress=False)
    out = list(runner.run(DOCS, known=known))
    assert [(r.doc_id, r.replaces) for r in out] == [("d2", True), ("d3", False)]
    assert runner.stats.skipped == 1


def test_checkpoint_resume_after_interruption(nlp, tmp_path) -> None:
    ckpt = tmp_path / "ckpt.jsonl"
    gen = ExtractionRunner(nlp, progress=False, checkpoint=ckpt).run(DOCS)
    first = next(gen)
    next(gen)  # asking for the second result commits the first
    gen.close()  # interrupted while the second was being handled
    assert read_checkpoint(ckpt) == {first.doc_id: first.hash}
    again = list(ExtractionRunner(nlp, progress=False, checkpoint=ckpt).run(DOCS))
    assert [r.doc_id for r in again] == ["d2", "d3"]
    assert set(read_checkpoint(ckpt)) == {"d1", "d2", "d3"}
    assert list(ExtractionRunner(nlp, progress=False, checkpoint=ckpt).run(DOCS)) == []


def test_torn_checkpoint_line_is_ignored_but_corruption_is_reported(tmp_path) -> None:
    ckpt = tmp_path / "c.jsonl"
    ckpt.write_text('{"id": "a", "hash": "h"}\n{"id": "b", "ha')
    assert read_checkpoint(ckpt) == {"a": "h"}
    ckpt.write_text('garbage\n{"id": "a", "hash": "h"}\n')
    with pytest.raises(InputSyntaxError, match="checkpoint"):
        read_checkpoint(ckpt)


def test_duplicate_ids_rejected(nlp) -> None:
    with pytest.raises(InputSyntaxError, match="twice"):
        list(ExtractionRunner(nlp, progress=False).run([DOCS[0], DOCS[0]]))


def test_offsets_of_split_documents(nlp) -> None:
    (res,) = ExtractionRunner(nlp, progress=False).run([Document("f#p1", "Ada.", offset=50)])
    assert {(p.start, p.end) for _, p in res.batch} == {(50, 53)}


def test_bad_arguments(nlp) -> None:
    with pytest.raises(ValueError):
        ExtractionRunner(nlp, batch_size=0)
    with pytest.raises(ValueError):
        ExtractionRunner(nlp, n_process=0)


def test_two_processes_give_the_same_triples(nlp) -> None:
    one = [(r.doc_id, sorted(map(str, r.batch.quads))) for r in
           ExtractionRunner(nlp, progress=False).run(DOCS)]
    two = [(r.doc_id, sorted(map(str, r.batch.quads))) for r in
           ExtractionRunner(nlp, n_process=2, batch_size=1, progress=False).run(DOCS)]
    assert one == two


def test_texts_over_max_length_go_through_in_parts(nlp) -> None:
    long = Document("long", "Ada lives in London. " * 40)  # 840 characters
    whole = list(ExtractionRunner(nlp, progress=False).run([long, DOCS[2]]))
    old = nlp.max_length
    nlp.max_length = 100  # spaCy would refuse the long text; the runner splits it
    try:
        parts = list(ExtractionRunner(nlp, batch_size=3, progress=False).run([long, DOCS[2]]))
    finally:
        nlp.max_length = old
    assert [r.doc_id for r in parts] == ["long", "d3"]
    assert len(parts[0].batch) == len(whole[0].batch) and parts[0].entities == 80
    spans = sorted((p.start, p.end) for _, p in parts[0].batch)
    assert spans == sorted((p.start, p.end) for _, p in whole[0].batch)  # offsets in the text
    assert [len(r.batch) for r in parts[1:]] == [2]
    # sentence indices are the document's, not restarted in each part (every part's first
    # sentence was once recorded as sentence 0)
    sentences = sorted({(p.sentence, p.start // 21) for _, p in parts[0].batch})
    assert sentences == sorted({(p.sentence, p.start // 21) for _, p in whole[0].batch})
    assert sorted({p.sentence for _, p in parts[0].batch}) == list(range(40))


def test_the_progress_bar_counts_unchanged_documents(nlp, capsys) -> None:
    """Unchanged documents were never counted: a re-run's bar ended at 0/3."""
    runner = ExtractionRunner(nlp, progress=True)
    known = {d.id: d.hash for d in DOCS}
    assert list(runner.run(DOCS, known=known, total=len(DOCS))) == []
    assert f"{len(DOCS)}/{len(DOCS)}" in capsys.readouterr().err
