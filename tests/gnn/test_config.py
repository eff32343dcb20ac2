"""GNN configs: the shipped pipelines validate; bad keys and types are reported by name."""

from __future__ import annotations

import pytest

from kg_engine.errors import ConfigError
from kg_engine.gnn.config import load_config, pipelines_dir


@pytest.mark.parametrize("name", ["complex", "distmult", "rgcn", "compgcn"])
def test_shipped_configs_validate_and_roundtrip(name):
    cfg = load_config(name)
    assert cfg.model.name == name
    again = load_config(cfg.to_str())
    assert again == cfg
    assert (pipelines_dir() / f"gnn_{name}.cfg").is_file()


def test_overrides_dotted_dunder_and_bare():
    cfg = load_config("complex", {"training.lr": 0.5, "model__dim": 16, "epochs": 7})
    assert cfg.training.lr == 0.5 and cfg.model_kwargs()["dim"] == 16 and cfg.training.epochs == 7


@pytest.mark.parametrize(
    "overrides,needle",
    [
        ({"training.optimizer": "lbfgs"}, "training.optimizer"),
        ({"training.lr": -1}, "training.lr"),
        ({"training.bogus": 1}, "training.bogus"),
        ({"model.nonsense": 1}, "model.nonsense"),
        ({"model.name": "transe"}, "unknown GNN model"),
        ({"nonsense": 1}, "section.key"),
    ],
)
def test_bad_values_named(overrides, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config("complex", overrides)


def test_unknown_section_and_file(tmp_path):
    bad = tmp_path / "x.cfg"
    bad.write_text("[trainin]\nlr = 1\n")
    with pytest.raises(ConfigError, match="unknown section"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.cfg")
    broken = tmp_path / "broken.cfg"
    broken.write_text("[training\nlr = \n")
    with pytest.raises(ConfigError, match="broken.cfg"):
        load_config(broken)
