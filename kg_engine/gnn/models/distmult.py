"""DistMult: diagonal bilinear embeddings, trained 1-vs-all with reciprocal relations.

Paper: Yang et al., "Embedding Entities and Relations for Learning and Inference in
Knowledge Bases", ICLR 2015, https://arxiv.org/abs/1412.6575 ; training recipe as in
Lacroix et al. 2018 (https://arxiv.org/abs/1806.07297) and Ruffinelli et al. ICLR 2020.

Score: ``f(h, r, t) = sum_k e_h[k] * w_r[k] * e_t[k]``; all tails at once as
``(e_h * w_r) @ E^T``. DistMult is symmetric in ``h`` and ``t``; reciprocal relations
``w_{r+R}`` let head and tail queries differ. Penalty N3 ``sum |x|^3 / B`` or L2.

Shapes:
    entity embeddings ``[N, d]``, relation embeddings ``[2R, d]``;
    ``forward(graph, h [B], r [B]) -> [B, N]`` (``graph`` unused).

Example:
    >>> import torch
    >>> m = DistMult(num_entities=5, num_relations=2, dim=4)
    >>> m(None, torch.tensor([0, 1]), torch.tensor([0, 3])).shape
    torch.Size([2, 5])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kg_engine.gnn.models.base import KGCModel, regularization_penalty

__all__ = ["DistMult"]


class DistMult(KGCModel):
    """DistMult with reciprocal relations.

    Args:
        num_entities: ``N``.
        num_relations: ``R`` base relations.
        dim: embedding dimension ``d``.
        init_scale: embeddings start as ``init_scale * N(0, 1)``.
        regularization: ``"n3"``, ``"l2"`` or ``"none"``.
        reg_weight: weight of the penalty.
        dropout: dropout on the query vector.
        label_smoothing: of the cross-entropy loss.
    """

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        dim: int = 200,
        init_scale: float = 1e-3,
        regularization: str = "n3",
        reg_weight: float = 0.0,
        dropout: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(num_entities, num_relations, label_smoothing=label_smoothing)
        self.dim = int(dim)
        self.regularization = regularization
        self.reg_weight = float(reg_weight)
        self.entity = nn.Embedding(num_entities, dim)
        self.relation = nn.Embedding(2 * num_relations, dim)
        with torch.no_grad():
            self.entity.weight.normal_(0.0, init_scale)
            self.relation.weight.normal_(0.0, init_scale)
        self.dropout = nn.Dropout(dropout)

    def encode(self, graph: Any) -> tuple[Tensor, Tensor]:
        return self.entity.weight, self.relation.weight

    def decode(self, ent: Tensor, rel: Tensor, h: Tensor, r: Tensor) -> Tensor:
        return self.dropout(ent[h] * rel[r]) @ ent.t()

    def regularizer(self, batch: Tensor) -> Tensor:
        if self.reg_weight == 0.0 or self.regularization in (None, "none"):
            return torch.zeros((), device=batch.device)
        factors = [self.entity(batch[:, 0]), self.relation(batch[:, 1]), self.entity(batch[:, 2])]
        return self.reg_weight * regularization_penalty(self.regularization, factors)
