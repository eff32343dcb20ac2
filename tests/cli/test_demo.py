"""``kg demo`` runs the main job end to end on the shipped sample data (no ../shared needed)."""

import re
from pathlib import Path

from rdflib import URIRef
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.store import SQLStore


def _scratch(tmp_path: Path, monkeypatch) -> Path:
    """A private temporary folder for everything the demo creates with :mod:`tempfile`."""
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def test_demo_runs_end_to_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KG_SHARED_DATA", str(tmp_path / "absent"))
    scratch = _scratch(tmp_path, monkeypatch)
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    res = CliRunner().invoke(app, ["demo", "--db", db])
    assert res.exit_code == 0, res.output
    out = res.output
    for step in ("1. load", "2. ask SPARQL", "3. reason", "4. train a path GNN", "5. extract"):
        assert step in out
    assert "Students per advisor" in out and "Ada Whitcombe" in out
    assert "rule prp-spo1" in out  # the explained inferred triple names its rule
    assert "demo finished" in out and "kg serve --db" in out
    assert "None" not in out  # e.g. "(confidence None)" of an extracted label
    with SQLStore(db) as store:
        graphs = {str(g) for g in store.graphs()}
        assert "urn:kg-engine:predicted:nbfnet" in graphs
        assert any(g.startswith("urn:kg-engine:inferred:") for g in graphs)
        extracted = store.db.scalar("SELECT count(*) FROM kg_provenance WHERE kind = 'extracted'")
        assert extracted > 0
    # every displayed prediction type-checks (its tail has a type seen for the relation)
    assert "type_checks" in out and re.search(r"│\s*yes\s*│", out)
    assert re.search(r"│\s*NO\s*│", out) is None, out
    # and so does every stored one; no class, property or datatype is predicted as an entity
    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph(db) as kg:
        bad = list(kg.query("""
            SELECT ?h ?r ?t WHERE {
              GRAPH <urn:kg-engine:predicted:nbfnet> { ?h ?r ?t }
              FILTER (?r != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>)
              FILTER NOT EXISTS { ?t a ?c . ?y a ?c . ?x ?r ?y }
            }"""))
        assert bad == [], bad
        vocab = list(kg.query("""
            SELECT ?h ?r ?t WHERE {
              GRAPH <urn:kg-engine:predicted:nbfnet> { ?h ?r ?t }
              FILTER (STRSTARTS(STR(?t), "http://www.w3.org/") || STRSTARTS(STR(?h), "http://www.w3.org/")
                      || STRSTARTS(STR(?r), "http://www.w3.org/2000/01/rdf-schema#")
                      || STRSTARTS(STR(?r), "http://www.w3.org/2002/07/owl#"))
            }"""))
        assert vocab == [], vocab
    assert "fidelity" not in out or "path 1:" in out  # no fidelity line without a path
    # the checkpoint the predictions name is kept beside the store, so they stay explainable
    # by their paths after the demo (`kg serve`); nothing is left in the temporary folder
    assert list(scratch.glob("kg-demo-gnn-*")) == []
    assert (tmp_path / "demo.sqlite.gnn").is_dir()
    with KnowledgeGraph(db) as kg:
        advisor = URIRef("https://example.org/kg/advisor")
        predicted = next(iter(kg.triples((None, advisor, None), graph="urn:kg-engine:predicted:nbfnet")))
        assert "checkpoint not loadable" not in str(kg.explain(predicted[:3]))
    # a second demo on the same store starts from a fresh checkpoint folder
    res = CliRunner().invoke(app, ["demo", "--db", db])
    assert res.exit_code == 0, res.output


def test_demo_removes_its_gnn_folder_when_training_fails(tmp_path: Path, monkeypatch) -> None:
    from kg_engine.api import KnowledgeGraph
    from kg_engine.errors import ModelError

    scratch = _scratch(tmp_path, monkeypatch)
    seen: list[Path] = []

    def failing_train(self, config, *, output_dir, **kwargs):
        seen.append(Path(output_dir))
        (Path(output_dir) / "checkpoint.pt").write_bytes(b"half-written")
        raise ModelError("training diverged (simulated)")

    monkeypatch.setattr(KnowledgeGraph, "train_gnn", failing_train)
    res = CliRunner().invoke(app, ["demo", "--db", f"sqlite:///{tmp_path / 'demo.sqlite'}"])
    assert res.exit_code == 2, res.output
    assert "training diverged" in res.output
    assert seen == [tmp_path / "demo.sqlite.gnn"]  # the folder was made, and is gone again
    assert not seen[0].exists() and list(scratch.iterdir()) == []
