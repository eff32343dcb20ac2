"""DocRED reader, split and scorer on a tiny synthetic DocRED-format file."""

from __future__ import annotations

import json

import pytest

from kg_engine.errors import InputNotFoundError, InputSyntaxError
from kg_engine.extraction.training.docred import (
    facts_in,
    read_docred,
    score_docred,
    split_documents,
)


def _doc(title: str, a: str, b: str, rel: str = "P19") -> dict:
    return {
        "title": title,
        "sents": [[a, "was", "born", "in", b, "."], ["Later", a, "left", "."]],
        "vertexSet": [
            [{"name": a, "sent_id": 0, "pos": [0, 1], "type": "PER"},
             {"name": a, "sent_id": 1, "pos": [1, 2], "type": "PER"}],
            [{"name": b, "sent_id": 0, "pos": [4, 5], "type": "LOC"}],
        ],
        "labels": [{"h": 0, "t": 1, "r": rel, "evidence": [0]}],
    }


def test_read_split_and_words(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([_doc(f"t{i}", f"P{i}", f"C{i}") for i in range(10)]))
    docs = read_docred(path)
    assert len(docs) == 10
    d = docs[0]
    assert d.words[:2] == ["P0", "was"] and d.sent_starts == [0, 6]
    assert d.mention_spans() == [(0, 1), (7, 8), (4, 5)]
    assert d.entity_type(1) == "LOC" and d.labels == [(0, 1, "P19", (0,))]
    train, held = split_documents(docs, 3, seed=13)
    assert len(train) == 7 and len(held) == 3
    assert {x.title for x in train} | {x.title for x in held} == {f"t{i}" for i in range(10)}
    assert [x.title for x in split_documents(docs, 3, seed=13)[1]] == [x.title for x in held]


def test_scorer_f1_and_ign_f1(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([_doc("a", "Ada", "Paris"), _doc("b", "Bob", "Rome")]))
    docs = read_docred(path)
    # one correct, one wrong relation, one miss
    pred = [("a", 0, 1, "P19"), ("b", 1, 0, "P19")]
    s = score_docred(pred, docs)
    assert (s["precision"], s["recall"], s["f1"]) == (0.5, 0.5, 0.5)
    # the correct one is also a training fact -> Ign precision = 0 / (2 - 1)
    facts = facts_in(docs[:1])
    assert ("Ada", "Paris", "P19") in facts
    s = score_docred(pred, docs, facts)
    assert s["n_correct_in_train"] == 1 and s["ign_f1"] == 0.0 and s["f1"] == 0.5


def test_bad_inputs(tmp_path):
    with pytest.raises(InputNotFoundError):
        read_docred(tmp_path / "missing.json")
    bad = _doc("a", "Ada", "Paris")
    bad["vertexSet"][1][0]["pos"] = [4, 99]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([bad]))
    with pytest.raises(InputSyntaxError, match="document 0"):
        read_docred(path)
    path.write_text("[{")
    with pytest.raises(InputSyntaxError, match="invalid JSON"):
        read_docred(path)
