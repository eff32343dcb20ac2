"""Shared fixtures of the GNN tests: skip cleanly without torch/PyG or the shared data."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_geometric")


@pytest.fixture(scope="session")
def kgc_dir():
    """The shared ``kgc`` folder, or skip when it is absent."""
    from kg_engine.gnn.datasets import shared_data_dir

    path = shared_data_dir() / "kgc"
    if not (path / "umls" / "train.txt").is_file():
        pytest.skip(f"shared KGC data not found at {path} (set KG_SHARED_DATA)")
    return path


@pytest.fixture()
def tiny_data():
    """A 6-entity, 2-relation graph with all three splits."""
    import torch

    from kg_engine.gnn.data import KGData

    train = torch.tensor([[0, 0, 1], [1, 0, 2], [2, 0, 3], [3, 1, 4], [4, 1, 5], [0, 1, 5], [5, 0, 0]])
    valid = torch.tensor([[1, 1, 3], [2, 1, 0]])
    test = torch.tensor([[0, 0, 2], [3, 0, 5]])
    return KGData(
        entities=[f"e{i}" for i in range(6)], relations=["p", "q"], train=train, valid=valid, test=test, name="tiny"
    )
