"""GNN reasoners from a live store, checked independently (:mod:`kg_engine.testing.gnndiff`):
a few seeds (CPU, 1 thread), PostgreSQL, determinism across processes, the degenerate cases;
and the checks themselves, which must catch a prediction naming the wrong entity. The long
run is ``benchmarks/gnn_store_differential.py``."""

from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from kg_engine.testing import gnndiff as gd


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("seed", [1, 3])
def test_store_training_data_and_predictions_agree(seed, tmp_path):
    r = gd.run_seed(seed, tmp_path, models=("distmult", "nbfnet"))
    assert r.ok, "\n".join(r.findings)
    assert r.checks > 1000


@pytest.mark.postgres
def test_postgres_trains_the_same_checkpoint_and_predicts_the_same(pg_server, tmp_path):
    r = gd.run_seed(2, tmp_path, models=("complex",), postgres_url=pg_server.new_database_url())
    assert r.ok, "\n".join(r.findings)
    assert any("postgres" in c for c in r.cases) or r.backend == "postgres"


def test_same_seed_same_checkpoint_across_processes(tmp_path):
    r = gd.SeedReport(0)
    gd.check_determinism(r, 0, tmp_path, "distmult")
    assert r.ok and r.checks >= 9, r.findings


def test_edge_cases(tmp_path):
    r = gd.SeedReport(0)
    gd.check_edge_cases(r, tmp_path)
    assert r.ok and r.checks >= 12, r.findings


def test_the_checks_catch_a_prediction_about_another_entity(tmp_path):
    """A prediction whose tail is swapped for another entity (what a stale id map would
    write) is reported, and so is a training set missing a triple."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.gnn.predict import predict_batch
    from kg_engine.gnn.training import load_model

    kg = KnowledgeGraph("sqlite://")
    gd.fill(kg.store, gd.generate(1))
    folder = tmp_path / "m"
    gd.train_case(kg, "distmult", folder, 1)
    loaded = load_model(folder)
    batch = predict_batch(loaded, checkpoint=folder, store=kg.store, top_k=2,
                          directions="both", range_filter=False)
    good = gd.SeedReport(1)
    gd.check_predictions(good, "ok", loaded, folder, kg, batch, 2, 1)
    assert good.ok, good.findings
    ents = [loaded.data.entity_term(i) for i in range(loaded.data.num_entities)]
    s, p, o, g = batch.quads[0]
    other = next(e for e in ents if e not in (s, o))
    swapped = dataclasses.replace(batch, quads=[(s, p, other, g), *batch.quads[1:]])
    bad = gd.SeedReport(1)
    gd.check_predictions(bad, "swapped", loaded, folder, kg, swapped, 2, 1)
    assert not bad.ok
    # a checkpoint whose training split lost a triple
    train = torch.load(folder / "train_triples.pt", weights_only=True)
    torch.save(train[1:].clone(), folder / "train_triples.pt")
    short = gd.SeedReport(1)
    gd.check_training_data(short, "data", kg, folder, include_literals=False)
    assert any("training triples differ" in f for f in short.findings)
    assert json.loads((folder / "vocab.json").read_text())["entities"]
