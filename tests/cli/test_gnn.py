"""``kg gnn train|eval|predict``: end to end on a small dataset folder; bad input exits 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from kg_engine.cli.app import app

runner = CliRunner()


@pytest.fixture()
def dataset(tmp_path):
    import random

    rnd = random.Random(0)
    rows = sorted({(f"e{rnd.randrange(20)}", f"r{rnd.randrange(3)}", f"e{rnd.randrange(20)}") for _ in range(160)})
    folder = tmp_path / "ds"
    folder.mkdir()
    for name, part in (("train", rows[:-20]), ("valid", rows[-20:-10]), ("test", rows[-10:])):
        (folder / f"{name}.txt").write_text("".join("\t".join(r) + "\n" for r in part))
    return folder


def test_train_then_eval(tmp_path, dataset):
    out = tmp_path / "run"
    res = runner.invoke(app, ["gnn", "train", "--model", "distmult", "--dataset", str(dataset), "-o", str(out),
                              "--epochs", "3", "--device", "cpu", "--set", "model.dim=8",
                              "--set", "training.eval_every=1"])
    assert res.exit_code == 0, res.output
    assert "completed" in res.output and "test" in res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and (out / "config.cfg").is_file() and (out / "best.pt").is_file()
    res = runner.invoke(app, ["gnn", "eval", str(out), "--json", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    again = json.loads(res.output)
    assert again["mrr"] == pytest.approx(metrics["test"]["mrr"])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["gnn", "train", "--model", "nosuchmodel"], "unknown GNN model"),
        (["gnn", "train", "--model", "complex", "--set", "lr=0.1"], "section.key=value"),
        (["gnn", "train", "--model", "complex", "--set", "training.optimizer=\"lbfgs\""], "optimizer"),
        (["gnn", "train", "--model", "complex", "--set", "model.bogus=1"], "bogus"),
        (["gnn", "train", "--model", "complex", "--dataset", "/nonexistent/dir"], "not found"),
        (["gnn", "eval", "/nonexistent/run"], "not a kg-engine GNN checkpoint"),
    ],
)
def test_bad_input_exits_2(args, needle):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert needle in res.output.replace("\n", " ") or needle in str(res.stderr if hasattr(res, "stderr") else "")


def test_eval_rejects_other_data(tmp_path, dataset, kgc_like=None):
    out = tmp_path / "run"
    res = runner.invoke(app, ["gnn", "train", "--model", "distmult", "--dataset", str(dataset), "-o", str(out),
                              "--epochs", "1", "--device", "cpu", "--set", "model.dim=4"])
    assert res.exit_code == 0, res.output
    other = tmp_path / "other"
    other.mkdir()
    for name in ("train", "valid", "test"):
        (other / f"{name}.txt").write_text("x\tp\ty\n")
    res = runner.invoke(app, ["gnn", "eval", str(out), "--dataset", str(other)])
    assert res.exit_code == 2 and "vocabulary" in res.output.replace("\n", " ")


@pytest.mark.parametrize("from_env", [False, True], ids=["--db", "KG_DB"])
def test_train_and_eval_from_a_store(tmp_path, monkeypatch, from_env):
    import random

    from rdflib import URIRef

    from kg_engine.store import open_store

    rnd = random.Random(1)
    ex = "http://example.org/"
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    store = open_store(url)
    store.add([(URIRef(f"{ex}e{rnd.randrange(20)}"), URIRef(f"{ex}p{rnd.randrange(2)}"),
                URIRef(f"{ex}e{rnd.randrange(20)}")) for _ in range(150)])
    store.close()
    out = tmp_path / "run"
    if from_env:  # like every command, --db defaults to $KG_DB (it trained on UMLS instead)
        monkeypatch.setenv("KG_DB", url)
    res = runner.invoke(app, ["gnn", "train", "--model", "distmult", *([] if from_env else ["--db", url]),
                              "-o", str(out), "--epochs", "2",
                              "--device", "cpu", "--set", "model.dim=8", "--set", "training.eval_every=1"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["entities"][0].startswith("<http://example.org/e")
    res = runner.invoke(app, ["gnn", "eval", str(out), "--json", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["mrr"] == pytest.approx(metrics["test"]["mrr"])


def test_eval_after_the_store_changed_uses_the_saved_splits(tmp_path):
    """One triple added to the store after `kg gnn train --db` made `kg gnn eval` split the
    store anew: its test split held triples the model trained on and test MRR went from .18
    to .70. Now eval uses the splits saved with the checkpoint, and `--db` of the changed
    store is refused (exit 2) instead of evaluating on a leaky split."""
    import random

    from rdflib import URIRef

    from kg_engine.store import open_store

    rnd = random.Random(0)
    ex = "http://example.org/"
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    store = open_store(url)
    store.add([(URIRef(f"{ex}e{i}"), URIRef(f"{ex}p{rnd.randrange(2)}"), URIRef(f"{ex}e{rnd.randrange(15)}"))
               for i in range(15) for _ in range(4)])
    store.close()
    out = tmp_path / "run"
    res = runner.invoke(app, ["gnn", "train", "--model", "distmult", "--db", url, "-o", str(out),
                              "--epochs", "3", "--device", "cpu", "--set", "model.dim=8",
                              "--set", "data.valid_fraction=0.2", "--set", "data.test_fraction=0.2"])
    assert res.exit_code == 0, res.output
    trained = json.loads((out / "metrics.json").read_text())["test"]
    store = open_store(url)
    store.add([(URIRef(f"{ex}e0"), URIRef(f"{ex}p0"), URIRef(f"{ex}e14")),
               (URIRef(f"{ex}e0"), URIRef(f"{ex}p1"), URIRef(f"{ex}e13"))])
    store.close()
    res = runner.invoke(app, ["gnn", "eval", str(out), "--json", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    now = json.loads(res.output)
    assert now["mrr"] == pytest.approx(trained["mrr"]) and now["count"] == trained["count"]
    res = runner.invoke(app, ["gnn", "eval", str(out), "--db", url, "--device", "cpu"])
    assert res.exit_code == 2 and "training split" in res.output.replace("\n", " "), res.output


def test_rerunning_train_on_a_changed_store_says_to_start_over(tmp_path):
    from rdflib import URIRef

    from kg_engine.store import open_store

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    x = [URIRef(f"http://x/{c}") for c in "abcd"]
    p = URIRef("http://x/p")
    store = open_store(url)
    store.add([(x[0], p, x[1]), (x[1], p, x[2]), (x[2], p, x[0])])
    store.close()
    cmd = ["gnn", "train", "--model", "distmult", "--db", url, "-o", str(tmp_path / "run"), "--epochs", "1",
           "--device", "cpu", "--set", "model.dim=4"]
    assert runner.invoke(app, cmd).exit_code == 0
    store = open_store(url)
    store.add([(x[3], p, x[0])])
    store.close()
    res = runner.invoke(app, cmd)
    assert res.exit_code == 2 and "--no-resume" in res.output.replace("\n", " "), res.output
    res = runner.invoke(app, [*cmd, "--no-resume"])
    assert res.exit_code == 0, res.output
    assert len(json.loads((tmp_path / "run" / "vocab.json").read_text())["entities"]) == 4
