"""The Re-DocRED mention detector: training examples, a short training run, its scores."""

from __future__ import annotations

import json

import spacy

from kg_engine.extraction.training.docred import DocREDDocument, Mention, read_docred
from kg_engine.extraction.training.docred_ner import (
    mention_scores,
    sentence_examples,
    train_docred_ner,
)

_NAMES = [("Ada Lovelace", "London"), ("Marie Curie", "Warsaw"), ("Alan Turing", "Maida Vale"),
          ("Niels Bohr", "Copenhagen"), ("Lise Meitner", "Vienna"), ("Emmy Noether", "Erlangen")]


def _doc(i: int, person: str, place: str) -> dict:
    p, c = person.split(), place.split()
    return {
        "title": f"t{i}",
        "sents": [[*p, "was", "born", "in", *c, "in", "1815", "."],
                  ["Later", p[-1], "joined", "the", "Royal", "Society", "."]],
        "vertexSet": [
            [{"name": person, "sent_id": 0, "pos": [0, len(p)], "type": "PER"},
             {"name": p[-1], "sent_id": 1, "pos": [1, 2], "type": "PER"}],
            [{"name": place, "sent_id": 0, "pos": [len(p) + 3, len(p) + 3 + len(c)],
              "type": "LOC"}],
            [{"name": "1815", "sent_id": 0, "pos": [len(p) + 4 + len(c), len(p) + 5 + len(c)],
              "type": "TIME"}],
            [{"name": "Royal Society", "sent_id": 1, "pos": [4, 6], "type": "ORG"}],
        ],
        "labels": [{"h": 0, "t": 1, "r": "P19", "evidence": [0]}],
    }


def test_sentence_examples_keep_the_longest_of_overlapping_mentions() -> None:
    d = DocREDDocument("t", [["x"], ["New", "York", "City", "Council", "met", "."]], [
        [Mention(1, 1, 3, "New York", "LOC")],
        [Mention(1, 1, 5, "New York City Council", "ORG")],
        [Mention(1, 3, 4, "City", "LOC")]])
    assert sentence_examples([d]) == [(["x"], []), (
        ["New", "York", "City", "Council", "met", "."], [(0, 4, "ORG")])]


def test_train_saves_a_loadable_docred_typed_ner(tmp_path) -> None:
    """A one-epoch run on a tiny DocRED file: the folder loads with spacy.load, its NER has the
    six DocRED labels, the log has the held-out scores before (epoch 0) and after training."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "dev_revised.json").write_text(json.dumps(
        [_doc(i, p, c) for i, (p, c) in enumerate(_NAMES)]))
    out = tmp_path / "ner"
    s = train_docred_ner(data, out, held_out=2, epochs=1, log=None)
    assert s["train_docs"] == 4 and s["train_sentences"] == 8 and s["best_epoch"] == 1
    assert [h["epoch"] for h in s["history"]] == [0, 1]
    nlp = spacy.load(out)
    assert nlp.pipe_names == ["senter", "ner"]
    assert {"PER", "ORG", "LOC", "TIME", "NUM", "MISC"} <= set(nlp.get_pipe("ner").labels)
    assert json.loads((out / "training.json").read_text())["best_epoch"] == 1
    scores = mention_scores(nlp, read_docred(data / "dev_revised.json")[:2])
    assert 0.0 <= scores["micro_f1"] <= 1.0 and 0.0 <= scores["span_r"] <= 1.0
