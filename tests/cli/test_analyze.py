"""``kg analyze`` and ``kg path``: output, write-back, exit codes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.store import SQLStore

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "data"
KG = "https://example.org/kg/"


def _db(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["load", str(DATA / "sample" / "university.ttl"), "--db", db])
    assert res.exit_code == 0, res.output
    return db


def test_analyze_writes_and_no_write(tmp_path: Path) -> None:
    db = _db(tmp_path)
    res = runner.invoke(app, ["analyze", "pagerank", "--db", db, "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "urn:kg-engine:analytics:pagerank" in res.output and "Harbortown" in res.output
    res = runner.invoke(app, ["analyze", "components", "--no-write", "--db", db])
    assert res.exit_code == 0 and "not written" in res.output
    res = runner.invoke(app, ["analyze", "centrality", "--measure", "betweenness", "--db", db])
    assert res.exit_code == 0, res.output
    with SQLStore(db) as store:
        names = {str(g) for g in store.graphs()}
    assert names == {"urn:kg-engine:analytics:pagerank", "urn:kg-engine:analytics:betweenness"}


def test_analyze_bad_input_exits_2(tmp_path: Path) -> None:
    db = _db(tmp_path)
    res = runner.invoke(app, ["analyze", "pagerankk", "--db", db])
    assert res.exit_code == 2 and "choose one of" in res.output
    res = runner.invoke(app, ["analyze", "pagerank", "--graph", "urn:none", "--db", db])
    assert res.exit_code == 2 and "not in the store" in res.output


def test_path_prints_statements(tmp_path: Path) -> None:
    db = _db(tmp_path)
    res = runner.invoke(app, ["path", f"<{KG}ada>", f"{KG}Harbortown", "--db", db])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.endswith(" .")]
    assert len(lines) == 3 and lines[0].startswith(f"<{KG}ada>")
    assert "# 3 statement(s)" in res.output
    res = runner.invoke(app, ["path", f"{KG}ada", f"{KG}nobody", "--db", db])
    assert res.exit_code == 2


def test_path_and_analyze_use_the_store_prefixes(tmp_path: Path) -> None:
    # ex: is the prefix of the file loaded, which kg query accepts and shows; kg path took
    # "ex:ada" for the IRI <ex:ada> ("not in the store") and kg analyze printed full IRIs
    db = _db(tmp_path)
    res = runner.invoke(app, ["path", "ex:ada", "ex:Harbortown", "--db", db])
    assert res.exit_code == 0, res.output
    assert "# 3 statement(s)" in res.output and res.output.startswith(f"<{KG}ada>")
    res = runner.invoke(app, ["analyze", "degree", "--no-write", "--top", "3", "--db", db])
    assert res.exit_code == 0, res.output
    assert "ex:" in res.output and f"<{KG}" not in res.output


def test_path_refuses_what_is_not_an_iri(tmp_path: Path) -> None:
    # '<not an iri' was an internal error (exit 1: rdflib cannot write it as N-Triples)
    db = _db(tmp_path)
    res = runner.invoke(app, ["path", "ex:ada", "<not an iri", "--db", db])
    assert res.exit_code == 2 and "is not an IRI" in res.output, res.output
