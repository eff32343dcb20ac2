"""Temperature scaling: confidences that are probabilities, fitted on validation."""

from __future__ import annotations

import json

import pytest
import torch

from kg_engine.gnn.calibration import (
    Calibration,
    fit_binary_temperature,
    fit_calibration,
    fit_softmax_temperature,
    load_calibration,
)
from kg_engine.gnn.evaluation import RankingEvaluator


def test_binary_temperature_recovers_overconfidence():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20000, generator=g) * 2
    y = torch.bernoulli(torch.sigmoid(z), generator=g)
    t = fit_binary_temperature(3.0 * z, y)  # logits 3x too sharp
    assert 2.6 < t < 3.4
    assert 0.25 < fit_binary_temperature(0.5 * z, y) < 0.75  # too flat: T < 1


def test_softmax_temperature_recovers_overconfidence():
    g = torch.Generator().manual_seed(0)
    rows = torch.randn(4000, 8, generator=g)
    target = torch.multinomial(torch.softmax(rows, 1), 1, generator=g).squeeze(1)
    t = fit_softmax_temperature(2.0 * rows, target)
    assert 1.7 < t < 2.3


def test_probabilities_and_file_roundtrip(tmp_path):
    c = Calibration(2.0, "sigmoid", 1.0, 0.5, 10)
    assert torch.allclose(c.probabilities(torch.tensor([[2.0]])), torch.sigmoid(torch.tensor([[1.0]])))
    s = Calibration(1.0, "softmax")
    p = s.probabilities(torch.tensor([[0.0, 0.0, 9.0]]), torch.tensor([[False, False, True]]))
    assert p.tolist() == [[0.5, 0.5, 0.0]]
    c.save(tmp_path)
    assert load_calibration(tmp_path, "softmax") == c
    assert load_calibration(tmp_path / "none", "softmax") == Calibration(kind="softmax")



@pytest.mark.parametrize("text, why", [
    ("{bad", "Expecting property name"), ('{"temperature": 2.0}', "no field 'kind'"),
    ('{"temperature": -1, "kind": "sigmoid", "nll_before": 1, "nll_after": 1, "queries": 1}',
     "temperature -1 is not a positive number"),
    ('{"temperature": 2, "kind": "tanh", "nll_before": 1, "nll_after": 1, "queries": 1}',
     "kind 'tanh'")])
def test_a_corrupt_calibration_file_is_an_error_naming_it(tmp_path, text: str, why: str):
    """A calibration.json that could not be read was silently replaced by T = 1, so the
    model's confidences were uncalibrated without a word; now it names the file and the fix."""
    from kg_engine.errors import ModelError

    (tmp_path / "calibration.json").write_text(text)
    with pytest.raises(ModelError) as info:
        load_calibration(tmp_path, "sigmoid")
    assert str(info.value).startswith(f"{tmp_path / 'calibration.json'} is not a valid calibration")
    assert why in str(info.value) and "delete it" in str(info.value)


def test_fit_calibration_lowers_validation_loss(tiny_data):
    ev = RankingEvaluator(tiny_data)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(6, 4, 6, generator=g)
    truth = torch.zeros(6, 4, 6)
    for h, r, t in tiny_data.known_triples().tolist():
        truth[h, r, t] = truth[t, r + 2, h] = 1.0
    logits = 20 * (truth - 0.5) + 8 * noise  # right direction, far too confident
    scorer = lambda h, r: logits[h, r]
    for kind in ("sigmoid", "softmax"):
        c = fit_calibration(scorer, ev, tiny_data.valid, kind)
        assert c.kind == kind and c.queries == 2 * len(tiny_data.valid)
        assert c.nll_after <= c.nll_before and c.temperature > 1.0


def test_training_writes_the_calibration(tmp_path, tiny_data):
    from kg_engine.gnn.training import load_model, train

    cfg = {"model": {"name": "nbfnet", "hidden_dim": 8, "num_layers": 2, "aggregate_func": "sum",
                     "num_negative": 0},
           "training": {"epochs": 1, "batch_size": 8, "eval_every": 1, "patience": 0,
                        "device": "cpu", "checkpoint_every_minutes": 0},
           "evaluation": {"test": False}}
    res = train(cfg, data=tiny_data, output_dir=tmp_path, progress=False)
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert saved["kind"] == "sigmoid" and saved["nll_after"] <= saved["nll_before"] + 1e-9
    assert res.metrics["calibration"]["temperature"] == saved["temperature"]
    assert load_model(tmp_path).calibration.temperature == saved["temperature"]
