"""Shared input format, vocabulary and base class of the relation encoders.

An encoder turns a batch of *candidate entity pairs* into one vector per pair. The batch is
sentence-structured so that sentence-level encoders (the pretrained Transformer) encode each
sentence once, while pair-level encoders (CNN, PCNN, RNN, Transformer from scratch) build one
entity-marked token sequence per pair.

Pairs are *unordered* and stored in sentence order (``first`` starts before ``second``); the
classifier head on top predicts ``relation→`` (first is the head), ``relation←`` (second is the
head) or no relation.

Example:
    >>> s = Sentence(words=["Smith", "works", "for", "Acme", "."], spans=[(0, 1), (3, 4)],
    ...              types=["Peop", "Org"])
    >>> marked_sequence(s, 0, 1)[0]
    ['<e1:Peop>', 'Smith', '</e1>', 'works', 'for', '<e2:Org>', 'Acme', '</e2>', '.']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from kg_engine.errors import ConfigError, ModelError

__all__ = [
    "Sentence",
    "PairBatch",
    "Vocab",
    "RelationEncoder",
    "PairEncoder",
    "marked_sequence",
    "normalise_word",
]

PAD, UNK = "<pad>", "<unk>"
_DIGITS = re.compile(r"\d")


def normalise_word(word: str) -> str:
    """Lower-case a word and map every digit to ``0`` (the vocabulary key).

    Example:
        >>> normalise_word("In 1994")
        'in 0000'
    """
    return _DIGITS.sub("0", word.lower())


@dataclass
class Sentence:
    """One sentence: its words, entity spans (token offsets, end exclusive) and entity types."""

    words: list[str]
    spans: list[tuple[int, int]] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


@dataclass
class PairBatch:
    """Candidate pairs over sentences: ``pairs[k] = (sentence index, first ent, second ent)``."""

    sentences: list[Sentence]
    pairs: list[tuple[int, int, int]]

    def __len__(self) -> int:
        return len(self.pairs)


def marked_sequence(
    sentence: Sentence, first: int, second: int
) -> tuple[list[str], int, int]:
    """Insert typed entity markers around the two entities of a pair.

    Args:
        sentence: the sentence.
        first: index of the entity that starts first.
        second: index of the other entity.

    Returns:
        (tokens with markers, index of the ``<e1:…>`` marker, index of the ``<e2:…>`` marker).
    """
    (a0, a1), (b0, b1) = sentence.spans[first], sentence.spans[second]
    ta, tb = sentence.types[first], sentence.types[second]
    w = sentence.words
    if a0 > b0:  # defensive: callers pass pairs in sentence order
        (a0, a1), (b0, b1), ta, tb = (b0, b1), (a0, a1), tb, ta
    a1 = min(a1, b0) if a1 > b0 else a1  # overlapping spans: cut the first one
    out = w[:a0] + [f"<e1:{ta}>"] + w[a0:a1] + ["</e1>"] + w[a1:b0]
    p2 = len(out)
    out += [f"<e2:{tb}>"] + w[b0:b1] + ["</e2>"] + w[b1:]
    return out, a0, p2


class Vocab:
    """Word ↔ id table; id 0 is padding, id 1 unknown words.

    Example:
        >>> v = Vocab.build([["a", "b", "a"]], min_freq=2)
        >>> v.words
        ['<pad>', '<unk>', 'a']
        >>> v.ids(["a", "zzz"])
        [2, 1]
    """

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(
        cls, texts: Iterable[Sequence[str]], *, min_freq: int = 1, extra: Sequence[str] = ()
    ) -> Vocab:
        """Build from token lists (normalised with :func:`normalise_word`)."""
        counts = Counter(normalise_word(w) for t in texts for w in t)
        words = [PAD, UNK, *extra]
        seen = set(words)
        for w, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
            if c >= min_freq and w not in seen:
                words.append(w)
                seen.add(w)
        return cls(words)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; marker tokens (``<e1:…>``) are looked up verbatim, words normalised."""
        get = self.index.get
        return [
            get(t, 1) if t.startswith("<") and t.endswith(">") else get(normalise_word(t), 1)
            for t in tokens
        ]

    def __len__(self) -> int:
        return len(self.words)


class RelationEncoder(nn.Module):
    """Base class: hyper-parameters at construction, layers built by :meth:`setup`.

    Subclasses define ``name`` (the registered architecture), :meth:`setup` and :meth:`forward`
    and set ``self.out_dim``. ``setup`` receives the training sentences (first time) or the saved
    metadata (loading), so a saved model needs no training data.
    """

    name = "kg_engine.RelationEncoder"

    def __init__(self, **hparams: Any) -> None:
        super().__init__()
        self.hparams = hparams
        self.out_dim = 0
        self.built = False

    def setup(self, sentences: Sequence[Sentence] | None, types: Sequence[str],
              meta: dict[str, Any] | None = None) -> None:
        """Build the layers (vocabulary from ``sentences`` or from saved ``meta``)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        """JSON-serialisable data needed to rebuild the layers (vocabulary…)."""
        return {}

    def forward(self, batch: PairBatch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def parameter_groups(self, lr: float, lr_pretrained: float) -> list[dict[str, Any]]:
        """Optimizer parameter groups (pretrained weights may get their own learning rate)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]


def _minilm_word_vectors(words: Sequence[str], model_path: str | None, dim: int = 384) -> torch.Tensor:
    """Static 384-d word vectors = mean of the word's MiniLM word-piece input embeddings.

    This is the only pretrained signal the "from scratch" encoders may use, and only when the
    config says ``pretrained_vectors = "minilm"``.
    """
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on extras
        from kg_engine.errors import MissingDependencyError

        raise MissingDependencyError("transformers", "transformer") from exc
    from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

    path = resolve_checkpoint(model_path or "minilm")
    tok = AutoTokenizer.from_pretrained(path)
    emb = AutoModel.from_pretrained(path).get_input_embeddings().weight.detach()
    out = torch.empty(len(words), emb.shape[1]).normal_(0, emb.std().item())
    for i, w in enumerate(words):
        if w.startswith("<") and w.endswith(">"):
            continue
        ids = tok(w, add_special_tokens=False)["input_ids"]
        if ids:
            out[i] = emb[ids].mean(0)
    if dim < out.shape[1]:  # PCA to `dim` dimensions
        centred = out - out.mean(0, keepdim=True)
        _u, _s, v = torch.linalg.svd(centred[1:], full_matrices=False)
        out = centred @ v[:dim].T
    out = out / out[1:].std()  # unit scale, like the N(0, 1) init of the other embeddings
    out[0] = 0.0
    return out


class PairEncoder(RelationEncoder):
    """Base of the pair-level encoders: one entity-marked, position-featured sequence per pair.

    Common hyper-parameters: ``width`` (word embedding size), ``pos_width`` (relative-position
    embedding size, 0 = off), ``max_length`` (tokens kept around the pair), ``dropout``,
    ``min_freq`` (vocabulary cut-off), ``pretrained_vectors`` (``""`` = random init,
    ``"minilm"`` = MiniLM word-piece embeddings averaged per word, ``width`` becomes 384),
    ``freeze_vectors`` (keep the word embeddings fixed during training), ``pretrained_width``
    (0 = all 384 dimensions; else PCA-reduce the pretrained vectors to that many, for small
    models).
    """

    def __init__(
        self,
        width: int = 100,
        pos_width: int = 20,
        max_length: int = 100,
        dropout: float = 0.3,
        min_freq: int = 1,
        pretrained_vectors: str = "",
        freeze_vectors: bool = False,
        pretrained_width: int = 0,
        **hparams: Any,
    ) -> None:
        super().__init__(
            width=width, pos_width=pos_width, max_length=max_length, dropout=dropout,
            min_freq=min_freq, pretrained_vectors=pretrained_vectors,
            freeze_vectors=freeze_vectors, pretrained_width=pretrained_width, **hparams,
        )
        if pretrained_vectors not in ("", "minilm"):
            raise ConfigError(
                f"pretrained_vectors must be '' or 'minilm', got {pretrained_vectors!r}"
            )
        if pretrained_vectors == "minilm":
            self.width = pretrained_width or 384
        else:
            self.width = width
        self.pos_width = pos_width
        self.max_length = max_length
        self.max_pos = max_length
        self.dropout_p = dropout
        self.vocab: Vocab | None = None

    # -- building -----------------------------------------------------------------------
    def setup(self, sentences: Sequence[Sentence] | None, types: Sequence[str],
              meta: dict[str, Any] | None = None) -> None:
        markers = [f"<e1:{t}>" for t in types] + [f"<e2:{t}>" for t in types] + ["</e1>", "</e2>"]
        if meta is not None:
            self.vocab = Vocab(meta["vocab"])
        else:
            if sentences is None:
                raise ModelError("encoder setup needs training sentences or saved metadata")
            self.vocab = Vocab.build(
                (s.words for s in sentences), min_freq=int(self.hparams["min_freq"]), extra=markers
            )
        self.embed = nn.Embedding(len(self.vocab), self.width, padding_idx=0)
        if meta is None and self.hparams["pretrained_vectors"] == "minilm":
            with torch.no_grad():
                self.embed.weight.copy_(
                    _minilm_word_vectors(self.vocab.words, self.hparams.get("checkpoint"), self.width)
                )
        self.embed.weight.requires_grad_(not self.hparams["freeze_vectors"])
        if self.pos_width:
            self.pos1 = nn.Embedding(2 * self.max_pos + 1, self.pos_width)
            self.pos2 = nn.Embedding(2 * self.max_pos + 1, self.pos_width)
        self.drop = nn.Dropout(self.dropout_p)
        self.in_dim = self.width + 2 * self.pos_width
        self.build_layers()
        self.built = True

    def build_layers(self) -> None:
        """Create the encoder-specific layers (``self.in_dim`` is the token feature size)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        assert self.vocab is not None
        return {"vocab": self.vocab.words}

    # -- featurisation ------------------------------------------------------------------
    def featurize(self, batch: PairBatch) -> dict[str, torch.Tensor]:
        """Token ids, relative positions, entity marker indices and padding mask per pair.

        Returns a dict of tensors: ``ids``/``pos1``/``pos2``/``mask`` ``[P, L]``; ``e1``/``e2``
        ``[P]`` (marker positions); ``e1_end``/``e2_end`` ``[P]`` (closing marker positions).
        """
        assert self.vocab is not None
        seqs, firsts, seconds = [], [], []
        L = self.max_length
        for si, i, j in batch.pairs:
            toks, p1, p2 = marked_sequence(batch.sentences[si], i, j)
            if len(toks) > L:  # crop a window that keeps both markers
                end_e2 = p2 + (toks[p2:].index("</e2>") if "</e2>" in toks[p2:] else 0)
                span = end_e2 - p1 + 1
                if span >= L:  # too far apart: keep a window at each entity, drop the middle
                    half = L // 2
                    right = max(p1 + half, p2 - (L - half) // 4)
                    toks = toks[p1:p1 + half] + toks[right:right + L - half]
                    p1, p2 = 0, half + (p2 - right)
                else:
                    start = max(0, min(p1 - (L - span) // 2, len(toks) - L))
                    toks = toks[start:start + L]
                    p1, p2 = p1 - start, p2 - start
            seqs.append(self.vocab.ids(toks))
            firsts.append(p1)
            seconds.append(p2)
        n, width = len(seqs), max((len(s) for s in seqs), default=1)
        ids = torch.zeros(n, width, dtype=torch.long)
        for k, s in enumerate(seqs):
            ids[k, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask = ids != 0
        pos = torch.arange(width).unsqueeze(0)
        e1 = torch.tensor(firsts, dtype=torch.long)
        e2 = torch.tensor(seconds, dtype=torch.long)
        clip = self.max_pos
        pos1 = (pos - e1.unsqueeze(1)).clamp(-clip, clip) + clip
        pos2 = (pos - e2.unsqueeze(1)).clamp(-clip, clip) + clip
        return {"ids": ids, "mask": mask, "pos1": pos1, "pos2": pos2, "e1": e1, "e2": e2}

    def token_features(self, f: dict[str, torch.Tensor]) -> torch.Tensor:
        """Word (+ position) embeddings ``[P, L, in_dim]`` after dropout."""
        x = self.embed(f["ids"])
        if self.pos_width:
            x = torch.cat([x, self.pos1(f["pos1"]), self.pos2(f["pos2"])], dim=-1)
        return self.drop(x)

    @staticmethod
    def gather(h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Pick ``h[p, idx[p]]`` for every pair ``p`` (``h`` is ``[P, L, D]``)."""
        return h[torch.arange(h.shape[0]), idx]
