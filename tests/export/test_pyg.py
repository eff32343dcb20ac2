"""PyG exports load with weights_only=True and match the view."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_engine.errors import ModelError

pytest.importorskip("torch_geometric")

from kg_engine.export.pyg import load_pyg

from .conftest import EX


def test_data_matches_view(sample_kg, tmp_path: Path) -> None:
    view = sample_kg.to_networkx()
    sample_kg.export(tmp_path / "kg.pt.gz")
    data = load_pyg(tmp_path / "kg.pt.gz")
    assert data.num_nodes == view.number_of_nodes()
    assert data.edge_index.shape == (2, view.number_of_edges())
    edges = {(data.entities[s], data.relations[r], data.entities[o])
             for (s, o), r in zip(data.edge_index.t().tolist(), data.edge_type.tolist())}
    assert {(u.n3(), k.n3(), v.n3()) for u, v, k in view.edges(keys=True)} == edges


def test_hetero(sample_kg, tmp_path: Path) -> None:
    sample_kg.export(tmp_path / "h.pt", "pyg-hetero")
    het = load_pyg(tmp_path / "h.pt")
    assert "Person" in het.node_types
    assert ("Person", "knows", "Resource") in het.edge_types
    assert het["Person"].node_names == [f"<{EX}ada>"]
    total = sum(het[t].edge_index.shape[1] for t in het.edge_types)
    assert total == sample_kg.to_networkx().number_of_edges()


def test_not_an_export(tmp_path: Path) -> None:
    import torch

    torch.save({"x": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a kg-engine PyG export"):
        load_pyg(tmp_path / "other.pt")
