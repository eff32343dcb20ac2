"""CompGCN: composition-based multi-relational GCN + DistMult decoder.

Paper: Vashishth et al., "Composition-based Multi-Relational Graph Convolutional
Networks", ICLR 2020, https://arxiv.org/abs/1911.03082 .

Layer (``phi`` the composition operator, ``lambda(r)`` the edge direction: original,
inverse or self-loop, each with its own weight)::

    h_v' = f( 1/3 * [ sum_{(u,r) in N_O(v)} a_uv W_O phi(h_u, z_r)
                    + sum_{(u,r) in N_I(v)} a_uv W_I phi(h_u, z_r)
                    + W_S phi(h_v, z_loop) ] )
    z_r' = W_rel z_r
    phi:  sub  h - z          mult  h * z          corr  h ⋆ z = IFFT(conj(FFT(h)) * FFT(z))

with symmetric degree normalisation ``a_uv = 1/sqrt(deg(u) deg(v))`` inside each direction.
Decoder: DistMult on the final entity and relation representations (the paper's best
FB15k-237 result uses ConvE; DistMult keeps the decoder the same as R-GCN's), trained
1-vs-all with cross-entropy over all entities.

Shapes:
    entity embeddings ``[N, d]``; relation embeddings ``[2R, d]`` (forward ``r < R``,
    inverse ``r >= R``); per-edge messages ``[E, d]`` (memory ``O(E d)`` per layer);
    ``encode(graph) -> ([N, d], [2R, d])``; ``forward(graph, h [B], r [B]) -> [B, N]``.

Example:
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> g = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_type=torch.tensor([0, 1]),
    ...          num_nodes=3)
    >>> m = CompGCN(num_entities=3, num_relations=1, dim=8, opn="corr")
    >>> m(g, torch.tensor([0]), torch.tensor([1])).shape
    torch.Size([1, 3])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from kg_engine.gnn.models.base import KGCModel

__all__ = ["CompGCN", "CompGCNLayer", "compose"]

OPS = ("sub", "mult", "corr")


def compose(h: Tensor, z: Tensor, opn: str) -> Tensor:
    """The composition ``phi(h, z)``: ``"sub"``, ``"mult"`` or ``"corr"`` (circular correlation).

    Example:
        >>> compose(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0., 0.]]), "corr")
        tensor([[1., 3., 2.]])
    """
    if opn == "sub":
        return h - z
    if opn == "mult":
        return h * z
    if opn == "corr":
        d = h.shape[-1]
        with torch.autocast(device_type=h.device.type, enabled=False):
            fh = torch.fft.rfft(h.float(), dim=-1)
            fz = torch.fft.rfft(z.float(), dim=-1)
            return torch.fft.irfft(torch.conj(fh) * fz, n=d, dim=-1)
    raise ValueError(f"unknown composition {opn!r}; expected one of {', '.join(OPS)}")


def _sym_norm(src: Tensor, dst: Tensor, num_nodes: int) -> Tensor:
    deg = torch.bincount(dst, minlength=num_nodes).to(torch.float32)
    inv = deg.pow(-0.5)
    inv[torch.isinf(inv)] = 0.0
    return inv[src] * inv[dst]


class CompGCNLayer(nn.Module):
    """One CompGCN layer (see the module docstring).

    Args:
        in_dim: input size.
        out_dim: output size.
        num_relations: ``R`` base relations (edge types ``< R`` are original direction).
        opn: composition operator.
        dropout: dropout on the aggregated messages.
    """

    def __init__(self, in_dim: int, out_dim: int, num_relations: int, opn: str = "mult", dropout: float = 0.1) -> None:
        super().__init__()
        if opn not in OPS:
            raise ValueError(f"unknown composition {opn!r}; expected one of {', '.join(OPS)}")
        self.num_relations = num_relations
        self.opn = opn
        self.w_out = nn.Linear(in_dim, out_dim, bias=False)
        self.w_in = nn.Linear(in_dim, out_dim, bias=False)
        self.w_loop = nn.Linear(in_dim, out_dim, bias=False)
        self.w_rel = nn.Linear(in_dim, out_dim, bias=False)
        self.loop_rel = nn.Parameter(torch.empty(1, in_dim))
        nn.init.xavier_normal_(self.loop_rel)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.norm = nn.BatchNorm1d(out_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, rel: Tensor, edge_index: Tensor, edge_type: Tensor) -> tuple[Tensor, Tensor]:
        """``x [N, in]``, ``rel [2R, in]`` -> ``([N, out], [2R, out])``."""
        n = x.shape[0]
        out = x.new_zeros((n, self.w_out.out_features), dtype=torch.float32)
        src, dst = edge_index
        for forward, weight in ((True, self.w_out), (False, self.w_in)):
            mask = edge_type < self.num_relations if forward else edge_type >= self.num_relations
            s, d, et = src[mask], dst[mask], edge_type[mask]
            if s.numel() == 0:
                continue
            msg = weight(compose(x[s], rel[et], self.opn))
            msg = msg * _sym_norm(s, d, n).unsqueeze(1).to(msg.dtype)
            out = out.index_add(0, d, self.dropout(msg).float())
        loop = self.w_loop(compose(x, self.loop_rel, self.opn))
        h = (out + loop.float()) / 3.0 + self.bias
        h = self.norm(h)
        return torch.tanh(h), self.w_rel(rel)


class CompGCN(KGCModel):
    """CompGCN encoder with a DistMult decoder.

    Args:
        num_entities: ``N``.
        num_relations: ``R`` base relations.
        dim: embedding and hidden size.
        num_layers: number of CompGCN layers.
        opn: composition: ``"sub"``, ``"mult"`` or ``"corr"``.
        dropout: dropout inside the layers.
        hidden_dropout: dropout on the final entity representations.
        label_smoothing: of the cross-entropy loss.
    """

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        dim: int = 100,
        num_layers: int = 1,
        opn: str = "mult",
        dropout: float = 0.1,
        hidden_dropout: float = 0.1,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(num_entities, num_relations, label_smoothing=label_smoothing)
        if opn not in OPS:
            raise ValueError(f"unknown composition {opn!r}; expected one of {', '.join(OPS)}")
        self.entity = nn.Embedding(num_entities, dim)
        self.relation = nn.Embedding(2 * num_relations, dim)
        nn.init.xavier_normal_(self.entity.weight)
        nn.init.xavier_normal_(self.relation.weight)
        self.layers = nn.ModuleList(
            CompGCNLayer(dim, dim, num_relations, opn=opn, dropout=dropout) for _ in range(num_layers)
        )
        self.hidden_dropout = nn.Dropout(hidden_dropout)

    def encode(self, graph: Any) -> tuple[Tensor, Tensor]:
        x, rel = self.entity.weight, self.relation.weight
        for layer in self.layers:
            x, rel = layer(x, rel, graph.edge_index, graph.edge_type)
        return self.hidden_dropout(x), rel

    def decode(self, ent: Tensor, rel: Tensor, h: Tensor, r: Tensor) -> Tensor:
        return (ent[h] * rel[r]) @ ent.t()
