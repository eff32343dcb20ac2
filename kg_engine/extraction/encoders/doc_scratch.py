"""From-scratch document encoder for document-level relation extraction: BiLSTM + one attention layer.

The fast CPU alternative to :class:`~kg_engine.extraction.encoders.doc_transformer.DocEncoder`
with the same interface (``prepare``, ``bottom``, ``top``, ``hidden``, ``heads``), so the ATLOP
head of :class:`~kg_engine.extraction.components.docre_model.DocREModel` runs on either. Nothing
pretrained: word embeddings are learnt from the training documents.

* **Input**: every document word is looked up in a vocabulary built from the training words
  (lower-cased, digits → ``0``, :func:`~kg_engine.extraction.encoders.base.normalise_word`);
  a word outside it gets one of ``SIGNATURES`` *signature* embeddings chosen by a hash of its last
  three letters, so unseen names still carry their suffix. A small *shape* embedding (lower,
  Title, UPPER, digits, other, marker) keeps the case the vocabulary folds away. Every entity
  mention is wrapped in **typed markers** ``<m:PER> … </m>`` (Zhou & Chen 2021, typed entity
  markers; the type of the mention's entity). In training, each word is replaced by its signature
  with probability ``word_dropout`` (so the signatures are trained).
* **Encoder**: a ``layers``-deep BiLSTM over the whole document (any length, no windows), then one
  multi-head self-attention layer with a residual connection and layer norm. Its attention
  probabilities ``A`` feed the head's localized context pooling, as a Transformer's last-layer
  attention does for MiniLM.

A token's id packs the three lookups: ``(word · SIGNATURES + signature) · SHAPES + shape``.

Shapes:
    ``bottom(ids) → [ids tensor [n]]`` (nothing frozen: the "cache" is the ids);
    ``top(windows, n) → (H [n, 2·hidden], A [heads, n, n])``.

Example:
    >>> enc = ScratchDocEncoder(ScratchDocEncoder.build_vocab([["Ada", "met", "Bob"]]), width=8,
    ...                         hidden=4, heads=2)
    >>> x = enc.prepare(["Ada", "met", "Bob", "."], [(0, 1), (2, 3)], ["PER", "PER"])
    >>> len(x.ids), x.mention_pos, x.word_pos
    (8, [0, 4], [1, 3, 5, 7])
    >>> H, A = enc(x.ids)
    >>> tuple(H.shape), tuple(A.shape)
    ((8, 8), (2, 8, 8))
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kg_engine.extraction.encoders.base import Vocab, normalise_word
from kg_engine.extraction.encoders.doc_transformer import EncodedInput

if TYPE_CHECKING:
    from kg_engine.extraction.encoders.static_vectors import StaticVectors

__all__ = ["SCRATCH_DEFAULTS", "ScratchDocEncoder"]

SIGNATURES = 64
SHAPES = 6
_LOWER, _TITLE, _UPPER, _DIGIT, _OTHER, _MARK = range(SHAPES)
CLOSE = "</m>"
#: marker types (DocRED's six; others use ``<m:?>``)
MARKER_TYPES = ("PER", "ORG", "LOC", "TIME", "NUM", "MISC", "?")
#: hyper-parameters of the encoder (``DocREModel(encoder="scratch", scratch={...})``)
SCRATCH_DEFAULTS: dict[str, Any] = {"width": 128, "hidden": 128, "layers": 1, "heads": 4,
                                    "dropout": 0.3, "word_dropout": 0.1, "static": ""}


def _shape(word: str) -> int:
    if word.isalpha():
        if word.islower():
            return _LOWER
        if word.isupper() and len(word) > 1:
            return _UPPER
        return _TITLE if word[0].isupper() else _OTHER
    if any(c.isdigit() for c in word):
        return _DIGIT
    return _OTHER


def _signature(word: str) -> int:
    return zlib.crc32(normalise_word(word)[-3:].encode("utf-8")) % SIGNATURES


class ScratchDocEncoder(nn.Module):
    """BiLSTM + self-attention document encoder learnt from scratch (see module docstring).

    Args:
        vocab: the words (``<pad>``, ``<unk>``, markers, then words; see :meth:`build_vocab`).
        width: embedding width; ``hidden``: LSTM units per direction (states are ``2·hidden``).
        layers: stacked BiLSTM layers; ``heads``: attention heads (must divide ``2·hidden``).
        dropout: on embeddings and states; ``word_dropout``: training-time signature swap.
        static: ``""`` (nothing pretrained) or a checkpoint (``"minilm"``) whose frozen
            word-piece embeddings give every word a static vector
            (:class:`~kg_engine.extraction.encoders.static_vectors.StaticVectors`), projected to
            ``width`` and added to the word's embedding.
    """

    def __init__(self, vocab: Sequence[str], width: int = 128, hidden: int = 128, layers: int = 1,
                 heads: int = 4, dropout: float = 0.3, word_dropout: float = 0.1,
                 static: str = "") -> None:
        super().__init__()
        if (2 * hidden) % heads:
            raise ValueError(f"heads ({heads}) must divide 2 * hidden ({2 * hidden})")
        self.vocab = Vocab(vocab)
        self.typed_markers = True  # prepare() writes the mentions' types into their markers
        self.hidden = 2 * hidden
        self.heads = heads
        self.word_dropout = float(word_dropout)
        self.word_embed = nn.Embedding(len(self.vocab), width, padding_idx=0)
        self.sig_embed = nn.Embedding(SIGNATURES, width)
        self.shape_embed = nn.Embedding(SHAPES, width)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(width, hidden, num_layers=layers, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.qkv = nn.Linear(self.hidden, 3 * self.hidden)
        self.att_out = nn.Linear(self.hidden, self.hidden)
        self.norm = nn.LayerNorm(self.hidden)
        self._markers = {t: self.vocab.index.get(f"<m:{t}>", 1) for t in MARKER_TYPES}
        self._close = self.vocab.index.get(CLOSE, 1)
        self.static: StaticVectors | None = None
        if static:
            from kg_engine.extraction.encoders.static_vectors import StaticVectors

            self.static = StaticVectors.shared(static)
            self.static_proj = nn.Linear(self.static.dim, width)

    @staticmethod
    def build_vocab(texts: Iterable[Sequence[str]], min_freq: int = 1) -> list[str]:
        """Vocabulary words of the training ``texts`` (markers first, then by frequency)."""
        extra = [*(f"<m:{t}>" for t in MARKER_TYPES), CLOSE]
        return Vocab.build(texts, min_freq=min_freq, extra=extra).words

    # -- input ------------------------------------------------------------------------------
    def _word(self, word: str) -> int:
        wid = self.vocab.index.get(normalise_word(word), 1)
        if self.static is not None:
            wid += self.static.row(word) * len(self.vocab)
        return (wid * SIGNATURES + _signature(word)) * SHAPES + _shape(word)

    def _marker(self, wid: int) -> int:
        return wid * SIGNATURES * SHAPES + _MARK

    def prepare(self, words: Sequence[str], mentions: Sequence[tuple[int, int]],
                types: Sequence[str] | None = None) -> EncodedInput:
        """Ids of ``words`` with ``<m:TYPE> … </m>`` around each mention ``[start, end)``.

        ``types[k]`` is mention ``k``'s (entity's) DocRED type; ``None``: all ``<m:?>``.
        """
        starts: dict[int, list[int]] = {}
        ends: dict[int, int] = {}
        for k, (a, b) in enumerate(mentions):
            starts.setdefault(a, []).append(k)
            ends[b] = ends.get(b, 0) + 1
        ids: list[int] = []
        mention_pos = [0] * len(mentions)
        word_pos: list[int] = []
        close = self._marker(self._close)
        for t in range(len(words) + 1):
            ids.extend([close] * ends.get(t, 0))
            if t == len(words):
                break
            for k in starts.get(t, ()):
                mention_pos[k] = len(ids)
                ty = types[k] if types is not None else "?"
                ids.append(self._marker(self._markers.get(ty, self._markers["?"])))
            word_pos.append(len(ids))
            ids.append(self._word(words[t]))
        return EncodedInput(ids, mention_pos, word_pos)

    # -- encoding ---------------------------------------------------------------------------
    def bottom(self, ids: Sequence[int]) -> list[torch.Tensor]:
        """The ids themselves, and with ``static`` their frozen vectors ``[n, dim]``."""
        x = torch.tensor(list(ids), dtype=torch.long)
        if self.static is None:
            return [x]
        return [x, self.static.vectors(x // (SHAPES * SIGNATURES * len(self.vocab)))]

    def top(self, windows: Sequence[torch.Tensor], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(H [n, 2·hidden], A [heads, n, n])`` of the document ids in ``windows[0]``."""
        if len(windows) != 1 + (self.static is not None) or windows[0].shape[0] != n:
            raise ValueError(f"expected the ids of {n} tokens (and their static vectors)")
        x = windows[0]
        shape = x % SHAPES
        sig = (x // SHAPES) % SIGNATURES
        word = (x // (SHAPES * SIGNATURES)) % len(self.vocab)
        known = (word != 1) & (shape != _MARK)
        if self.training and self.word_dropout > 0:
            known = known & (torch.rand(n) >= self.word_dropout)
        emb = torch.where(known.unsqueeze(1), self.word_embed(word), self.sig_embed(sig))
        emb = torch.where((shape == _MARK).unsqueeze(1), self.word_embed(word), emb)
        if self.static is not None:
            emb = emb + self.static_proj(windows[1].float())
        h, _ = self.lstm(self.drop(emb + self.shape_embed(shape)).unsqueeze(1))
        h = self.drop(h.squeeze(1))
        d = self.hidden // self.heads
        q, k, v = (z.view(n, self.heads, d).transpose(0, 1) for z in self.qkv(h).chunk(3, -1))
        A = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1)      # [heads, n, n]
        ctx = (A @ v).transpose(0, 1).reshape(n, self.hidden)
        return self.norm(h + self.drop(self.att_out(ctx))), A

    def forward(self, ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.top(self.bottom(ids), len(ids))
