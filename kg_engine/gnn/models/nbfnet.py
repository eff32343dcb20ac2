"""NBFNet: a path GNN for knowledge-graph completion (generalized Bellman-Ford).

Paper: Zhu, Zhang, Xhonneux, Tang, "Neural Bellman-Ford Networks: A General Graph Neural
Network Framework for Link Prediction", NeurIPS 2021, https://arxiv.org/abs/2106.06935

For a query ``(h, q, ?)`` the model computes a representation of the *pair* ``(h, x)`` for every
node ``x`` at once, by a learned Bellman-Ford iteration over the typed edges::

    h^0(x)   = q_vec                       if x == h else 0        (boundary condition)
    w_t(r)   = W_t q_vec + b_t  reshaped to one d-vector per relation r     (query-dependent)
    m_t(x)   = AGG( { w_e * h^{t-1}(z) (*) w_t(r) : (z, r, x) in E }  U  { h^0(x) } )
    h^t(x)   = h^{t-1}(x) + ReLU(LayerNorm(Linear([h^{t-1}(x) ; m_t(x)])))    t = 1..T
    score(x) = MLP([h^T(x) ; q_vec])

``(*)`` is the DistMult product (element-wise), ``w_e`` a per-edge weight (1.0 by default; its
gradient is the edge's importance for :mod:`kg_engine.gnn.explain`), and ``AGG`` is PNA
(mean, max, min, std, each scaled by identity / log-degree / inverse log-degree), sum or mean.
With ``T`` layers the scores sum over every relational path of length ``<= T`` from ``h``; no
parameter belongs to an entity, so the same weights answer queries about entities that were
added to the graph after training (inductive use, :mod:`kg_engine.gnn.inductive`).

Graph convention (shared with :mod:`kg_engine.gnn.data`): ``edge_type`` values lie in
``[0, 2R)``, the inverse of relation ``r`` is ``(r + R) % 2R``, and every triple is present in
both directions. Head queries ``(?, r, t)`` are asked as tail queries ``(t, r + R, ?)``.

Shapes:
    - **input:** ``edge_index`` ``[2, E]``, ``edge_type`` ``[E]``, ``h_index`` ``[B]``,
      ``r_index`` ``[B]``, optional ``edge_weight`` ``[E]``
    - **node states:** ``[N, B, d]`` inside the layers (PyG ``MessagePassing`` with ``node_dim=0``)
    - **messages:** ``[E, B, d]`` per layer (the memory bottleneck, see below)
    - **output:** logits ``[B, N]`` (one score per candidate tail)

Training (:meth:`NBFNet.loss`, called by :func:`kg_engine.gnn.training.train`): every query's own edge (and its inverse) is hidden
from the graph for the batch (optionally every edge between ``h`` and ``t``:
``remove_one_hop``); the loss is binary cross-entropy with self-adversarial negative sampling
(Sun et al. 2019) over negatives sampled with *strict* filtering (known true tails are never
negatives).

Device: the module is device-agnostic; on CUDA the layers run under bf16 autocast with bf16
node states and messages and float32 accumulation of sums (``bf16=True``), on CPU in float32. What a fused generalized-SpMM (NBFNet-PyG's ``rspmm`` or a
Triton kernel) would change: the plain PyG path materialises ``[E, B, d]`` message tensors
(gather, relation product, edge weight) and then scatters them, so memory and time are
``O(B E d)`` per layer and dominated by memory traffic. A fused kernel walks the CSR graph and
accumulates ``sum/max/min/sum-of-squares`` of ``h[src] * w[type] * w_e`` directly into the
``[N, B, d]`` output, giving ``O(B N d)`` memory and several times the speed; the maths (and
this module's parameters and checkpoints) stay the same, only
``GeneralizedRelationalConv.propagate`` would dispatch to the kernel.

Example:
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> g = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
    ...          edge_type=torch.tensor([0, 1, 0, 1]), num_nodes=3)
    >>> model = NBFNet(num_entities=3, num_relations=1, hidden_dim=8, num_layers=2)
    >>> model(g, torch.tensor([0]), torch.tensor([0])).shape
    torch.Size([1, 3])
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from kg_engine.gnn.models.base import KGCModel

__all__ = ["GeneralizedRelationalConv", "NBFNet", "triple_keys"]

_AGGREGATES = ("pna", "sum", "mean", "max")


def triple_keys(
    src: Tensor, rel: Tensor, dst: Tensor, num_nodes: int, num_relations: int
) -> Tensor:
    """Unique int64 key per (src, rel, dst) triple, for vectorised set membership."""
    return (src * num_relations + rel) * num_nodes + dst


class GeneralizedRelationalConv(MessagePassing):
    """One generalized Bellman-Ford step with query-dependent relation vectors.

    Args:
        input_dim: size ``d_in`` of the incoming node states.
        output_dim: size ``d_out`` of the outgoing node states.
        num_relations: number of edge types ``2R`` (inverses included).
        query_input_dim: size of the query vector the relation vectors are projected from.
        aggregate_func: ``"pna"`` (default), ``"sum"``, ``"mean"`` or ``"max"``.
        layer_norm: apply LayerNorm after the update's linear map.
        dependent: project relation vectors from the query (``True``) or learn one vector per
            relation (``False``).

    Node states are laid out ``[N, B, d]`` (PyG ``node_dim=0``) so that gathering source
    states and scattering messages move contiguous ``B x d`` rows (``index_select`` /
    ``index_add``), about twice as fast on CPU as the ``[B, N, d]`` layout.

    Shapes:
        - **input:** ``x`` ``[N, B, d_in]``, ``query`` ``[B, d_q]``, ``boundary`` ``[N, B, d_in]``,
          ``edge_index`` ``[2, E]``, ``edge_type`` ``[E]``, ``edge_weight`` ``[E]`` or ``None``,
          ``degree`` ``[N]``
        - **output:** ``[N, B, d_out]``
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        num_relations: int,
        query_input_dim: int,
        aggregate_func: str = "pna",
        layer_norm: bool = True,
        dependent: bool = True,
    ) -> None:
        super().__init__(aggr="sum", node_dim=0)
        if aggregate_func not in _AGGREGATES:
            raise ValueError(
                f"unknown aggregate_func {aggregate_func!r}; choose one of {list(_AGGREGATES)}"
            )
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.num_relations = num_relations
        self.aggregate_func = aggregate_func
        self.dependent = dependent
        n_agg = 12 if aggregate_func == "pna" else 1
        self.linear = nn.Linear(input_dim * (n_agg + 1), output_dim)
        self.layer_norm = nn.LayerNorm(output_dim) if layer_norm else None
        if dependent:
            self.relation_linear = nn.Linear(query_input_dim, num_relations * input_dim)
        else:
            self.relation = nn.Embedding(num_relations, input_dim)

    def forward(
        self,
        x: Tensor,
        query: Tensor,
        boundary: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        edge_weight: Tensor | None,
        degree: Tensor,
        scale_mean: float,
    ) -> Tensor:
        num_nodes, batch_size = x.shape[0], x.shape[1]
        if self.dependent:
            relation = self.relation_linear(query).view(batch_size, self.num_relations, -1)
            relation = relation.transpose(0, 1).contiguous()  # [2R, B, d]
        else:
            relation = self.relation.weight.unsqueeze(1).expand(-1, batch_size, -1).contiguous()
        agg = self.propagate(
            edge_index,
            x=x,
            relation=relation,
            boundary=boundary,
            edge_type=edge_type,
            edge_weight=edge_weight,
            degree=degree,
            scale_mean=scale_mean,
            size=(num_nodes, num_nodes),
        )
        out = self.linear(torch.cat([x, agg.to(x.dtype)], dim=-1))
        if self.layer_norm is not None:
            out = self.layer_norm(out)
        return F.relu(out)

    def message(  # type: ignore[override]
        self, x_j: Tensor, relation: Tensor, edge_type: Tensor, edge_weight: Tensor | None
    ) -> Tensor:
        # x_j: [E, B, d]; relation[edge_type]: [E, B, d]; edge_weight: [E]
        msg = x_j * relation.index_select(0, edge_type).to(x_j.dtype)
        if edge_weight is not None:
            msg = msg * edge_weight.to(msg.dtype).view(-1, 1, 1)
        return msg

    def aggregate(  # type: ignore[override]
        self,
        inputs: Tensor,
        index: Tensor,
        boundary: Tensor,
        degree: Tensor,
        scale_mean: float,
        dim_size: int | None = None,
    ) -> Tensor:
        # sums accumulate in float32 even when messages are bf16 (CUDA autocast)
        acc = torch.float32 if inputs.dtype in (torch.bfloat16, torch.float16) else inputs.dtype
        # the boundary condition h^0 enters every aggregation as a self-loop message
        total = boundary.to(acc).index_add(0, index, inputs.to(acc))
        if self.aggregate_func == "sum":
            return total
        boundary = boundary.to(inputs.dtype)
        count = degree.view(-1, 1, 1).to(
            total.dtype
        )  # in-degree + 1 (boundary self-loop), weighted
        mean = total / count.clamp(min=1e-6)
        if self.aggregate_func == "mean":
            return mean
        mean = mean.to(inputs.dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="index_reduce", category=UserWarning)
            mx = boundary.index_reduce(0, index, inputs, "amax", include_self=True)
            if self.aggregate_func == "max":
                return mx
            mn = boundary.index_reduce(0, index, inputs, "amin", include_self=True)
        sq = (boundary.float() ** 2).index_add(0, index, inputs.float() ** 2)
        std = (sq / count.float().clamp(min=1e-6) - mean.float() ** 2).clamp(min=1e-6).sqrt()
        feats = torch.cat([mean, mx, mn, std.to(mean.dtype)], dim=-1)  # [N, B, 4d]
        scale = degree.log().view(-1, 1, 1) / scale_mean
        scales = torch.cat([torch.ones_like(scale), scale, 1.0 / scale.clamp(min=1e-2)], dim=-1)
        return (feats.unsqueeze(-1) * scales.unsqueeze(-2).to(feats.dtype)).flatten(
            -2
        )  # [N, B, 12d]


class NBFNet(KGCModel):
    """Neural Bellman-Ford Network (Zhu et al., NeurIPS 2021), DistMult messages.

    Args:
        num_entities: ``N`` (only recorded: no parameter depends on it, so the model also
            runs on graphs with more or other entities — inductive use).
        num_relations: ``R`` base relations (the model handles ``2R`` edge types).
        hidden_dim: state size ``d`` of every layer.
        num_layers: number of Bellman-Ford steps ``T`` (longest path length seen).
        aggregate_func: ``"pna"``, ``"sum"``, ``"mean"`` or ``"max"``.
        layer_norm: LayerNorm in every layer.
        short_cut: residual connection around every layer.
        dependent: relation vectors projected from the query relation per layer.
        remove_one_hop: during training hide *every* edge between a query's head and tail, not
            only the query triple (NBFNet's FB15k-237 setting; harmful on tiny dense graphs).
        num_negative: negatives per query for training; ``None`` or ``0`` uses every filtered
            non-answer (cheap on small graphs).
        adversarial_temperature: temperature of the self-adversarial weights (``0`` = uniform).
        bf16: run the layers under bf16 autocast on CUDA (ignored on CPU).

    Shapes:
        - **input:** graph with ``edge_index`` ``[2, E]`` and ``edge_type`` ``[E]``;
          ``h_index`` ``[B]``, ``r_index`` ``[B]``; optional ``edge_weight`` ``[E]``
        - **output:** ``[B, N]`` logits, one per candidate tail
    """

    def __init__(
        self,
        num_entities: int,
        num_relations: int,
        hidden_dim: int = 32,
        num_layers: int = 6,
        aggregate_func: str = "pna",
        layer_norm: bool = True,
        short_cut: bool = True,
        dependent: bool = True,
        remove_one_hop: bool = False,
        num_negative: int | None = 32,
        adversarial_temperature: float = 0.5,
        bf16: bool = True,
    ) -> None:
        super().__init__(num_entities, num_relations)
        self.config: dict[str, Any] = {
            "num_entities": num_entities,
            "num_relations": num_relations,
            "hidden_dim": hidden_dim,
            "num_layers": num_layers,
            "aggregate_func": aggregate_func,
            "layer_norm": layer_norm,
            "short_cut": short_cut,
            "dependent": dependent,
            "remove_one_hop": remove_one_hop,
            "num_negative": num_negative,
            "adversarial_temperature": adversarial_temperature,
            "bf16": bf16,
        }
        self.num_edge_types = 2 * num_relations
        self.hidden_dim = hidden_dim
        self.short_cut = short_cut
        self.remove_one_hop = remove_one_hop
        self.num_negative = num_negative or 0
        self.adversarial_temperature = adversarial_temperature
        self.bf16 = bf16
        self.query = nn.Embedding(self.num_edge_types, hidden_dim)
        self.layers = nn.ModuleList(
            GeneralizedRelationalConv(
                hidden_dim,
                hidden_dim,
                self.num_edge_types,
                hidden_dim,
                aggregate_func,
                layer_norm,
                dependent,
            )
            for _ in range(num_layers)
        )
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden_dim, 2 * hidden_dim), nn.ReLU(), nn.Linear(2 * hidden_dim, 1)
        )

    # ------------------------------------------------------------------ inference
    def forward(
        self,
        data: Any,
        h_index: Tensor,
        r_index: Tensor,
        edge_weight: Tensor | None = None,
        *,
        edge_index: Tensor | None = None,
        edge_type: Tensor | None = None,
    ) -> Tensor:
        """Score every node as the tail of each query ``(h_index[b], r_index[b], ?)``.

        Args:
            data: graph with ``edge_index``, ``edge_type`` and ``num_nodes``.
            h_index: query heads ``[B]``.
            r_index: query relations ``[B]`` (inverse relation ids ask head queries).
            edge_weight: per-edge weights ``[E]`` (default all 1.0); pass a tensor with
                ``requires_grad`` to read edge importance from its gradient.
            edge_index: override ``data.edge_index`` (e.g. with training edges hidden).
            edge_type: override ``data.edge_type`` (same length as ``edge_index``).

        Returns:
            Logits ``[B, N]`` (float32).
        """
        edge_index = data.edge_index if edge_index is None else edge_index
        edge_type = data.edge_type if edge_type is None else edge_type
        num_nodes = int(data.num_nodes)
        device = self.query.weight.device
        edge_index, edge_type = edge_index.to(device), edge_type.to(device)
        h_index, r_index = h_index.to(device), r_index.to(device)
        if r_index.numel() and int(r_index.max()) >= self.num_edge_types:
            raise ValueError(
                f"relation id {int(r_index.max())} out of range for a model with "
                f"{self.num_relations} relations ({self.num_edge_types} with inverses)"
            )
        use_bf16 = self.bf16 and device.type == "cuda"
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else nullcontext()
        with ctx:
            batch_size = h_index.shape[0]
            query = self.query(r_index)  # [B, d]
            boundary = torch.zeros(
                num_nodes, batch_size, self.hidden_dim, device=device, dtype=query.dtype
            )
            boundary = boundary.index_put((h_index, torch.arange(batch_size, device=device)), query)
            if use_bf16:
                boundary = boundary.to(torch.bfloat16)  # bf16 node states and messages
            ones = (
                torch.ones(edge_index.shape[1], device=device)
                if edge_weight is None
                else edge_weight
            )
            degree = torch.ones(num_nodes, device=device).index_add(0, edge_index[1], ones.float())
            scale_mean = float(degree.detach().log().mean().clamp(min=1e-6))
            hidden = boundary
            for layer in self.layers:
                out = layer(
                    hidden, query, boundary, edge_index, edge_type, edge_weight, degree, scale_mean
                )
                hidden = out + hidden if self.short_cut else out
            hidden = hidden.transpose(0, 1)  # [B, N, d]
            feature = torch.cat([hidden, query.unsqueeze(1).expand(-1, num_nodes, -1)], dim=-1)
            logits = self.mlp(feature).squeeze(-1)
        return logits.float()

    # ------------------------------------------------------------------ training
    def hide_edges(self, data: Any, triples: Tensor) -> tuple[Tensor, Tensor]:
        """The graph's edges minus the batch's triples and their inverses.

        With ``remove_one_hop`` every edge between each query's head and tail (either direction,
        any relation) is removed instead.

        Args:
            data: graph with ``edge_index``, ``edge_type``, ``num_nodes``.
            triples: ``[B, 3]`` rows ``(h, r, t)``.

        Returns:
            ``(edge_index [2, E'], edge_type [E'])``.
        """
        ei, et = data.edge_index.to(triples.device), data.edge_type.to(triples.device)
        n, nr = int(data.num_nodes), self.num_edge_types
        h, r, t = triples.unbind(-1)
        if self.remove_one_hop:
            edge_key = ei[0] * n + ei[1]
            drop = torch.cat([h * n + t, t * n + h])
        else:
            edge_key = triple_keys(ei[0], et, ei[1], n, nr)
            inv = (r + nr // 2) % nr
            drop = torch.cat([triple_keys(h, r, t, n, nr), triple_keys(t, inv, h, n, nr)])
        keep = ~torch.isin(edge_key, drop)
        return ei[:, keep], et[keep]

    def true_tail_mask(self, data: Any, h_index: Tensor, r_index: Tensor) -> Tensor:
        """``[B, N]`` mask of tails ``x`` with ``(h, r, x)`` an edge of ``data`` (strict filter)."""
        ei, et = data.edge_index, data.edge_type
        n = int(data.num_nodes)
        cache = getattr(self, "_filter_cache", None)
        if cache is None or cache[0] is not ei:
            key = ei[0].to(torch.long) * self.num_edge_types + et
            order = torch.argsort(key)
            cache = (ei, key[order], ei[1][order])
            self._filter_cache = cache
        _, sorted_key, sorted_dst = cache
        qkey = (h_index.cpu() * self.num_edge_types + r_index.cpu()).to(sorted_key.device)
        start = torch.searchsorted(sorted_key, qkey, right=False)
        end = torch.searchsorted(sorted_key, qkey, right=True)
        counts = end - start
        rows = torch.repeat_interleave(torch.arange(len(qkey)), counts.cpu())
        offs = torch.arange(int(counts.sum())) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts
        )
        cols = sorted_dst[torch.repeat_interleave(start, counts) + offs]
        mask = torch.zeros(len(qkey), n, dtype=torch.bool)
        mask[rows, cols.cpu()] = True
        return mask.to(h_index.device)

    def loss(self, graph: Any, batch: Tensor, filt: Any = None) -> Tensor:
        """Loss of one batch of training queries (the trainer's hook).

        Args:
            graph: the training graph (edges of the batch are hidden for this step).
            batch: ``[B, 3]`` tail queries ``(h, r, t)`` with ``r in [0, 2R)`` (head queries as
                ``(t, r + R, h)``; the trainer feeds both directions).
            filt: known true answers (``filt.mask(h, r) -> [B, N]``, e.g.
                :class:`~kg_engine.gnn.evaluation.KnownFilter` of the training triples); negatives
                are never drawn from them (strict filtering). Default: the edges of ``graph``.

        Returns:
            Scalar loss (BCE, self-adversarially weighted negatives).
        """
        device = self.query.weight.device
        triples = batch.to(device)
        h, r, t = triples.unbind(-1)
        ei, et = self.hide_edges(graph, triples)
        logits = self(graph, h, r, edge_index=ei, edge_type=et)  # [B, N]
        if filt is not None:
            true = filt.mask(h, r).to(device).clone()
        else:
            true = self.true_tail_mask(graph, h, r).to(device)
        true[torch.arange(len(t), device=device), t] = True
        pos = logits.gather(1, t.view(-1, 1)).squeeze(1)
        n = logits.shape[1]
        if self.num_negative and self.num_negative < n:
            probs = (~true).float()
            probs[probs.sum(1) == 0] = 1.0  # degenerate query: every node is an answer
            neg_idx = torch.multinomial(probs, self.num_negative, replacement=True)
            neg = logits.gather(1, neg_idx)
            neg_valid = torch.ones_like(neg, dtype=torch.bool)
        else:
            neg = logits
            neg_valid = ~true
        if self.adversarial_temperature > 0:
            w = (neg.detach() / self.adversarial_temperature).masked_fill(~neg_valid, -math.inf)
            w = torch.softmax(w, dim=1).nan_to_num(0.0)
        else:
            w = neg_valid.float() / neg_valid.float().sum(1, keepdim=True).clamp(min=1)
        pos_loss = F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos), reduction="none")
        neg_loss = F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg), reduction="none")
        loss = (pos_loss + (neg_loss * w).sum(1)) / 2
        return loss.mean()

    # ------------------------------------------------------------------ persistence
    def checkpoint(self) -> dict[str, Any]:
        """``{"model": "nbfnet", "config": ..., "state_dict": ...}`` (for ``torch.save``)."""
        return {"model": "nbfnet", "config": dict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> NBFNet:
        """Rebuild a model saved by :meth:`checkpoint` (load it with ``weights_only=True``)."""
        model = cls(**ckpt["config"])
        model.load_state_dict(ckpt["state_dict"])
        return model
