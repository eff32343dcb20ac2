"""``kg explain "<s> <p> <o>"``: derivation trees and sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
runner = CliRunner()
EX = "https://example.org/kg/"


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert runner.invoke(app, ["load", str(SAMPLE / "university.ttl"), "--db", url]).exit_code == 0
    res = runner.invoke(app, ["reason", "--rules", str(SAMPLE / "university.rules"), "--db", url])
    assert res.exit_code == 0, res.output
    return url


def test_inferred_tree(db):
    res = runner.invoke(app, ["explain", f"<{EX}chen> <{EX}colleagueOf> <{EX}ada>", "--db", db])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "[rule colleagues, round 2]" in out
    assert "[rule works-for-parent, round 1]" in out
    assert "university.ttl" in out and out.count("asserted") >= 3


def test_asserted_and_json(db):
    res = runner.invoke(app, ["explain", f"<{EX}chen> a <{EX}Researcher>", "--json", "--db", db])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["trees"][0]["kind"] == "asserted"
    assert data["trees"][0]["sources"][0]["source"].endswith("university.ttl")


def test_all_derivations(db):
    # chen and ada are colleagues through CompSci and through Northfield
    res = runner.invoke(app, ["explain", "--all", f"<{EX}chen> <{EX}colleagueOf> <{EX}ada>", "--db", db])
    assert res.exit_code == 0, res.output
    assert "derivation 2 of 2" in res.output


@pytest.mark.parametrize(
    "statement, fragment",
    [
        (f"<{EX}ada> <{EX}colleagueOf>", "expected one triple"),
        (f"<{EX}ada> <{EX}colleagueOf> <{EX}emil>", "not in the store"),
    ],
)
def test_bad_statement_exit_2(db, statement, fragment):
    res = runner.invoke(app, ["explain", statement, "--db", db])
    assert res.exit_code == 2
    assert fragment in " ".join(res.output.split())


def test_prefixes_of_the_loaded_files(db):
    # university.ttl declares ex:, and kg query prints ex:chen: the same names work here
    res = runner.invoke(app, ["explain", "ex:chen ex:colleagueOf ex:ada", "--db", db])
    assert res.exit_code == 0, res.output
    assert "[rule colleagues, round 2]" in res.output
    res = runner.invoke(app, ["explain", "nope:chen ex:colleagueOf ex:ada", "--db", db])
    assert res.exit_code == 2 and "undefined prefix 'nope:'" in res.output


def test_the_empty_prefix_of_a_loaded_file(tmp_path):
    # '@prefix : <…>' was dropped at load: ':ann :hasAncestor :carl' was an "undefined prefix"
    src = tmp_path / "family.ttl"
    src.write_text("@prefix : <http://family.example/> .\n"
                   "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                   ":hasAncestor a owl:TransitiveProperty .\n"
                   ":ann :hasAncestor :bob . :bob :hasAncestor :carl .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert runner.invoke(app, ["load", str(src), "--db", url]).exit_code == 0
    assert runner.invoke(app, ["reason", "--db", url]).exit_code == 0
    res = runner.invoke(app, ["explain", ":ann :hasAncestor :carl", "--db", url])
    assert res.exit_code == 0, res.output
    assert "[rule prp-trp, round 1]" in res.output
    # the tree names IRIs as the statement was written (was <http://family.example/ann> …)
    assert res.output.startswith(":ann :hasAncestor :carl  [rule prp-trp"), res.output
    assert ":hasAncestor rdf:type owl:TransitiveProperty" in res.output, res.output
    assert "<http://family.example/" not in res.output, res.output
    res = runner.invoke(app, ["query", "SELECT ?x WHERE { :ann :hasAncestor ?x }", "--db", url])
    assert ":carl" in res.output and "<http://family.example/carl>" not in res.output, res.output


def test_a_fact_written_by_kg_update(tmp_path):
    """Two loads into the default graph, then ``kg update``: the inserted fact was explained
    as "loaded from one of" the two files."""
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    (tmp_path / "b.nt").write_text(f"<{EX}x> <{EX}p> <{EX}y> .\n")
    for f in (SAMPLE / "university.ttl", tmp_path / "b.nt"):
        assert runner.invoke(app, ["load", str(f), "--db", url]).exit_code == 0
    res = runner.invoke(app, ["update", f"INSERT DATA {{ <{EX}new> <{EX}p> <{EX}y> }}",
                              "--db", url])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["explain", f"<{EX}new> <{EX}p> <{EX}y>", "--db", url])
    assert res.exit_code == 0, res.output
    assert "written by SPARQL update at " in res.output, res.output
    assert f"'INSERT DATA {{ <{EX}new> <{EX}p> <{EX}y> }}'" in res.output, res.output
    assert "loaded from" not in res.output and "b.nt" not in res.output, res.output
    res = runner.invoke(app, ["explain", f"<{EX}x> <{EX}p> <{EX}y>", "--db", url])
    assert f"loaded from one of {SAMPLE / 'university.ttl'} or {tmp_path / 'b.nt'}" in res.output


def test_a_statement_of_a_named_graph_of_a_trig_file(tmp_path):
    """``kg explain`` of a statement in a named graph of a loaded TriG file names the file
    (before: "no recorded source": the load was recorded for the default graph only)."""
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    trig = tmp_path / "d.trig"
    trig.write_text(f"<{EX}a> <{EX}p> <{EX}b> .\n<{EX}g> {{ <{EX}c> <{EX}p> <{EX}d> . }}\n")
    assert runner.invoke(app, ["load", str(trig), "--db", url]).exit_code == 0
    res = runner.invoke(app, ["explain", f"<{EX}c> <{EX}p> <{EX}d>", "--db", url])
    assert res.exit_code == 0, res.output
    assert f"asserted in <{EX}g>: loaded from {trig}" in " ".join(res.output.split())


def test_the_shell_example_of_docs_rules_md_runs(tmp_path, monkeypatch):
    """docs/rules.md's first shell block, run as written from the project root (a new user
    found its last line, ``kg explain --all "<…chen> rdf:type <…Person>"``, exits 2: the
    university rules do not include RDFS, so nothing derives that statement)."""
    import shlex

    root = SAMPLE.parents[1]
    text = (root / "docs" / "rules.md").read_text(encoding="utf-8")
    block = next(b for b in text.split("```")[1::2] if b.lstrip().startswith("kg load"))
    monkeypatch.chdir(root)
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    lines = [line for line in block.strip().splitlines() if line.startswith("kg ")]
    assert len(lines) == 4, block
    for line in lines:
        res = runner.invoke(app, [*shlex.split(line)[1:], "--db", db])
        assert res.exit_code == 0, f"{line}\n{res.output}"


def test_a_statement_about_a_blank_node_is_named_by_the_label_kg_query_prints(tmp_path):
    """`kg explain` refused every blank node ("cannot name a node of the store"), so an
    inferred statement about one (an OWL 2 RL class of a `[ … ]` individual) could not be
    explained at all, although `kg query` and `kg explain --json` print the node's store label
    and the API explains it by that label; the explorer's /api/explain the same."""
    src = tmp_path / "b.ttl"
    src.write_text(f"@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                   "ex:A rdfs:subClassOf ex:B .\n_:x a ex:A .\n[] a ex:A .\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert runner.invoke(app, ["load", str(src), "--db", url]).exit_code == 0
    assert runner.invoke(app, ["reason", "rdfs", "--db", url]).exit_code == 0
    res = runner.invoke(app, ["query", "--format", "csv", "--db", url,
                              f"SELECT ?b WHERE {{ ?b a <{EX}B> }} ORDER BY ?b"])
    labels = res.output.split()[1:]
    assert len(labels) == 2 and all(b.startswith("_:") for b in labels), res.output
    for label in labels:
        res = runner.invoke(app, ["explain", f"{label} a ex:B", "--db", url])
        assert res.exit_code == 0, res.output
        assert f"{label} rdf:type ex:B  [rule rdfs9" in res.output
        assert f"{label} rdf:type ex:A  [asserted" in res.output
    # the file's own label names no node of the store (each load's blank nodes are its own)
    res = runner.invoke(app, ["explain", "_:x a ex:B", "--db", url])
    assert res.exit_code == 2 and "not in the store" in res.output
    assert "kg query" in " ".join(res.output.split())
    res = runner.invoke(app, ["explain", "[] a ex:B", "--db", url])
    assert res.exit_code == 2 and "names no node" in " ".join(res.output.split())
