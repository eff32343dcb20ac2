"""Extraction over messy folders (:mod:`kg_engine.testing.corpusdiff`): encodings, binary
files named .txt, links, hidden and empty files, names that are not UTF-8, re-runs after
changes, ``prune`` and ``kg extract``'s report, against the documented rules."""

from __future__ import annotations

import pytest

from kg_engine.testing import corpusdiff as cd


@pytest.fixture(scope="module")
def default_pipe():
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    return load_extraction_pipeline("default")


@pytest.mark.parametrize(("seed", "split"), [(1, "none"), (2, "paragraphs")])
def test_default_pipeline_over_a_messy_folder_and_its_changes(tmp_path, default_pipe, seed,
                                                              split):
    problems, counts = cd.run(tmp_path, seed, pipe=default_pipe, split=split)
    assert not problems, "\n".join(problems[:20])
    assert counts["documents"] >= 15 and counts["relation records"] > 10
    assert counts["skipped files"] == 18


def test_docre_scratch_over_a_messy_folder(tmp_path):
    pytest.importorskip("torch")
    problems, counts = cd.run(tmp_path, 5, pipeline="docre_scratch")
    assert not problems, "\n".join(problems[:20])
    assert counts["evidence sentences"] > 0


def test_kg_extract_reports_every_skipped_file_and_its_counts(tmp_path):
    problems = cd.run_cli(tmp_path, 4)
    assert not problems, "\n".join(problems[:20])


def test_the_checks_see_a_document_missing_and_a_skip_not_reported(tmp_path):
    """An empty store against a corpus: every document unextracted, every skip unreported."""
    from kg_engine.store import open_store

    corpus = cd.make_corpus(tmp_path, 3)
    store = open_store("sqlite://")
    try:
        problems, _ = cd._store_problems(store, corpus, [], "empty store")
    finally:
        store.close()
    assert sum("was not extracted" in p for p in problems) == len(corpus.texts)
    assert sum("not reported" in p for p in problems) == len(corpus.skipped)
