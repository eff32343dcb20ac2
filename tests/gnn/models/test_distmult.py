"""DistMult: trilinear product, reciprocal relations make head/tail queries differ."""

from __future__ import annotations

import torch

from kg_engine.gnn.models.distmult import DistMult


def test_scores_equal_trilinear_product():
    torch.manual_seed(0)
    m = DistMult(num_entities=4, num_relations=2, dim=3, init_scale=1.0)
    e, w = m.entity.weight.detach(), m.relation.weight.detach()
    scores = m(None, torch.tensor([1, 2]), torch.tensor([0, 3]))
    assert torch.allclose(scores[0, 3], (e[1] * w[0] * e[3]).sum())
    assert torch.allclose(scores[1, 0], (e[2] * w[3] * e[0]).sum())
    assert m.relation.weight.shape[0] == 4  # 2R relation vectors


def test_loss_decreases_on_a_fact():
    torch.manual_seed(0)
    m = DistMult(num_entities=5, num_relations=1, dim=8, init_scale=0.1)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    batch = torch.tensor([[0, 0, 3], [3, 1, 0]])
    first = m.loss(None, batch).item()
    for _ in range(30):
        opt.zero_grad()
        m.loss(None, batch).backward()
        opt.step()
    assert m.loss(None, batch).item() < first / 5
    assert m(None, torch.tensor([0]), torch.tensor([0])).argmax().item() == 3
