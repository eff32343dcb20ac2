"""ComplEx: scores equal the complex trilinear product; N3 penalty; UMLS smoke floor."""

from __future__ import annotations

import pytest
import torch

from kg_engine.gnn.models.complex import ComplEx


def test_scores_equal_complex_formula():
    torch.manual_seed(0)
    m = ComplEx(num_entities=6, num_relations=2, dim=5, init_scale=1.0)
    h, r = torch.tensor([0, 3, 5]), torch.tensor([1, 2, 3])
    scores = m(None, h, r)
    ent = torch.complex(*m.entity.weight.detach().chunk(2, dim=-1))
    rel = torch.complex(*m.relation.weight.detach().chunk(2, dim=-1))
    expected = torch.stack(
        [torch.stack([(ent[a] * rel[b] * ent[t].conj()).sum().real for t in range(6)]) for a, b in zip(h, r)]
    )
    assert torch.allclose(scores, expected, atol=1e-5)


def test_n3_penalty_uses_modulus():
    m = ComplEx(num_entities=2, num_relations=1, dim=1, reg_weight=1.0, regularization="n3")
    with torch.no_grad():
        m.entity.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))  # |e0| = 5
        m.relation.weight.zero_()
    pen = m.regularizer(torch.tensor([[0, 0, 1]]))
    assert pen.item() == pytest.approx(125.0, rel=1e-4)


def test_umls_smoke_floor(kgc_dir, tmp_path):
    """CI gate: the shipped ComplEx recipe reaches a filtered test MRR floor on UMLS."""
    from kg_engine.gnn.training import train

    torch.set_num_threads(1)
    res = train("complex", output_dir=tmp_path, overrides={"data.dataset": "umls", "training.epochs": 40,
                                                          "training.device": "cpu"}, progress=False)
    assert res.metrics["status"] in ("completed", "early_stopping")
    assert res.metrics["test"]["count"] == 2 * 661
    assert res.metrics["test"]["mrr"] >= 0.90, res.metrics["test"]
    assert res.metrics["test"]["hits@10"] >= 0.98
