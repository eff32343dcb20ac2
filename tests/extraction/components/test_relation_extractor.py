"""Tests of the kg_relation_extractor spaCy component (tiny synthetic data, CPU, seconds)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
spacy = pytest.importorskip("spacy")

import kg_engine.extraction.components  # noqa: F401 - registers the factory
from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.training.synthetic import synthetic_examples

SMALL_CNN = {"@architectures": "kg_engine.CNNEncoder.v1", "width": 16, "pos_width": 4,
             "filters": 24, "windows": [3], "dropout": 0.1}


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    train = synthetic_examples(120, seed=1)
    nlp = spacy.blank("en")
    rel = nlp.add_pipe("kg_relation_extractor", config={"model": SMALL_CNN, "learn_rate": 0.01})
    nlp.initialize(lambda: train)
    for _epoch in range(12):
        for k in range(0, len(train), 20):
            rel.update(train[k:k + 20])
    return nlp, rel


def _doc(nlp, words, ents):
    from spacy.tokens import Doc, Span

    doc = Doc(nlp.vocab, words=words)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    return doc


def test_initialize_collects_labels_types_and_constraints(trained) -> None:
    _nlp, rel = trained
    assert set(rel.labels) == {"Work_For", "Live_In", "OrgBased_In", "Kill"}
    assert rel.cfg["types"] == ["Loc", "Org", "Peop"]
    assert rel.cfg["type_constraints"]["Work_For"] == [["Peop", "Org"]]


def test_learns_relations_and_direction(trained) -> None:
    nlp, _rel = trained
    doc = nlp(_doc(nlp, ["Mary", "works", "for", "Acme", "."], [(0, 1, "Peop"), (3, 4, "Org")]))
    assert doc._.rel[(0, 3)]["Work_For"] > 0.5
    assert [(h.text, lab, t.text) for h, lab, t, _p in doc._.relations] == [("Mary", "Work_For", "Acme")]
    # head after tail in the sentence: the reversed class must fire
    doc = nlp(_doc(nlp, ["Acme", "hired", "Mary", "last", "year", "."], [(0, 1, "Org"), (2, 3, "Peop")]))
    assert [(h.text, lab, t.text) for h, lab, t, _p in doc._.relations] == [("Mary", "Work_For", "Acme")]
    # no relation in a distractor sentence
    doc = nlp(_doc(nlp, ["Mary", "and", "Acme", "were", "mentioned", "."], [(0, 1, "Peop"), (2, 3, "Org")]))
    assert doc._.relations == []
    probs = doc._.rel[(0, 2)]
    assert all(0.0 <= p <= 1.0 for p in probs.values())


def test_type_constraints_prune_candidates(trained) -> None:
    nlp, rel = trained
    # Loc-Loc has no relation in the training data -> no candidate at all
    doc = _doc(nlp, ["Paris", "and", "Oslo"], [(0, 1, "Loc"), (2, 3, "Loc")])
    assert len(rel.candidates([doc])) == 0
    doc = nlp(doc)
    assert doc._.rel == {} and doc._.relations == []


def test_max_distance_prunes_candidates(trained) -> None:
    nlp, rel = trained
    words = ["Mary"] + ["x"] * 80 + ["Acme"]
    doc = _doc(nlp, words, [(0, 1, "Peop"), (81, 82, "Org")])
    assert len(rel.candidates([doc])) == 0
    rel.cfg["max_distance"] = 100
    try:
        assert len(rel.candidates([doc])) == 1
    finally:
        rel.cfg["max_distance"] = 60


def test_sentence_boundaries_limit_pairs(trained) -> None:
    nlp, rel = trained
    doc = _doc(nlp, ["Mary", "sings", ".", "Acme", "sells", "."], [(0, 1, "Peop"), (3, 4, "Org")])
    assert len(rel.candidates([doc])) == 1  # no sentence boundaries: whole doc
    doc[3].is_sent_start = True
    for t in doc[1:3]:
        t.is_sent_start = False
    doc[4].is_sent_start = False
    doc[5].is_sent_start = False
    assert len(rel.candidates([doc])) == 0


def test_save_and_reload_predicts_identically(trained, tmp_path) -> None:
    nlp, _rel = trained
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    words, ents = ["In", "Paris", ",", "Mary", "has", "a", "house", "."], [(1, 2, "Loc"), (3, 4, "Peop")]
    a = nlp(_doc(nlp, words, ents))
    b = loaded(_doc(loaded, words, ents))
    assert a._.rel.keys() == b._.rel.keys()
    for key in a._.rel:
        for lab, p in a._.rel[key].items():
            assert b._.rel[key][lab] == pytest.approx(p, abs=1e-6)
    # bytes round trip too
    rel2 = spacy.blank("en").add_pipe("kg_relation_extractor", config={"model": SMALL_CNN})
    rel2.from_bytes(nlp.get_pipe("kg_relation_extractor").to_bytes())
    c = _doc(nlp, words, ents)
    rel2(c)
    assert c._.rel[(3, 1)]["Live_In"] == pytest.approx(a._.rel[(3, 1)]["Live_In"], abs=1e-6)


def test_corrupt_weights_file_is_model_error_naming_it(trained, tmp_path) -> None:
    nlp, _rel = trained
    nlp.to_disk(tmp_path / "model")
    weights = tmp_path / "model" / "kg_relation_extractor" / "model.pt"
    weights.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="model.pt"):
        spacy.load(tmp_path / "model")
    weights.unlink()
    with pytest.raises(ModelError, match="model.pt"):
        spacy.load(tmp_path / "model")


def test_wrong_encoder_for_saved_weights_is_model_error(trained, tmp_path) -> None:
    nlp, _rel = trained
    nlp.get_pipe("kg_relation_extractor").to_disk(tmp_path / "rel")
    other = spacy.blank("en").add_pipe(
        "kg_relation_extractor", config={"model": {"@architectures": "kg_engine.PCNNEncoder.v1"}})
    with pytest.raises(ModelError, match="CNNEncoder"):
        other.from_disk(tmp_path / "rel")
    same_kind_other_size = spacy.blank("en").add_pipe(
        "kg_relation_extractor", config={"model": dict(SMALL_CNN, filters=7)})
    with pytest.raises(ModelError, match="model.pt"):
        same_kind_other_size.from_disk(tmp_path / "rel")


def test_uninitialised_component_says_what_to_do() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("kg_relation_extractor")
    with pytest.raises(ModelError, match="initialize"):
        nlp("Mary works for Acme .")


def test_bad_config_values() -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError):
        nlp.add_pipe("kg_relation_extractor", config={"threshold": 1.5})


def test_calibration_and_score(trained) -> None:
    _nlp, rel = trained
    dev = synthetic_examples(40, seed=7)
    t = rel.calibrate(dev)
    try:
        assert 0.05 < t < 20
        docs = [eg.predicted for eg in dev]
        rel.set_annotations(docs, rel.predict(docs))
        scores = rel.score(dev)
        assert scores["rel_micro_f"] > 0.9
        assert set(scores["rel_f_per_type"]) == set(rel.labels)
    finally:
        rel.cfg["temperature"] = 1.0


def test_threshold_suppresses_low_confidence(trained) -> None:
    nlp, rel = trained
    rel.cfg["threshold"] = 1.0
    try:
        doc = nlp(_doc(nlp, ["Mary", "works", "for", "Acme", "."], [(0, 1, "Peop"), (3, 4, "Org")]))
        assert doc._.relations == [] and doc._.rel[(0, 3)]["Work_For"] > 0.5
    finally:
        rel.cfg["threshold"] = 0.5


def test_untyped_model_applies_to_any_entity_labels() -> None:
    torch.manual_seed(0)
    train = synthetic_examples(60, seed=3)
    nlp = spacy.blank("en")
    rel = nlp.add_pipe("kg_relation_extractor", config={"model": SMALL_CNN, "use_entity_types": False})
    nlp.initialize(lambda: train)
    assert rel.cfg["types"] == ["ENTITY"]
    # entity labels from another NER (PERSON/GPE) still give candidates
    doc = _doc(nlp, ["Mary", "lives", "in", "Paris", "."], [(0, 1, "PERSON"), (3, 4, "GPE")])
    assert len(rel.candidates([doc])) == 1


def test_shrunk_model_loads_and_predicts_nearly_identically(trained, tmp_path) -> None:
    from kg_engine.extraction.training.shrink import shrink_relation_model

    nlp, rel = trained
    nlp.to_disk(tmp_path / "full")
    size = shrink_relation_model(tmp_path / "full", tmp_path / "small", max_vocab=len(rel.model.vocab))
    assert size < (tmp_path / "full" / "kg_relation_extractor" / "model.pt").stat().st_size
    small = spacy.load(tmp_path / "small")
    words, ents = ["Mary", "works", "for", "Acme", "."], [(0, 1, "Peop"), (3, 4, "Org")]
    a, b = nlp(_doc(nlp, words, ents)), small(_doc(small, words, ents))
    assert b._.rel[(0, 3)]["Work_For"] == pytest.approx(a._.rel[(0, 3)]["Work_For"], abs=1e-2)
    with pytest.raises(ModelError):
        shrink_relation_model(tmp_path / "nothing", tmp_path / "x")


def _fixed_probs(rel, doc, row):
    """Candidates of ``doc`` (one pair) with a hand-set probability row [none, fwd…, bwd…]."""
    cands = rel.candidates([doc])
    assert len(cands) == 1
    return cands, torch.tensor([row], dtype=torch.float)


def test_decision_rule_threshold_below_half_beats_no_relation(trained) -> None:
    nlp, rel = trained
    labels = list(rel.labels)
    n = len(labels)
    k = labels.index("Work_For")
    row = [0.0] * (1 + 2 * n)
    row[0], row[1 + k] = 0.6, 0.3  # "no relation" is the argmax; Work_For→ has 0.3
    row[1 + n + k] = 0.1
    doc = _doc(nlp, ["Mary", "works", "for", "Acme", "."], [(0, 1, "Peop"), (3, 4, "Org")])
    try:
        rel.set_annotations([doc], _fixed_probs(rel, doc, row))
        assert doc._.relations == []  # default 0.5: unchanged behaviour
        rel.cfg["threshold"] = 0.25
        rel.set_annotations([doc], _fixed_probs(rel, doc, row))
        assert [(h.text, lab, t.text) for h, lab, t, _p in doc._.relations] == [("Mary", "Work_For", "Acme")]
        assert doc._.relations[0][3] == pytest.approx(0.3)
        rel.cfg["thresholds"] = {"Work_For": 0.35}  # a per-label value overrides the global one
        rel.set_annotations([doc], _fixed_probs(rel, doc, row))
        assert doc._.relations == []
        assert rel.decision_thresholds()["Work_For"] == 0.35
        assert rel.decision_thresholds()["Kill"] == 0.25
    finally:
        rel.cfg["threshold"], rel.cfg["thresholds"] = 0.5, {}


def test_tune_thresholds_improves_dev_and_is_saved(trained, tmp_path) -> None:
    nlp, rel = trained
    dev = synthetic_examples(40, seed=11)
    docs, refs = [eg.predicted for eg in dev], [eg.reference for eg in dev]
    try:
        rel.cfg["threshold"] = 0.99  # a bad starting point: tuning must recover recall
        res = rel.tune_thresholds(docs, refs, mode="global")
        assert res["dev_after"]["micro_f1"] >= res["dev_before"]["micro_f1"]
        assert res["dev_after"]["micro_f1"] > 0.9
        assert rel.cfg["threshold"] == res["threshold"] and res["threshold"] < 0.99
        assert res["thresholds"] == {}
        per = rel.tune_thresholds(docs, refs, mode="per_label", min_support=1)
        assert per["dev_after"]["micro_f1"] >= res["dev_after"]["micro_f1"] - 1e-9
        assert all(0.0 < t < 1.0 for t in per["thresholds"].values())
        rel.cfg["thresholds"] = {"Kill": 0.42}
        nlp.to_disk(tmp_path / "model")
        loaded = spacy.load(tmp_path / "model").get_pipe("kg_relation_extractor")
        assert loaded.cfg["threshold"] == rel.cfg["threshold"]
        assert loaded.cfg["thresholds"] == {"Kill": 0.42}
        with pytest.raises(ConfigError, match="per_label"):
            rel.tune_thresholds(docs, refs, mode="best")
        with pytest.raises(ConfigError, match="aligned"):
            rel.tune_thresholds(docs, refs[:-1])
    finally:
        rel.cfg["threshold"], rel.cfg["thresholds"] = 0.5, {}


def test_bad_per_label_threshold_is_config_error() -> None:
    with pytest.raises(ConfigError, match="Kill"):
        spacy.blank("en").add_pipe("kg_relation_extractor", config={"thresholds": {"Kill": 2}})
