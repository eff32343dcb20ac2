"""bf16 autocast (the trainer's CUDA AMP path) keeps every model's loss finite and its
evaluation scores float32-comparable; exercised here with CPU autocast."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from kg_engine.gnn.models import get_model_class

KWARGS = {
    "complex": {"dim": 8, "reg_weight": 0.01},
    "distmult": {"dim": 8, "reg_weight": 0.01},
    "rgcn": {"dim": 8, "num_bases": 2, "edge_dropout": 0.1},
    "compgcn": {"dim": 8, "opn": "corr"},
}


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_bf16_autocast_loss_and_backward(name):
    torch.manual_seed(0)
    g = Data(edge_index=torch.tensor([[0, 1, 2, 1, 2, 3], [1, 2, 3, 0, 1, 2]]),
             edge_type=torch.tensor([0, 1, 0, 2, 3, 2]), num_nodes=5)
    model = get_model_class(name)(5, 2, **KWARGS[name])
    batch = torch.tensor([[0, 0, 1], [1, 3, 2], [4, 2, 0]])
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss = model.loss(g, batch, None)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads if gr is not None)
    model.eval()
    with torch.no_grad():
        scores = model.scorer(g)(torch.tensor([0, 1]), torch.tensor([0, 3]))
    assert scores.shape == (2, 5) and scores.dtype == torch.float32
