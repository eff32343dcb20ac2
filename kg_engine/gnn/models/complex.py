"""ComplEx: complex-valued bilinear embeddings, trained 1-vs-all with reciprocal relations.

Paper: Trouillon et al., "Complex Embeddings for Simple Link Prediction", ICML 2016,
https://arxiv.org/abs/1606.06357 ; training recipe (1-vs-all cross-entropy, reciprocal
relations, N3 regularisation): Lacroix et al., "Canonical Tensor Decomposition for
Knowledge Base Completion", ICML 2018, https://arxiv.org/abs/1806.07297 .

Score of a triple, with ``e_h, w_r, e_t in C^d``::

    f(h, r, t) = Re( sum_k e_h[k] * w_r[k] * conj(e_t[k]) )
               = <Re(e_h w_r), Re(e_t)> + <Im(e_h w_r), Im(e_t)>

so all ``N`` tails of a query are one ``[B, 2d] x [2d, N]`` matrix product. Head queries
use a separate reciprocal relation ``w_{r+R}``. N3 penalty:
``lambda * sum_{x in {h, r, t}} |x|^3 / B`` (``|.|`` the complex modulus).

Shapes:
    entity embeddings ``[N, 2d]`` (real halves then imaginary halves), relation
    embeddings ``[2R, 2d]``; ``forward(graph, h [B], r [B]) -> [B, N]`` (``graph`` unused).

Example:
    >>> import torch
    >>> m = ComplEx(num_entities=5, num_relations=2, dim=4)
    >>> m(None, torch.tensor([0, 1]), torch.tensor([0, 3])).shape
    torch.Size([2, 5])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kg_engine.gnn.models.base import KGCModel, regularization_penalty

__all__ = ["ComplEx"]


class ComplEx(KGCModel):
    """ComplEx with reciprocal relations.

    Args:
        num_entities: ``N``.
        num_relations: ``R`` base relations (``2R`` embeddings are created).
        dim: complex dimension ``d`` (each embedding holds ``2d`` reals).
        init_scale: embeddings start as ``init_scale * N(0, 1)``.
        regularization: ``"n3"``, ``"l2"`` or ``"none"``.
        reg_weight: weight ``lambda`` of the penalty.
        dropout: dropout on the query vector ``e_h * w_r``.
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
        self.entity = nn.Embedding(num_entities, 2 * dim)
        self.relation = nn.Embedding(2 * num_relations, 2 * dim)
        with torch.no_grad():
            self.entity.weight.normal_(0.0, init_scale)
            self.relation.weight.normal_(0.0, init_scale)
        self.dropout = nn.Dropout(dropout)

    def encode(self, graph: Any) -> tuple[Tensor, Tensor]:
        return self.entity.weight, self.relation.weight

    def decode(self, ent: Tensor, rel: Tensor, h: Tensor, r: Tensor) -> Tensor:
        h_re, h_im = ent[h].chunk(2, dim=-1)
        r_re, r_im = rel[r].chunk(2, dim=-1)
        q = torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], dim=-1)
        return self.dropout(q) @ ent.t()

    def regularizer(self, batch: Tensor) -> Tensor:
        if self.reg_weight == 0.0 or self.regularization in (None, "none"):
            return torch.zeros((), device=batch.device)
        factors = [self.entity(batch[:, 0]), self.relation(batch[:, 1]), self.entity(batch[:, 2])]
        return self.reg_weight * regularization_penalty(self.regularization, factors, complex_split=True)
