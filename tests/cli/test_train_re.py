"""``kg train-re`` / ``kg eval-re``: a tiny run through the CLI and the error exit codes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("spacy")
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.extraction.training.re import EXAMPLE_CONFIG
from kg_engine.extraction.training.synthetic import write_synthetic_conll04

runner = CliRunner()


def test_train_re_then_eval_re(tmp_path) -> None:
    data = write_synthetic_conll04(tmp_path / "data", n_train=80, n_dev=20, n_test=20)
    cfg = tmp_path / "re.cfg"
    cfg.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    res = runner.invoke(app, [
        "train-re", str(cfg), "--output", str(tmp_path / "out"),
        "--corpora.dataset", "conll04", "--corpora.data_dir", str(data),
        "--components.kg_relation_extractor.model.filters", "16",
        "--training.max_epochs", "2", "--training.batch_size", "10",
    ])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "model-best" / "config.cfg").is_file()
    saved = (tmp_path / "out" / "config.cfg").read_text()
    assert "max_epochs = 2" in saved
    import os

    os.environ["KG_SHARED_DATA"] = str(tmp_path)
    try:
        (tmp_path / "re").symlink_to(data)
        res = runner.invoke(app, ["eval-re", str(tmp_path / "out" / "model-best"), "--dataset", "conll04"])
        tuned = runner.invoke(app, ["eval-re", str(tmp_path / "out" / "model-best"), "--dataset", "conll04",
                                    "--tune-threshold", "global", "--save", str(tmp_path / "tuned")])
    finally:
        del os.environ["KG_SHARED_DATA"]
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["entities"] == "gold" and 0.0 <= out["micro_f1"] <= 1.0
    assert tuned.exit_code == 0, tuned.output
    out = json.loads(tuned.stdout)
    assert out["threshold_tuning"]["mode"] == "global" and out["threshold"] == out["threshold_tuning"]["threshold"]
    assert (tmp_path / "tuned" / "kg_relation_extractor" / "meta.json").is_file()


def test_bad_inputs_exit_2(tmp_path) -> None:
    cfg = tmp_path / "re.cfg"
    cfg.write_text(EXAMPLE_CONFIG.replace("kg_engine.CNNEncoder.v1", "kg_engine.Bogus.v1"), encoding="utf-8")
    res = runner.invoke(app, ["train-re", str(cfg)])
    assert res.exit_code == 2 and "kg_engine.CNNEncoder.v1" in res.output
    res = runner.invoke(app, ["train-re", str(tmp_path / "missing.cfg")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["eval-re", str(tmp_path / "nomodel"), "--dataset", "semeval"])
    assert res.exit_code == 2 and "nomodel" in res.output
    res = runner.invoke(app, ["eval-re", str(tmp_path / "nomodel"), "--dataset", "conll04", "--tune-threshold", "best"])
    assert res.exit_code == 2 and "per_label" in res.output
