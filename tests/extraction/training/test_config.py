"""Tests of kg_engine.extraction.training.config: [training] values checked on load."""

from __future__ import annotations

import pytest

from kg_engine.errors import ConfigError
from kg_engine.extraction.training.config import fill_training, read_config

DEFAULTS = {"max_epochs": 20, "batch_size": 50, "learn_rate": 0.001, "patience": 5}


@pytest.mark.parametrize(("text", "message"), [
    ("max_epochs = 0", "max_epochs must be at least 1"),
    ("max_epochs = -1", "max_epochs must be at least 1"),
    ("batch_size = 0", "batch_size must be at least 1"),
    ("learn_rate = 0", "learn_rate must be positive"),
    ("patience = -2", "patience must be at least 0"),
    ("max_epochs = 2.5", "expected an integer"),
])
def test_out_of_range_training_values_are_config_errors(text: str, message: str) -> None:
    cfg, src = read_config(None, text=f"[training]\n{text}")
    with pytest.raises(ConfigError, match=message):
        fill_training(cfg, DEFAULTS, src)


def test_valid_values_pass() -> None:
    cfg, src = read_config(None, text="[training]\nmax_epochs = 1\npatience = 0")
    assert fill_training(cfg, DEFAULTS, src)["max_epochs"] == 1
