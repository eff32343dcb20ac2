"""CompGCN: composition operators against their definitions; layer shapes; training step."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from kg_engine.gnn.models.compgcn import CompGCN, compose


def test_circular_correlation_matches_definition():
    torch.manual_seed(0)
    a, b = torch.randn(3, 6), torch.randn(3, 6)
    got = compose(a, b, "corr")
    d = 6
    ref = torch.stack([torch.stack([sum(a[i, j] * b[i, (j + k) % d] for j in range(d)) for k in range(d)])
                       for i in range(3)])
    assert torch.allclose(got, ref, atol=1e-5)
    assert torch.equal(compose(a, b, "sub"), a - b)
    assert torch.equal(compose(a, b, "mult"), a * b)
    with pytest.raises(ValueError, match="sub, mult, corr"):
        compose(a, b, "add")


@pytest.mark.parametrize("opn", ["sub", "mult", "corr"])
def test_model_trains_each_composition(opn):
    torch.manual_seed(0)
    g = Data(edge_index=torch.tensor([[0, 1, 2, 1, 2, 3], [1, 2, 3, 0, 1, 2]]),
             edge_type=torch.tensor([0, 0, 1, 2, 2, 3]), num_nodes=4)
    m = CompGCN(num_entities=4, num_relations=2, dim=8, num_layers=2, opn=opn)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    batch = torch.tensor([[0, 0, 1], [1, 2, 0]])
    first = m.loss(g, batch).item()
    for _ in range(20):
        opt.zero_grad()
        m.loss(g, batch).backward()
        opt.step()
    assert m.loss(g, batch).item() < first
    m.eval()
    with torch.no_grad():
        assert m.scorer(g)(torch.tensor([0]), torch.tensor([0])).shape == (1, 4)
