"""Tests of ``kg extract``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kg_engine.api import KnowledgeGraph
from kg_engine.cli.app import app

runner = CliRunner()


def test_extract_jsonl_then_rerun_and_bad_input(tmp_path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "text": "Marie Curie worked in Paris."},
        {"id": "b", "text": "Alan Turing was born in London."}]) + "\n")
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["extract", str(corpus), "--db", db])
    assert res.exit_code == 0, res.output
    assert "from 2 document(s)" in res.output
    with KnowledgeGraph(db) as kg:
        n = len(kg)
        assert n > 0
    res = runner.invoke(app, ["extract", str(corpus), "--db", db])
    assert res.exit_code == 0 and "skipped 2" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "c", "text": "Ada Lovelace."}\n{oops\n')
    res = runner.invoke(app, ["extract", str(bad), "--db", db])
    assert res.exit_code == 2 and "bad.jsonl:2" in res.output
    with KnowledgeGraph(db) as kg:
        assert len(kg) == n  # nothing written from the bad file
    res = runner.invoke(app, ["extract", str(tmp_path / "missing.txt"), "--db", db])
    assert res.exit_code == 2
    res = runner.invoke(app, ["extract", str(corpus), "--pipeline", "xx_nope", "--db", db])
    assert res.exit_code == 2 and "installed pipelines" in res.output


def test_text_that_is_not_utf8_says_how_to_fix_it_from_the_shell(tmp_path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Inês Prado played in Lisboa.".encode("latin-1"))
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["extract", str(latin), "--db", db])
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert "latin1.txt" in out and "not valid utf-8 text" in out and "iconv" in out
    assert "encoding=" not in out  # kg extract has no such option


def test_a_folder_with_files_that_are_not_text_and_a_name_that_is_not_utf8(tmp_path) -> None:
    """A file name that is not UTF-8 crashed `kg extract` (internal error: surrogates not
    allowed); files not read are listed with the reason, the run goes on (exit code 0)."""
    import os

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text("Marie Curie worked in Paris.")
    (corpus / "img.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (corpus / "latin.txt").write_bytes("Zoë Baird lives in Zürich.".encode("cp1252"))
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["extract", str(corpus), "--db", db])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert f"skipped {corpus / 'img.txt'}: is a PNG image, not text" in out
    assert f"skipped {corpus / 'latin.txt'}: not valid utf-8 text (invalid continuation byte at byte 2)" in out
    assert "from 1 document(s)" in out and "2 file(s) not read" in out
    with KnowledgeGraph(db) as kg:
        from kg_engine.extraction.ingest import known_hashes

        assert list(known_hashes(kg.store)) == [str(corpus / "caf\\xe9.txt")]
