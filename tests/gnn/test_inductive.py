"""Inductive split and evaluation: held-out entities are absent from training, present at inference."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from kg_engine.gnn.data import KGData
from kg_engine.gnn.inductive import evaluate_inductive, inductive_split
from kg_engine.gnn.models.nbfnet import NBFNet


def rule_data(k: int = 40, seed: int = 0) -> KGData:
    """x_i -r0-> y_i -r1-> z_i and r2(x_i, z_i); test = r2 of the last 8 chains."""
    g = torch.Generator().manual_seed(seed)
    x, y, z = torch.arange(k), torch.arange(k, 2 * k), torch.arange(2 * k, 3 * k)
    full = lambda i, m: torch.full((m,), i)
    target = torch.stack([x, full(2, k), z], 1)
    noise = torch.stack(
        [
            torch.randint(0, 3 * k, (20,), generator=g),
            full(3, 20),
            torch.randint(0, 3 * k, (20,), generator=g),
        ],
        1,
    )
    train = torch.cat(
        [
            torch.stack([x, full(0, k), y], 1),
            torch.stack([y, full(1, k), z], 1),
            noise,
            target[: k - 8],
        ]
    )
    return KGData(
        entities=[f"e{i}" for i in range(3 * k)],
        relations=["r0", "r1", "r2", "r3"],
        train=train,
        valid=target[k - 8 : k - 6],
        test=target[k - 8 :],
        name="rule",
    )


def test_split_hides_held_out_entities_from_training():
    data = rule_data()
    split = inductive_split(data, fraction=0.2, seed=1)
    assert len(split.held_out) == round(0.2 * data.num_entities)
    held = set(split.held_out.tolist())
    tr = split.train_data.train
    assert not any(h in held or t in held for h, _, t in tr.tolist())
    assert split.train_data.num_entities == data.num_entities  # same id maps
    assert all(h in held or t in held for h, _, t in split.unseen_test.tolist())
    assert not any(h in held or t in held for h, _, t in split.seen_test.tolist())
    assert len(split.unseen_test) + len(split.seen_test) == len(data.test)
    assert split.inference_data is data
    again = inductive_split(data, fraction=0.2, seed=1)
    assert torch.equal(again.held_out, split.held_out)
    with pytest.raises(ValueError, match="fraction"):
        inductive_split(data, fraction=1.0)


def test_path_model_answers_queries_about_unseen_entities():
    data = rule_data()
    split = inductive_split(data, fraction=0.2, seed=0)
    assert len(split.unseen_test) >= 1
    graph = split.train_data.graph("train")
    torch.manual_seed(0)
    model = NBFNet(
        data.num_entities,
        data.num_relations,
        hidden_dim=16,
        num_layers=3,
        aggregate_func="sum",
        num_negative=0,
    )
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    tr = split.train_data.train
    tgt = tr[tr[:, 1] == 2]
    q = torch.cat([tgt, torch.stack([tgt[:, 2], tgt[:, 1] + 4, tgt[:, 0]], 1)])
    for _ in range(60):
        loss = model.loss(graph, q[torch.randperm(len(q))[:16]])
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = evaluate_inductive(model, split)
    assert out["unseen"]["count"] == 2 * len(split.unseen_test)
    # only tail queries r2(x, ?) follow the learned rule; random ranking would give MRR ~ 0.04
    assert out["unseen"]["tail_mrr"] >= 0.7
    assert out["inference_triples"] == len(data.train) > out["train_triples"]
    # without the held-out entities' edges at inference the rule cannot fire
    blind_split = type(split)(
        split.held_out,
        split.train_data,
        _without_edges(data, split),
        split.unseen_test,
        split.seen_test,
    )
    blind = evaluate_inductive(model, blind_split)
    assert blind["unseen"]["tail_mrr"] < out["unseen"]["tail_mrr"]


def _without_edges(data: KGData, split) -> KGData:
    return KGData(
        entities=data.entities,
        relations=data.relations,
        train=split.train_data.train,
        valid=data.valid,
        test=data.test,
        name="blind",
    )
