"""R-GCN: the sparse basis layer equals the per-relation formula; encode/score shapes."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from kg_engine.gnn.models.rgcn import RGCN, RGCNLayer, _relation_norm


def naive_layer(layer, x, edge_index, edge_type):
    """h_i' = W0 h_i + b + sum_r sum_{j in N_i^r} W_r h_j / c_{i,r} with W_r = sum_b a_rb V_b."""
    n = x.shape[0]
    out = x @ layer.self_loop + layer.bias
    weights = torch.einsum("rb,bio->rio", layer.coeff, layer.bases)
    for i in range(n):
        for r in range(layer.num_types):
            nbrs = [int(s) for s, d, t in zip(edge_index[0], edge_index[1], edge_type) if d == i and t == r]
            for j in nbrs:
                out[i] = out[i] + (x[j] @ weights[r]) / len(nbrs)
    return out


def test_layer_matches_per_relation_formula():
    torch.manual_seed(0)
    n, types = 7, 4
    edge_index = torch.randint(0, n, (2, 25))
    edge_type = torch.randint(0, types, (25,))
    layer = RGCNLayer(5, 3, types, num_bases=2)
    x = torch.randn(n, 5)
    norm = _relation_norm(edge_index, edge_type, n, types)
    got = layer(x, edge_index, edge_type, norm)
    assert torch.allclose(got, naive_layer(layer, x, edge_index, edge_type), atol=1e-5)


def test_gradients_reach_bases_and_coefficients():
    torch.manual_seed(0)
    g = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 0]]), edge_type=torch.tensor([0, 1, 0]), num_nodes=3)
    m = RGCN(num_entities=3, num_relations=1, dim=4, num_bases=2, dropout=0.0)
    m.loss(g, torch.tensor([[0, 0, 1], [1, 1, 0]])).backward()
    for layer in m.layers:
        assert layer.bases.grad is not None and layer.bases.grad.abs().sum() > 0
        assert layer.coeff.grad is not None and layer.coeff.grad.abs().sum() > 0


def test_scorer_encodes_once_and_matches_forward():
    torch.manual_seed(0)
    g = Data(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), edge_type=torch.tensor([0, 1, 1]), num_nodes=4)
    m = RGCN(num_entities=4, num_relations=1, dim=4, num_bases=2).eval()
    h, r = torch.tensor([0, 2]), torch.tensor([0, 1])
    with torch.no_grad():
        assert torch.allclose(m.scorer(g)(h, r), m(g, h, r))
