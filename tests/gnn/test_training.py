"""Trainer: exact resume, early stopping, checkpoints read safely, config errors."""

from __future__ import annotations

import json

import pytest
import torch

from kg_engine.errors import ConfigError, ModelError
from kg_engine.gnn.data import KGData
from kg_engine.gnn.training import load_model, read_checkpoint, resolve_device, train


def random_data(seed: int = 0, n: int = 30, r: int = 3, m: int = 200) -> KGData:
    g = torch.Generator().manual_seed(seed)
    triples = torch.stack(
        [torch.randint(0, n, (m,), generator=g), torch.randint(0, r, (m,), generator=g),
         torch.randint(0, n, (m,), generator=g)], 1
    ).unique(dim=0)
    perm = torch.randperm(len(triples), generator=g)
    triples = triples[perm]
    return KGData(
        entities=[f"e{i}" for i in range(n)], relations=[f"r{i}" for i in range(r)],
        train=triples[:-30], valid=triples[-30:-15], test=triples[-15:], name="random",
    )


BASE = {
    "training.epochs": 4,
    "training.batch_size": 32,
    "training.eval_every": 1,
    "training.patience": 0,
    "training.device": "cpu",
    "training.checkpoint_every_minutes": 0,
}


def _states_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    "model,extra",
    [
        ("complex", {"model.dim": 8, "model.dropout": 0.3, "model.reg_weight": 0.01}),
        ("rgcn", {"model.dim": 8, "model.dropout": 0.3, "model.edge_dropout": 0.2, "training.lr": 0.01}),
    ],
)
def test_resume_is_exact(tmp_path, model, extra):
    data = random_data()
    overrides = {**BASE, **extra}
    full = train(model, data=data, output_dir=tmp_path / "full", overrides=overrides, progress=False)
    assert full.metrics["status"] == "completed"

    part = train(model, data=data, output_dir=tmp_path / "part",
                 overrides={**overrides, "training.max_steps": 5}, progress=False)
    assert part.metrics["status"] == "max_steps" and not part.completed
    assert part.metrics["steps"] == 5 and part.metrics["epochs"] == 0  # stopped mid-epoch
    resumed = train(model, data=data, output_dir=tmp_path / "part", overrides=overrides, progress=False)
    assert resumed.metrics["status"] == "completed"
    assert resumed.metrics["steps"] == full.metrics["steps"]
    assert _states_equal(full.model, resumed.model)
    assert [h["valid"]["mrr"] for h in full.metrics["history"]] == [
        h["valid"]["mrr"] for h in resumed.metrics["history"]
    ]
    assert resumed.metrics["test"] == full.metrics["test"]


def test_resume_refuses_other_config(tmp_path):
    data = random_data()
    train("complex", data=data, output_dir=tmp_path, overrides={**BASE, "model.dim": 4, "training.max_steps": 2},
          progress=False)
    with pytest.raises(ConfigError, match="different config"):
        train("complex", data=data, output_dir=tmp_path, overrides={**BASE, "model.dim": 6}, progress=False)
    # starting over is allowed explicitly
    res = train("complex", data=data, output_dir=tmp_path, overrides={**BASE, "model.dim": 6}, resume=False,
                progress=False)
    assert res.metrics["status"] == "completed"


def _renamed(data: KGData, old: int, name: str) -> KGData:
    """``data`` with entity ``old`` replaced by a new entity ``name`` (same count, new order)."""
    names = [name if i == old else e for i, e in enumerate(data.entities)]
    order = sorted(range(len(names)), key=names.__getitem__)
    index = torch.empty(len(names), dtype=torch.long)
    index[torch.tensor(order)] = torch.arange(len(names))

    def remap(t):
        return torch.stack([index[t[:, 0]], t[:, 1], index[t[:, 2]]], 1)

    return KGData(entities=sorted(names), relations=data.relations, train=remap(data.train),
                  valid=remap(data.valid), test=remap(data.test), name=data.name)


def test_resume_refuses_data_that_changed_since(tmp_path):
    """A store that lost one entity and gained another (same count) between a stopped run and
    its resumption: the run resumed with every embedding row shifted to the next entity and
    rewrote vocab.json. Now it is refused and the folder keeps its id maps."""
    data = random_data()
    overrides = {**BASE, "model.dim": 4}
    train("distmult", data=data, output_dir=tmp_path, overrides={**overrides, "training.max_steps": 2},
          progress=False)
    vocab = (tmp_path / "vocab.json").read_text()
    changed = _renamed(data, 0, "e_new")
    assert changed.num_entities == data.num_entities
    with pytest.raises(ModelError, match="trained on other data .*--no-resume"):
        train("distmult", data=changed, output_dir=tmp_path, overrides=overrides, progress=False)
    assert (tmp_path / "vocab.json").read_text() == vocab
    with pytest.raises(ModelError, match="trained on other data"):  # new triples, same entities
        more = KGData(entities=data.entities, relations=data.relations, valid=data.valid, test=data.test,
                      train=torch.cat([data.train, torch.tensor([[0, 0, 0]])]))
        train("distmult", data=more, output_dir=tmp_path, overrides=overrides, progress=False)
    res = train("distmult", data=changed, output_dir=tmp_path, overrides=overrides, resume=False,
                progress=False)
    assert res.completed and load_model(tmp_path).data.entities == changed.entities


def test_a_fresh_run_leaves_no_weights_of_an_earlier_one(tmp_path):
    """`--no-resume` into a used folder, stopped by its budget before its first validation:
    best.pt of the earlier run stayed beside the new vocab.json and load_model (best=True)
    predicted with the old rows for the new entities."""
    data = random_data()
    overrides = {**BASE, "model.dim": 4}
    train("distmult", data=data, output_dir=tmp_path, overrides=overrides, progress=False)
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "calibration.json").is_file()
    changed = _renamed(data, 3, "e_new")
    res = train("distmult", data=changed, output_dir=tmp_path, resume=False, progress=False,
                overrides={**overrides, "training.max_steps": 1})
    assert res.metrics["status"] == "max_steps"
    assert not (tmp_path / "calibration.json").exists()
    loaded = load_model(tmp_path)
    assert loaded.data.entities == changed.entities and _states_equal(loaded.model, res.model)


def test_weights_beside_the_id_maps_of_another_run_are_refused(tmp_path):
    data = random_data()
    overrides = {**BASE, "model.dim": 4, "training.epochs": 1}
    train("distmult", data=data, output_dir=tmp_path / "a", overrides=overrides, progress=False)
    train("distmult", data=_renamed(data, 0, "e_new"), output_dir=tmp_path / "b", overrides=overrides,
          progress=False)
    (tmp_path / "b" / "best.pt").write_bytes((tmp_path / "a" / "best.pt").read_bytes())
    with pytest.raises(ModelError, match="come from different runs"):
        load_model(tmp_path / "b")
    loaded = load_model(tmp_path / "a")  # the held-out splits come back with the model
    assert torch.equal(loaded.data.test, data.test) and torch.equal(loaded.data.valid, data.valid)


def test_early_stopping_and_best_weights(tmp_path):
    data = random_data()
    res = train("distmult", data=data, output_dir=tmp_path,
                overrides={**BASE, "training.epochs": 50, "training.patience": 2, "model.dim": 8,
                           "training.lr": 0.5}, progress=False)
    hist = res.metrics["history"]
    assert res.metrics["status"] in ("early_stopping", "completed")
    best = max(h["valid"]["mrr"] for h in hist)
    assert res.metrics["valid"]["mrr"] == best
    if res.metrics["status"] == "early_stopping":
        assert len(hist) < 50
        assert all(h["valid"]["mrr"] <= best for h in hist[-2:])
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test"] == res.metrics["test"]
    # the loaded model reproduces the test metrics
    loaded = load_model(tmp_path)
    from kg_engine.gnn.evaluation import RankingEvaluator

    with torch.no_grad():
        again = RankingEvaluator(data).evaluate(loaded.model.scorer(loaded.graph), data.test)
    assert again["mrr"] == pytest.approx(res.metrics["test"]["mrr"])
    assert loaded.data.entities == data.entities and torch.equal(loaded.data.train, data.train)


def test_corrupt_checkpoint_raises_model_error(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelError, match="corrupt"):
        read_checkpoint(bad)
    with pytest.raises(ModelError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ModelError):
        train("complex", data=random_data(), output_dir=tmp_path, overrides=BASE, progress=False)
    with pytest.raises(ModelError, match="not a kg-engine GNN checkpoint"):
        load_model(tmp_path / "nothing")


def test_truncated_checkpoint_raises_model_error(tmp_path):
    data = random_data()
    train("complex", data=data, output_dir=tmp_path, overrides={**BASE, "model.dim": 4}, progress=False)
    raw = (tmp_path / "best.pt").read_bytes()
    (tmp_path / "best.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelError):
        load_model(tmp_path)


def test_split_files_that_do_not_fit_the_id_maps_are_refused(tmp_path):
    """train_triples.pt was assigned to the loaded data unchecked: ids beyond a (shortened)
    vocab.json surfaced later as an IndexError inside the model."""
    train("distmult", data=random_data(), output_dir=tmp_path, progress=False,
          overrides={**BASE, "model.dim": 4, "training.epochs": 1})
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    vocab["entities"] = vocab["entities"][:5]
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(ModelError, match="split files in .* do not fit its vocab.json"):
        load_model(tmp_path)


@pytest.mark.parametrize("other", [{"model.dim": 6}, {"model.name": "complex"}])
def test_weights_of_another_model_type_or_size_are_refused(tmp_path, other):
    data = random_data()
    overrides = {**BASE, "model.dim": 4, "training.epochs": 1}
    train("distmult", data=data, output_dir=tmp_path / "a", overrides=overrides, progress=False)
    train("distmult", data=data, output_dir=tmp_path / "b", overrides={**overrides, **other}, progress=False)
    (tmp_path / "b" / "best.pt").write_bytes((tmp_path / "a" / "best.pt").read_bytes())
    with pytest.raises(ModelError, match="does not match the model in .*config.cfg"):
        load_model(tmp_path / "b")


class _Payload:
    """Pickles as a call of ``Path.touch(marker)``: what a tampered checkpoint would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("fname", ["best.pt", "checkpoint.pt", "train_triples.pt", "test_triples.pt"])
def test_a_tampered_pickle_payload_is_refused_not_run(tmp_path, fname):
    out, marker = tmp_path / "run", tmp_path / "executed"
    overrides = {**BASE, "model.dim": 4, "training.epochs": 1}
    data = random_data()
    train("distmult", data=data, output_dir=out, overrides=overrides, progress=False)
    torch.save({"model": _Payload(marker), "optimizer": {}}, out / fname)
    with pytest.raises(ModelError, match="corrupt or not a kg-engine checkpoint"):
        if fname == "checkpoint.pt":  # read on resume
            train("distmult", data=data, output_dir=out, overrides={**overrides, "training.epochs": 2},
                  progress=False)
        else:
            load_model(out)
    assert not marker.exists()


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            resolve_device("cuda")


def test_periodic_checkpoints_do_not_change_the_run(tmp_path):
    data = random_data()
    overrides = {**BASE, "model.dim": 8, "model.dropout": 0.3}
    plain = train("complex", data=data, output_dir=tmp_path / "a", overrides=overrides, progress=False)
    often = train("complex", data=data, output_dir=tmp_path / "b",
                  overrides={**overrides, "training.checkpoint_every_minutes": 1e-9}, progress=False)
    assert _states_equal(plain.model, often.model)
    state = read_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert state["state"]["global_step"] == often.metrics["steps"]
    assert {"model", "optimizer", "scheduler", "rng", "config"} <= set(state)


def test_a_refused_write_leaves_no_truncated_file_and_a_clear_error(tmp_path):
    """The disk full or the file size limit reached while a checkpoint folder is written: an
    OutputWriteError naming the file (torch's own was an opaque RuntimeError, 'internal error'
    in kg gnn train), no stray ``.tmp`` beside the files, every file there whole (config.cfg
    and vocab.json were written in place: cut short, the re-run read a truncated config), and
    the same command without the limit runs to the end."""
    from kg_engine.errors import OutputWriteError
    from kg_engine.testing.iofaults import file_size_limit

    data = random_data()
    overrides = {**BASE, "model.dim": 4, "training.epochs": 2}
    train("distmult", data=data, output_dir=tmp_path / "whole", overrides=overrides,
          progress=False)
    sizes = sorted({p.stat().st_size for p in (tmp_path / "whole").iterdir()})
    assert len(sizes) >= 5
    for i, size in enumerate(sizes):
        out = tmp_path / f"cut{i}"
        with pytest.raises(OutputWriteError) as caught, file_size_limit(size - 1):
            train("distmult", data=data, output_dir=out, overrides=overrides, progress=False)
        assert str(out) in str(caught.value) and "file size limit" in str(caught.value)
        for path in out.iterdir():
            assert path.suffix in (".pt", ".json", ".cfg"), path.name
            if path.suffix == ".pt":
                read_checkpoint(path)
            elif path.suffix == ".json":
                json.loads(path.read_text())
        if (out / "config.cfg").exists():
            assert (out / "config.cfg").read_text() == (tmp_path / "whole" / "config.cfg"
                                                         ).read_text()
        train("distmult", data=data, output_dir=out, overrides=overrides, progress=False)
        assert _states_equal(load_model(out).model, load_model(tmp_path / "whole").model)
