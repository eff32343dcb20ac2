"""Extracted statements' provenance against the original files
(:mod:`kg_engine.testing.provenancediff`): the default pipeline over texts that break
offsets (astral characters, combining accents, CRLF/CR, NBSP, tabs, RTL, empty lines, a
byte order mark, a document processed in parts), whole files and paragraphs, and
``kg extract`` giving the same records."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kg_engine.testing import provenancediff as pd


def test_default_pipeline_provenance_slices_the_original_files(tmp_path):
    problems, counts = pd.run_default(tmp_path)
    assert not problems, "\n".join(problems[:20])
    assert counts["relation records"] > 20 and counts["entity records"] > 100


def test_document_level_relations_record_each_evidence_sentence(tmp_path):
    """The document-level pipeline (from-scratch encoder): relations across sentences, one
    record per evidence sentence, a long document past the encoder's window."""
    pytest.importorskip("torch")
    problems, counts = pd.run_default(tmp_path, pipeline="docre_scratch")
    assert not problems, "\n".join(problems[:20])
    assert counts["evidence sentences"] > counts["relation records"] > 20


def test_the_checker_rejects_offsets_into_a_translated_text(tmp_path):
    """The records of a CRLF file checked against its text with LF line ends (what the
    reader once extracted from) are wrong: the checker must say so."""
    from kg_engine import KnowledgeGraph

    sources = pd.write_corpus(tmp_path, {"crlf.txt": pd.TEXTS["crlf.txt"]})
    with KnowledgeGraph("sqlite://") as kg:
        kg.extract(list(sources), progress=False)
        assert pd.check_store(kg.store, sources)[0] == []
        lf = {k: v.replace("\r\n", "\n") for k, v in sources.items()}
        assert any("sentence" in p for p in pd.check_store(kg.store, lf)[0])


def test_kg_extract_records_the_same_provenance(tmp_path):
    from kg_engine import KnowledgeGraph
    from kg_engine.cli.app import app

    texts = {k: pd.TEXTS[k] for k in ("crlf.txt", "emoji.txt", "mixed.txt", "bom.txt")}
    sources = pd.write_corpus(tmp_path / "in", texts)
    db = f"sqlite:///{tmp_path / 'kg.db'}"
    out = CliRunner().invoke(app, ["extract", *sorted(sources), "--db", db])
    assert out.exit_code == 0, out.output
    with KnowledgeGraph(db) as kg:
        problems, counts = pd.check_store(kg.store, sources)
        cli = sorted(json.dumps(p.as_dict(), sort_keys=True) for q in kg.store.triples((None, None, None))
                     for p in kg.store.provenance_of(q))
    assert not problems, problems
    assert counts["documents"] == len(texts)
    with KnowledgeGraph("sqlite://") as kg:
        kg.extract(sorted(sources), progress=False)
        api = sorted(json.dumps(p.as_dict(), sort_keys=True) for q in kg.store.triples((None, None, None))
                     for p in kg.store.provenance_of(q))
    assert cli == api
