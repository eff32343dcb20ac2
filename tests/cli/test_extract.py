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
