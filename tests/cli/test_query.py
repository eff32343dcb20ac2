"""``kg query`` / ``kg update``: formats, --explain, -f files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app

EX = "http://example.org/"


@pytest.fixture()
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    r = CliRunner().invoke(app, ["update", "--db", url,
                                 f'INSERT DATA {{ <{EX}a> <{EX}p> "x, y" . <{EX}b> <{EX}p> 2 }}'])
    assert r.exit_code == 0, r.output
    assert "+2 statements" in r.output
    return url


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_formats(db: str) -> None:
    q = f"SELECT ?s ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?s"
    r = run("query", "--db", db, "--format", "csv", q)
    assert r.exit_code == 0
    assert r.output.splitlines() == ["s,o", f'{EX}a,"x, y"', f"{EX}b,2"]
    r = run("query", "--db", db, "--format", "tsv", q)
    assert r.output.splitlines()[0] == "?s\t?o"
    r = run("query", "--db", db, "--format", "json", q)
    data = json.loads(r.output)
    assert data["head"]["vars"] == ["s", "o"] and len(data["results"]["bindings"]) == 2
    r = run("query", "--db", db, "--format", "xml", q)
    assert "<sparql" in r.output
    r = run("query", "--db", db, q)
    assert "2 rows" in r.output
    r = run("query", "--db", db, f"ASK {{ <{EX}b> <{EX}p> 2 }}")
    assert r.output.strip() == "true"


def test_query_from_file_and_explain(db: str, tmp_path: Path) -> None:
    f = tmp_path / "q.rq"
    f.write_text(f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}")
    r = run("query", "--db", db, "-f", str(f), "--format", "csv")
    assert r.exit_code == 0 and r.output.splitlines() == ["o", '"x, y"']
    r = run("query", "--db", db, "--explain", "-f", str(f))
    assert r.exit_code == 0 and "SELECT" in r.output and "kg_quads" in r.output


def test_bad_input_exits_2(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT ?x\nWHERE { ?x ?p }")
    r = run("query", "--db", db, "-f", str(bad))
    assert r.exit_code == 2
    assert f"{bad}:2:" in r.output
    r = run("query", "--db", db, "--format", "yaml", "ASK {}")
    assert r.exit_code == 2 and "table" in r.output
    r = run("query", "--db", db)
    assert r.exit_code == 2
    r = run("update", "--db", db, "CREATE GRAPH <urn:g> ; CREATE GRAPH <urn:g>")
    assert r.exit_code == 2 and "already exists" in r.output
    # nothing of the failed request remains
    r = run("query", "--db", db, "ASK { GRAPH <urn:g> { } }")
    assert r.output.strip() == "false"
    r = run("update", "--db", db, "INSERT DATA { <urn:a> }")
    assert r.exit_code == 2
