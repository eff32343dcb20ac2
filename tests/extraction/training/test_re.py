"""Training config validation and a tiny end-to-end train → save → load → evaluate run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
spacy = pytest.importorskip("spacy")

from kg_engine.errors import ConfigError
from kg_engine.extraction.training.re import (
    EXAMPLE_CONFIG,
    evaluate_re,
    load_re_config,
    train_re,
)
from kg_engine.extraction.training.synthetic import write_synthetic_conll04

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"


@pytest.mark.parametrize("name", ["re_cnn", "re_pcnn", "re_rnn", "re_transformer", "re_minilm"])
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_re_config(PIPELINES / f"{name}.cfg")
    assert cfg["components"]["kg_relation_extractor"]["model"]["@architectures"].startswith("kg_engine.")


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="kg_engine.CNNEncoder.v1"):
        load_re_config(None, text=EXAMPLE_CONFIG.replace("kg_engine.CNNEncoder.v1", "kg_engine.Nope.v1"))
    with pytest.raises(ConfigError, match="epochz"):
        load_re_config(None, text=EXAMPLE_CONFIG + "epochz = 3\n")
    with pytest.raises(ConfigError, match="integer"):
        load_re_config(None, text=EXAMPLE_CONFIG, overrides={"training.max_epochs": "many"})
    with pytest.raises(ConfigError, match="conll04"):
        load_re_config(None, text=EXAMPLE_CONFIG, overrides={"corpora.dataset": "ace"})
    with pytest.raises(ConfigError, match="not found"):
        load_re_config("/nonexistent/x.cfg")
    with pytest.raises(ConfigError, match="per_label"):
        load_re_config(None, text=EXAMPLE_CONFIG, overrides={"training.tune_threshold": "best"})


def test_train_save_reload_evaluate(tmp_path) -> None:
    data = write_synthetic_conll04(tmp_path / "data", n_train=150, n_dev=40, n_test=40)
    cfg = load_re_config(None, text=EXAMPLE_CONFIG, overrides={
        "corpora.dataset": "conll04", "corpora.data_dir": str(data),
        "components.kg_relation_extractor.model.filters": 24,
        "components.kg_relation_extractor.model.width": 16,
        "training.max_epochs": 6, "training.batch_size": 10, "training.learn_rate": 0.005,
    })
    metrics = train_re(cfg, output=tmp_path / "out", log=lambda m: None)
    out = tmp_path / "out"
    assert (out / "model-best" / "kg_relation_extractor" / "model.pt").is_file()
    saved = load_re_config(out / "config.cfg")
    assert saved["training"]["max_epochs"] == 6
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == metrics["best_epoch"]
    assert metrics["dev_best"] > 0.8
    res = evaluate_re(out / "model-best", "conll04", data_dir=data)
    assert res["entities"] == "gold"
    assert res["micro_f1"] == pytest.approx(metrics["test_gold_entities"]["micro_f1"])
    # the dev-tuned threshold (default mode "global") is saved with the model and used at test time
    tuning = metrics["threshold_tuning"]
    assert tuning["mode"] == "global" and tuning["dev_after"]["micro_f1"] >= tuning["dev_before"]["micro_f1"]
    assert res["threshold"] == tuning["threshold"]
    # re-tuning at evaluation time (here on gold entities) and saving the re-tuned pipeline
    tuned = evaluate_re(out / "model-best", "conll04", data_dir=data, tune_threshold="per_label",
                        save=tmp_path / "tuned")
    assert tuned["threshold_tuning"]["entities"] == "gold"
    assert tuned["threshold_tuning"]["dev_after"]["micro_f1"] >= tuned["threshold_tuning"]["dev_before"]["micro_f1"]
    again = evaluate_re(tmp_path / "tuned", "conll04", data_dir=data)
    assert again["threshold"] == tuned["threshold"] and again["thresholds"] == tuned["thresholds"]
    assert again["micro_f1"] == pytest.approx(tuned["micro_f1"])
    with pytest.raises(ConfigError, match="conll04 only"):
        evaluate_re(out / "model-best", "semeval", data_dir=data, tune_threshold="global")
