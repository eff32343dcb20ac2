"""Tests of kg_engine.extraction.components.serialization: round trip and clear errors."""

from __future__ import annotations

import pytest
import torch

from kg_engine.errors import ModelError
from kg_engine.extraction.components.serialization import pack_bytes, torch_load, unpack_bytes


def test_round_trip_keeps_metadata_and_weights() -> None:
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    meta, load_state = unpack_bytes(pack_bytes({"labels": ["Kill"], "v": 2}, state), "x")
    assert meta == {"labels": ["Kill"], "v": 2}
    assert torch.equal(load_state()["w"], state["w"])


def test_corrupt_metadata_and_weights_raise_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="corrupt serialised relation extractor"):
        unpack_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00\xff\xfe\xfd\xfc\xfb", "relation extractor")
    data = pack_bytes({"a": 1}, {"w": torch.zeros(2)})
    _, load_state = unpack_bytes(data[:-10], "x")
    with pytest.raises(ModelError, match="corrupt or incompatible"):
        load_state()
    with pytest.raises(ModelError, match="missing model weights"):
        torch_load(tmp_path / "model.pt", "model.pt")
    (tmp_path / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="model.pt: corrupt"):
        torch_load(tmp_path / "model.pt", "model.pt")
