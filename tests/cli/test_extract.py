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
