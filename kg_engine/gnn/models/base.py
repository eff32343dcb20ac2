"""The model protocol every link-prediction model in kg-engine follows.

A model answers a batch of queries ``(h, r)`` with one logit per candidate tail:
``model(graph, h, r) -> [B, N]``. Head prediction uses the inverse relation ``r + R``, so
every model sizes its relation parameters for ``2R`` relation types.

Two families share the class:

* **encoder/decoder** models (ComplEx, DistMult, R-GCN, CompGCN) implement
  :meth:`KGCModel.encode` (graph -> entity and relation representations; for plain
  embeddings the parameters themselves) and :meth:`KGCModel.decode` (representations +
  queries -> logits). :meth:`KGCModel.scorer` encodes once and decodes per batch, which is
  what makes evaluating an R-GCN cheap.
* **query-conditioned** models (NBFNet) override :meth:`forward` (and :meth:`loss`) and
  leave ``encode`` alone; ``scorer`` then calls ``forward`` per batch.

The trainer only calls :meth:`loss` (training) and :meth:`scorer` (validation under
``torch.no_grad()``).

Shapes:
    ``h``, ``r``: ``LongTensor [B]``, ``0 <= r < 2R``; logits ``[B, N]``;
    training ``batch``: ``LongTensor [B, 3]`` rows ``(h, r, t)`` with ``r in [0, 2R)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KGCModel", "regularization_penalty"]


def regularization_penalty(kind: str | None, factors: list[Tensor], complex_split: bool = False) -> Tensor:
    """N3 (Lacroix et al. 2018) or squared-L2 penalty of the factors used in a batch.

    Args:
        kind: ``"n3"``, ``"l2"`` or ``None``/``"none"``.
        factors: ``[B, D]`` embeddings gathered for the batch.
        complex_split: the last dimension holds ``[re, im]`` halves; N3 then uses the modulus.

    Returns:
        Scalar: ``sum_f sum |f|^3 / B`` (N3) or ``sum_f sum f^2 / B`` (L2).

    Raises:
        ValueError: unknown ``kind``.
    """
    if kind is None or kind == "none":
        return factors[0].new_zeros(())
    batch = max(factors[0].shape[0], 1)
    total = factors[0].new_zeros((), dtype=torch.float32)
    for f in factors:
        f = f.float()
        if kind == "n3":
            if complex_split:
                re, im = f.chunk(2, dim=-1)
                total = total + torch.sqrt(re**2 + im**2 + 1e-12).pow(3).sum()
            else:
                total = total + f.abs().pow(3).sum()
        elif kind == "l2":
            total = total + f.pow(2).sum()
        else:
            raise ValueError(f"unknown regularization {kind!r}; expected 'n3', 'l2' or 'none'")
    return total / batch


class KGCModel(nn.Module):
    """Base class: a link-prediction model scoring all tails of ``(h, r)`` queries.

    Args:
        num_entities: ``N``.
        num_relations: ``R`` base relations (the model handles ``2R`` relation types).
        label_smoothing: label smoothing of the default 1-vs-all cross-entropy loss.
    """

    def __init__(self, num_entities: int, num_relations: int, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.num_entities = int(num_entities)
        self.num_relations = int(num_relations)
        self.label_smoothing = float(label_smoothing)

    # -------------------------------------------------------- encoder / decoder
    def encode(self, graph: Any) -> tuple[Tensor, Tensor]:
        """Entity ``[N, D]`` and relation ``[2R, D_r]`` representations for ``graph``."""
        raise NotImplementedError

    def decode(self, ent: Tensor, rel: Tensor, h: Tensor, r: Tensor) -> Tensor:
        """Logits ``[B, N]`` for queries ``(h, r)`` given the representations."""
        raise NotImplementedError

    def forward(self, graph: Any, h: Tensor, r: Tensor) -> Tensor:
        """Logits ``[B, N]`` of every tail for the queries ``(h[i], r[i], ?)``."""
        ent, rel = self.encode(graph)
        return self.decode(ent, rel, h, r)

    def _encodes(self) -> bool:
        return type(self).encode is not KGCModel.encode

    def scorer(self, graph: Any) -> Callable[[Tensor, Tensor], Tensor]:
        """A ``scorer(h, r) -> [B, N]`` for evaluation (encodes the graph once).

        Call under ``torch.no_grad()`` and with the model in ``eval()`` mode.
        """
        if self._encodes():
            ent, rel = self.encode(graph)
            return lambda h, r: self.decode(ent, rel, h, r)
        return lambda h, r: self(graph, h, r)

    # -------------------------------------------------------- training
    def regularizer(self, batch: Tensor) -> Tensor:
        """Penalty added to the loss for a training batch (default: none)."""
        return torch.zeros((), device=batch.device)

    def loss(self, graph: Any, batch: Tensor, filt: Any = None) -> Tensor:
        """Training loss of a batch: 1-vs-all softmax cross-entropy + :meth:`regularizer`.

        Args:
            graph: the message-passing graph (PyG ``Data``) on the model's device.
            batch: ``LongTensor [B, 3]`` of ``(h, r, t)`` with ``r in [0, 2R)``.
            filt: the :class:`~kg_engine.gnn.evaluation.KnownFilter` of the training
                triples (models with negative sampling use it; unused here).

        Returns:
            Scalar loss.
        """
        logits = self(graph, batch[:, 0], batch[:, 1])
        loss = F.cross_entropy(logits.float(), batch[:, 2], label_smoothing=self.label_smoothing)
        return loss + self.regularizer(batch)
