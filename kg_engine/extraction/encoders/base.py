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
    "PairBatch",
    "PairEncoder",
    "RelationEncoder",
    "Sentence",
    "Vocab",
    "marked_sequence",
    "minilm_word_vectors",
    "normalise_word",
]

PAD, UNK = "<pad>", "<unk>"
_DIGITS = re.compile(r"\d")
_MAX_CHARS = 16  # longer words keep their first and last 8 characters


def _find(tokens: list[str], token: str, start: int) -> int:
    """Index of ``token`` at or after ``start`` (``start`` when absent)."""
    try:
        return tokens.index(token, start)
    except ValueError:
        return start


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


def minilm_word_vectors(words: Sequence[str], model_path: str | None, dim: int = 384) -> torch.Tensor:
    """Static 384-d word vectors = mean of the word's MiniLM word-piece input embeddings.

    This is the only pretrained signal the "from scratch" encoders may use, and only when the
    config says ``pretrained_vectors = "minilm"``. Also used by the NER tagger
    (:mod:`kg_engine.extraction.taggers.bilstm_crf`), so saved models of both depend on it.
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

    Options for models trained from scratch (all off by default, so older configs and saved
    models behave exactly as before):

    * ``word_dropout`` — during training each word id (not padding, not an entity marker) is
      replaced by the unknown-word id with this probability, so the ``<unk>`` embedding is
      trained and the model does not lean on rare words (Iyyer et al. 2015).
    * ``char_filters`` > 0 — a character CNN (``char_width``-d character embeddings, window
      ``char_window``, max-pooled over the characters of the *original-case* word; dos Santos &
      Zadrozny 2014) adds ``char_filters`` features per token: spelling, affixes and case of
      rare and unknown words.
    * ``entity_pooling`` — ``"marker"`` (default): the entity vectors of CNN / RNN / Transformer
      are the states at the opening markers; ``"span"``: the max over the states from the
      opening to the closing marker (the whole entity mention).
    * ``input_dropout`` — dropout on the token features (word, character and position); ``None``
      (default) = ``dropout``, which is also applied to the encoder output.
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
        word_dropout: float = 0.0,
        char_width: int = 0,
        char_filters: int = 0,
        char_window: int = 3,
        entity_pooling: str = "marker",
        input_dropout: float | None = None,
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
        if not 0.0 <= word_dropout < 1.0:
            raise ConfigError(f"word_dropout must be in [0, 1), got {word_dropout}")
        if input_dropout is not None and not 0.0 <= input_dropout < 1.0:
            raise ConfigError(f"input_dropout must be in [0, 1) or null, got {input_dropout}")
        if entity_pooling not in ("marker", "span"):
            raise ConfigError(f"entity_pooling must be 'marker' or 'span', got {entity_pooling!r}")
        if char_filters < 0 or (char_filters and (char_width < 1 or char_window < 1)):
            raise ConfigError(
                "char features need char_filters >= 0 and, when char_filters > 0, "
                f"char_width >= 1 and char_window >= 1 (got {char_filters}, {char_width}, {char_window})"
            )
        # stored outside ``hparams`` only when used, so ``hparams`` of old configs is unchanged
        self.word_dropout = float(word_dropout)
        self.char_width, self.char_filters = int(char_width), int(char_filters)
        self.char_window = int(char_window)
        self.entity_pooling = entity_pooling
        self.input_dropout_p = dropout if input_dropout is None else float(input_dropout)
        self.chars: Vocab | None = None
        self._char_cache: dict[str, list[int]] = {}
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
                    minilm_word_vectors(self.vocab.words, self.hparams.get("checkpoint"), self.width)
                )
        self.embed.weight.requires_grad_(not self.hparams["freeze_vectors"])
        # not a buffer: saved models keep their state_dict keys
        self._keep_ids = torch.tensor(
            [i == 0 or (w.startswith("<") and w.endswith(">")) for i, w in enumerate(self.vocab.words)]
        )
        if self.pos_width:
            self.pos1 = nn.Embedding(2 * self.max_pos + 1, self.pos_width)
            self.pos2 = nn.Embedding(2 * self.max_pos + 1, self.pos_width)
        self.drop = nn.Dropout(self.dropout_p)
        self.input_drop = nn.Dropout(self.input_dropout_p)
        self.in_dim = self.width + 2 * self.pos_width
        if self.char_filters:
            if meta is not None and "chars" in meta:
                self.chars = Vocab(meta["chars"])
            elif meta is not None:
                raise ModelError("encoder metadata lacks 'chars' but the config sets char_filters")
            else:
                assert sentences is not None
                counts = Counter(ch for s in sentences for w in s.words for ch in w)
                self.chars = Vocab([PAD, UNK, *sorted(counts)])
            self.char_embed = nn.Embedding(len(self.chars), self.char_width, padding_idx=0)
            self.char_conv = nn.Conv1d(
                self.char_width, self.char_filters, self.char_window, padding=self.char_window // 2
            )
            self.in_dim += self.char_filters
        self.build_layers()
        self.built = True

    def build_layers(self) -> None:
        """Create the encoder-specific layers (``self.in_dim`` is the token feature size)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        assert self.vocab is not None
        out: dict[str, Any] = {"vocab": self.vocab.words}
        if self.chars is not None:
            out["chars"] = self.chars.words
        return out

    # -- featurisation ------------------------------------------------------------------
    def featurize(self, batch: PairBatch) -> dict[str, torch.Tensor]:
        """Token ids, relative positions, entity marker indices and padding mask per pair.

        Returns a dict of tensors: ``ids``/``pos1``/``pos2``/``mask`` ``[P, L]``; ``e1``/``e2``
        ``[P]`` (marker positions); ``e1_end``/``e2_end`` ``[P]`` (closing marker positions, or
        the opening one when cropping cut the closing marker); with character features also
        ``char_ids`` ``[U, C]`` (the distinct tokens of the batch) and ``tok_index`` ``[P, L]``
        (row of ``char_ids`` per token).
        """
        assert self.vocab is not None
        seqs, firsts, seconds, ends1, ends2, tok_lists = [], [], [], [], [], []
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
            ends1.append(_find(toks, "</e1>", p1))
            ends2.append(_find(toks, "</e2>", p2))
            if self.chars is not None:
                tok_lists.append(toks)
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
        out = {"ids": ids, "mask": mask, "pos1": pos1, "pos2": pos2, "e1": e1, "e2": e2,
               "e1_end": torch.tensor(ends1, dtype=torch.long),
               "e2_end": torch.tensor(ends2, dtype=torch.long)}
        if self.chars is not None:
            out.update(self._char_inputs(tok_lists, width))
        return out

    def _char_inputs(self, tok_lists: list[list[str]], width: int) -> dict[str, torch.Tensor]:
        """Character ids of the batch's distinct tokens and each token's row (row 0 = padding)."""
        assert self.chars is not None
        rows: dict[str, int] = {"": 0}
        index = torch.zeros(len(tok_lists), width, dtype=torch.long)
        for k, toks in enumerate(tok_lists):
            index[k, : len(toks)] = torch.tensor([rows.setdefault(t, len(rows)) for t in toks])
        cache, get = self._char_cache, self.chars.index.get
        seqs = []
        for t in rows:
            ids = cache.get(t)
            if ids is None:
                w = t if len(t) <= _MAX_CHARS else t[: _MAX_CHARS // 2] + t[-_MAX_CHARS // 2:]
                ids = [get(ch, 1) for ch in w]
                if len(cache) < 200_000:
                    cache[t] = ids
            seqs.append(ids)
        char_ids = torch.zeros(len(seqs), max(1, max(map(len, seqs))), dtype=torch.long)
        for r, ids in enumerate(seqs):
            char_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return {"char_ids": char_ids, "tok_index": index}

    def token_features(self, f: dict[str, torch.Tensor]) -> torch.Tensor:
        """Word (+ character, + position) features ``[P, L, in_dim]`` after dropout."""
        ids = f["ids"]
        if self.training and self.word_dropout > 0:
            unk = (torch.rand(ids.shape) < self.word_dropout) & ~self._keep_ids[ids]
            ids = ids.masked_fill(unk, 1)
        parts = [self.embed(ids)]
        if self.chars is not None:
            c = self.char_embed(f["char_ids"]).transpose(1, 2)  # [U, Cw, C]
            c = self.char_conv(c)[:, :, : f["char_ids"].shape[1]]
            c = c.masked_fill((f["char_ids"] == 0).unsqueeze(1), -1e4).max(dim=2).values
            c = torch.tanh(c) * (f["char_ids"] != 0).any(dim=1, keepdim=True)  # padding row → 0
            parts.append(c[f["tok_index"]])
        if self.pos_width:
            parts += [self.pos1(f["pos1"]), self.pos2(f["pos2"])]
        x = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return self.input_drop(x)

    def entity_states(self, h: torch.Tensor, f: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The two entity vectors from states ``h`` ``[P, L, D]`` (see ``entity_pooling``)."""
        if self.entity_pooling == "marker":
            return [self.gather(h, f["e1"]), self.gather(h, f["e2"])]
        pos = torch.arange(h.shape[1]).unsqueeze(0)
        out = []
        for a, b in ((f["e1"], f["e1_end"]), (f["e2"], f["e2_end"])):
            inside = (pos >= a.unsqueeze(1)) & (pos <= b.unsqueeze(1))
            out.append(h.masked_fill(~inside.unsqueeze(-1), -1e4).max(dim=1).values)
        return out

    @staticmethod
    def gather(h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Pick ``h[p, idx[p]]`` for every pair ``p`` (``h`` is ``[P, L, D]``)."""
        return h[torch.arange(h.shape[0]), idx]
