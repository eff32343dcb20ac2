"""Path explanations for path-GNN predictions (edge-weight gradients + beam search).

A predicted triple ``(h, r, t)`` is explained by the relational paths from ``h`` to ``t`` that
contributed most to its score, following the method of NBFNet (Zhu et al., NeurIPS 2021,
https://arxiv.org/abs/2106.06935, section 4.4):

1. every message of the model is multiplied by a per-edge weight ``w_e`` (1.0); one forward
   pass and one backward pass of ``score(h, r, t)`` give ``importance_e = d score / d w_e``;
2. the ``k`` paths of length ``<= max_length`` from ``h`` to ``t`` with the highest mean edge
   importance are found by a vectorised top-k Bellman-Ford (beam search) over the edges that
   lie on some walk of that length from ``h`` to ``t``;
3. a fidelity check removes the explanation's edges (both directions) and recomputes the
   score: a faithful explanation lowers it (``Fidelity.score_drop > 0``), often enough to move
   ``t`` out of the top-1.

Paths are rendered with labels (``render``), turning inverse edges back into the stored
direction: ``Nolan --directed--> Interstellar <--directed-- ...``.

Example:
    >>> import torch
    >>> from torch_geometric.data import Data
    >>> from kg_engine.gnn.models.nbfnet import NBFNet
    >>> g = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
    ...          edge_type=torch.tensor([0, 1, 0, 1]), num_nodes=3)
    >>> _ = torch.manual_seed(0)
    >>> model = NBFNet(num_entities=3, num_relations=1, hidden_dim=8, num_layers=2)
    >>> ex = explain_triple(model, g, 0, 0, 2, k=1)
    >>> [(s.head, s.relation, s.tail) for s in ex.paths[0].steps]
    [(0, 0, 1), (1, 0, 2)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Explanation",
    "ExplanationPath",
    "Fidelity",
    "PathStep",
    "PredictionExplanation",
    "answer_query",
    "edge_importance",
    "explain_prediction",
    "explain_triple",
    "fidelity",
    "top_paths",
]

Labeler = Callable[[int], str] | Mapping[int, str] | Sequence[str] | None


def _label(labeler: Labeler, i: int, default: str) -> str:
    if labeler is None:
        return default
    if callable(labeler):
        return labeler(i)
    try:
        return str(labeler[i])  # type: ignore[index]
    except (KeyError, IndexError):
        return default


@dataclass(frozen=True)
class PathStep:
    """One edge of a path, in the stored direction of its triple.

    Attributes:
        head: subject entity id of the stored triple.
        relation: relation id of the stored triple (``< R``, never an inverse id).
        tail: object entity id of the stored triple.
        inverse: ``True`` when the path walks the triple backwards (tail to head).
        importance: gradient of the explained score w.r.t. this edge's weight.
        edge: position of the traversed edge in the graph's ``edge_index``.
    """

    head: int
    relation: int
    tail: int
    inverse: bool
    importance: float
    edge: int


@dataclass(frozen=True)
class ExplanationPath:
    """A path from the query head to the predicted tail.

    Attributes:
        steps: the edges in walking order.
        importance: mean edge importance along the path (the ranking key).
    """

    steps: tuple[PathStep, ...]
    importance: float

    def render(self, entity_label: Labeler = None, relation_label: Labeler = None) -> str:
        """The path as text: ``A --r--> B <--s-- C`` (arrows show stored triple directions)."""
        if not self.steps:
            return ""
        first = self.steps[0]
        start = first.tail if first.inverse else first.head
        parts = [_label(entity_label, start, str(start))]
        for s in self.steps:
            rel = _label(relation_label, s.relation, str(s.relation))
            nxt = s.head if s.inverse else s.tail
            arrow = f" <--{rel}-- " if s.inverse else f" --{rel}--> "
            parts.append(arrow + _label(entity_label, nxt, str(nxt)))
        return "".join(parts)


@dataclass(frozen=True)
class Fidelity:
    """Effect of removing an explanation's edges on the explained score.

    Attributes:
        score_before: logit of ``(h, r, t)`` on the full graph.
        score_after: logit with the explanation's edges (and their inverses) removed.
        rank_before: rank of ``t`` among all candidates before (1 = top; filtered if a
            filter mask was given).
        rank_after: rank after removal.
        removed_edges: number of edges removed (both directions).
    """

    score_before: float
    score_after: float
    rank_before: int
    rank_after: int
    removed_edges: int

    @property
    def score_drop(self) -> float:
        """``score_before - score_after`` (> 0 for a faithful explanation)."""
        return self.score_before - self.score_after

    @property
    def left_top1(self) -> bool:
        """Whether ``t`` was the top answer before and is no longer after removal."""
        return self.rank_before == 1 and self.rank_after > 1


@dataclass
class Explanation:
    """Why a path GNN scores ``(head, relation, tail)``.

    Attributes:
        head, relation, tail: the explained query and answer (``relation`` may be an inverse
            id ``>= R`` when a head query was explained).
        score: the model's logit for the triple.
        paths: the top paths, best first.
        fidelity: result of the removal check, when requested.
    """

    head: int
    relation: int
    tail: int
    score: float
    paths: list[ExplanationPath] = field(default_factory=list)
    fidelity: Fidelity | None = None

    def render(self, entity_label: Labeler = None, relation_label: Labeler = None) -> list[str]:
        """One line per path, with its importance."""
        return [
            f"{p.render(entity_label, relation_label)}  [importance {p.importance:.4g}]"
            for p in self.paths
        ]

    def as_dict(
        self, entity_label: Labeler = None, relation_label: Labeler = None
    ) -> dict[str, Any]:
        """JSON-serialisable form (paths as lists of stored triples with labels)."""
        out: dict[str, Any] = {
            "head": self.head,
            "relation": self.relation,
            "tail": self.tail,
            "score": self.score,
            "paths": [
                {
                    "importance": p.importance,
                    "text": p.render(entity_label, relation_label),
                    "triples": [
                        {
                            "head": s.head,
                            "relation": s.relation,
                            "tail": s.tail,
                            "inverse": s.inverse,
                            "importance": s.importance,
                        }
                        for s in p.steps
                    ],
                }
                for p in self.paths
            ],
        }
        if self.fidelity is not None:
            f = self.fidelity
            out["fidelity"] = {
                "score_before": f.score_before,
                "score_after": f.score_after,
                "rank_before": f.rank_before,
                "rank_after": f.rank_after,
                "removed_edges": f.removed_edges,
            }
        return out


def edge_importance(model: Any, data: Any, h: int, r: int, t: int) -> tuple[float, Tensor, Tensor]:
    """Score of ``(h, r, t)``, all candidate logits, and ``d score / d w_e`` for every edge.

    Args:
        model: a path GNN whose ``forward(data, h_index, r_index, edge_weight)`` multiplies
            every message by ``edge_weight`` (e.g. :class:`~kg_engine.gnn.models.nbfnet.NBFNet`).
        data: graph with ``edge_index``, ``edge_type``, ``num_nodes``.
        h, r, t: the triple (``r`` may be an inverse relation id).

    Returns:
        ``(score, logits [N], importance [E])`` on the CPU.
    """
    with _edge_weights(model, data) as weight:
        logits = model(data, torch.tensor([h]), torch.tensor([r]), weight)[0]
        (grad,) = torch.autograd.grad(logits[t], weight)
    logits = logits.detach().cpu()
    return float(logits[t]), logits, grad.detach().cpu()


@contextlib.contextmanager
def _edge_weights(model: Any, data: Any) -> Iterator[Tensor]:
    """Per-edge weights (all 1.0) that require grad, with the model in eval mode and its
    parameters frozen meanwhile (both restored after), so gradients reach the edges only."""
    was_training = model.training
    model.eval()
    weight = torch.ones(
        data.edge_index.shape[1], device=next(model.parameters()).device, requires_grad=True
    )
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        with torch.enable_grad():
            yield weight
    finally:
        for p in params:
            p.requires_grad_(True)
        model.train(was_training)


def _walk_distances(
    src: Tensor, dst: Tensor, start: int, num_nodes: int, max_length: int
) -> Tensor:
    """Hop distance from ``start`` along ``src -> dst`` (``max_length + 1`` = unreachable)."""
    dist = torch.full((num_nodes,), max_length + 1, dtype=torch.long)
    dist[start] = 0
    frontier = torch.zeros(num_nodes, dtype=torch.bool)
    frontier[start] = True
    for d in range(1, max_length + 1):
        reached = torch.zeros(num_nodes, dtype=torch.bool)
        reached[dst[frontier[src]]] = True
        new = reached & (dist > d)
        dist[new] = d
        frontier = reached
    return dist


def top_paths(
    edge_index: Tensor,
    edge_type: Tensor,
    importance: Tensor,
    h: int,
    t: int,
    num_nodes: int,
    num_relations: int,
    k: int = 3,
    max_length: int = 3,
    beam: int = 10,
) -> list[ExplanationPath]:
    """The ``k`` simple paths ``h -> t`` of length ``<= max_length`` with highest mean importance.

    A top-``beam`` Bellman-Ford over importance sums runs on the edges that lie on some walk of
    length ``<= max_length`` from ``h`` to ``t``; the candidate paths reaching ``t`` at every
    length are traced back, non-simple ones dropped, and the rest ranked by mean importance.

    Args:
        edge_index: ``[2, E]`` graph edges.
        edge_type: ``[E]`` edge types in ``[0, num_relations)`` (inverses ``>= num_relations/2``).
        importance: ``[E]`` per-edge importance.
        h, t: path ends.
        num_nodes: number of nodes ``N``.
        num_relations: number of edge types ``2R``.
        k: number of paths returned.
        max_length: longest path considered.
        beam: partial paths kept per node and length.

    Returns:
        Up to ``k`` paths, best first (fewer when fewer exist).
    """
    src, dst = edge_index[0].cpu(), edge_index[1].cpu()
    importance = importance.detach().cpu().float()
    fwd = _walk_distances(src, dst, h, num_nodes, max_length)
    bwd = _walk_distances(dst, src, t, num_nodes, max_length)
    corridor = (fwd[src] + 1 + bwd[dst] <= max_length).nonzero().view(-1)
    if corridor.numel() == 0:
        return []
    c_src, c_dst, c_imp = src[corridor], dst[corridor], importance[corridor]
    neg_inf = float("-inf")
    # score[n, j]: importance sum of the j-th best walk of the current length ending at n
    score = torch.full((num_nodes, beam), neg_inf)
    score[h, 0] = 0.0
    backs: list[tuple[Tensor, Tensor]] = []  # per length: (edge position in corridor, prev slot)
    finals: list[tuple[int, int, float]] = []  # (length, slot, sum) of walks ending at t
    for length in range(1, max_length + 1):
        cand = score[c_src] + c_imp.view(-1, 1)  # [E', beam]
        cand_dst = c_dst.view(-1, 1).expand_as(cand).reshape(-1)
        cand = cand.reshape(-1)
        valid = torch.isfinite(cand).nonzero().view(-1)
        cand, cand_dst = cand[valid], cand_dst[valid]
        order = torch.argsort(cand, descending=True, stable=True)
        order = order[torch.argsort(cand_dst[order], stable=True)]
        sorted_dst = cand_dst[order]
        first = torch.searchsorted(sorted_dst, sorted_dst, right=False)
        slot = torch.arange(len(order)) - first
        keep = slot < beam
        chosen, slot = order[keep], slot[keep]
        new_score = torch.full((num_nodes, beam), neg_inf)
        new_edge = torch.full((num_nodes, beam), -1, dtype=torch.long)
        new_prev = torch.full((num_nodes, beam), -1, dtype=torch.long)
        flat = valid[chosen]  # index into [E' * beam]
        new_score[cand_dst[chosen], slot] = cand[chosen]
        new_edge[cand_dst[chosen], slot] = flat // beam
        new_prev[cand_dst[chosen], slot] = flat % beam
        backs.append((new_edge, new_prev))
        score = new_score
        for j in range(beam):
            if torch.isfinite(score[t, j]):
                finals.append((length, j, float(score[t, j])))
    paths: list[ExplanationPath] = []
    seen: set[tuple[int, ...]] = set()
    half = num_relations // 2
    for length, j, total in finals:
        edges: list[int] = []
        node, s = t, j
        for ln in range(length, 0, -1):
            e_pos = int(backs[ln - 1][0][node, s])
            s = int(backs[ln - 1][1][node, s])
            edges.append(int(corridor[e_pos]))
            node = int(src[corridor[e_pos]])
        edges.reverse()
        nodes = [h] + [int(dst[e]) for e in edges]
        if len(set(nodes)) != len(nodes) or tuple(edges) in seen:
            continue
        seen.add(tuple(edges))
        steps = []
        for e in edges:
            typ = int(edge_type[e])
            a, b = int(src[e]), int(dst[e])
            inv = typ >= half
            steps.append(
                PathStep(
                    head=b if inv else a,
                    relation=typ - half if inv else typ,
                    tail=a if inv else b,
                    inverse=inv,
                    importance=float(importance[e]),
                    edge=e,
                )
            )
        paths.append(ExplanationPath(tuple(steps), total / length))
    paths.sort(key=lambda p: (-p.importance, len(p.steps)))
    return paths[:k]


def _rank(logits: Tensor, t: int, filter_mask: Tensor | None) -> int:
    scores = logits.clone()
    if filter_mask is not None:
        mask = filter_mask.clone()
        mask[t] = False
        scores[mask] = float("-inf")
    return int((scores > scores[t]).sum()) + 1


def fidelity(
    model: Any,
    data: Any,
    h: int,
    r: int,
    t: int,
    paths: Sequence[ExplanationPath],
    filter_mask: Tensor | None = None,
    logits_before: Tensor | None = None,
) -> Fidelity:
    """Remove the paths' edges (both directions) and measure the score and rank of ``t``.

    Args:
        model, data: as in :func:`edge_importance`.
        h, r, t: the explained triple.
        paths: the explanation.
        filter_mask: ``[N]`` bool mask of other known answers, ignored when ranking.
        logits_before: logits on the full graph, if already computed.

    Returns:
        The :class:`Fidelity` record.
    """
    device = next(model.parameters()).device
    ei, et = data.edge_index.cpu(), data.edge_type.cpu()
    n, nr = int(data.num_nodes), 2 * int(model.num_relations)
    edges = sorted({s.edge for p in paths for s in p.steps})
    weight = torch.ones(ei.shape[1])
    if edges:
        e = torch.tensor(edges)
        twin_keys = ((ei[1, e] * nr + (et[e] + nr // 2) % nr) * n) + ei[0, e]
        all_keys = (ei[0] * nr + et) * n + ei[1]
        drop = torch.isin(all_keys, twin_keys)
        drop[e] = True
        weight[drop] = 0.0
    removed = int((weight == 0).sum())
    with torch.no_grad():
        hq, rq = torch.tensor([h]), torch.tensor([r])
        before = logits_before if logits_before is not None else model(data, hq, rq)[0].cpu()
        after = model(data, hq, rq, weight.to(device))[0].cpu()
    return Fidelity(
        score_before=float(before[t]),
        score_after=float(after[t]),
        rank_before=_rank(before, t, filter_mask),
        rank_after=_rank(after, t, filter_mask),
        removed_edges=removed,
    )


def explain_triple(
    model: Any,
    data: Any,
    h: int,
    r: int,
    t: int,
    k: int = 3,
    max_length: int = 3,
    beam: int = 10,
    check_fidelity: bool = False,
    filter_mask: Tensor | None = None,
) -> Explanation:
    """Explain the model's score of ``(h, r, t)`` by its top-``k`` paths.

    Args:
        model: path GNN (see :func:`edge_importance`); ``model.num_relations`` is ``R`` (base).
        data: graph with ``edge_index``, ``edge_type``, ``num_nodes``.
        h, r, t: entity and relation ids (``r`` may be an inverse id for head queries).
        k: number of paths.
        max_length: longest path (edges).
        beam: beam width of the path search.
        check_fidelity: also run the removal check (one more forward pass), when there are
            paths.
        filter_mask: ``[N]`` other known answers, ignored by the fidelity ranks.

    Returns:
        The :class:`Explanation` (``paths`` empty and no fidelity when ``t`` is not reachable
        from ``h`` in ``max_length`` steps).

    Raises:
        ValueError: if an id is out of range.
    """
    n = int(data.num_nodes)
    for name, v in (("head", h), ("tail", t)):
        if not 0 <= v < n:
            raise ValueError(f"{name} id {v} out of range: the graph has {n} entities")
    num_types = 2 * int(model.num_relations)
    if not 0 <= r < num_types:
        raise ValueError(
            f"relation id {r} out of range: the model has {num_types} relation types (inverses included)"
        )
    score, logits, imp = edge_importance(model, data, h, r, t)
    paths = top_paths(data.edge_index, data.edge_type, imp, h, t, n, num_types, k, max_length, beam)
    # no path, nothing to remove: a fidelity figure would measure nothing
    fid = fidelity(model, data, h, r, t, paths, filter_mask, logits) if check_fidelity and paths else None
    return Explanation(h, r, t, score, paths, fid)


def answer_query(
    model: Any,
    data: Any,
    h: int,
    r: int,
    top_k: int = 10,
    num_paths: int = 3,
    max_length: int = 3,
    filter_mask: Tensor | None = None,
) -> tuple[list[tuple[int, float]], Explanation]:
    """Answer ``(h, r, ?)`` with the top-``k`` tails and explain the best one, in one pass.

    One forward pass with differentiable edge weights scores every tail; one backward pass
    from the best tail's score gives the edge importances for its paths (the serving path of
    ``kg gnn predict --explain``; about the cost of two forward passes).

    Args:
        model, data: as in :func:`edge_importance`.
        h: query head; r: query relation (inverse ids ask for heads).
        top_k: answers returned.
        num_paths: explanation paths for the best answer.
        max_length: longest explanation path.
        filter_mask: ``[N]`` known answers to skip (filtered prediction).

    Returns:
        ``([(tail, logit), ...] best first, Explanation of the first tail)``.
    """
    n = int(data.num_nodes)
    with _edge_weights(model, data) as weight:
        logits = model(data, torch.tensor([h]), torch.tensor([r]), weight)[0]
        ranked = logits.detach().clone()
        if filter_mask is not None:
            ranked[filter_mask.to(ranked.device)] = float("-inf")
        vals, idx = ranked.topk(min(top_k, n))
        best = int(idx[0])
        (grad,) = torch.autograd.grad(logits[best], weight)
    answers = [(int(i), float(v)) for v, i in zip(vals.cpu(), idx.cpu()) if torch.isfinite(v)]
    paths = top_paths(
        data.edge_index,
        data.edge_type,
        grad,
        h,
        best,
        n,
        2 * int(model.num_relations),
        num_paths,
        max_length,
    )
    return answers, Explanation(h, r, best, float(logits[best].detach()), paths)


# ---------------------------------------------------------------------------- predicted triples
@dataclass
class PredictionExplanation:
    """Why a GNN predicted a triple that is stored with ``predicted`` provenance.

    Attributes:
        triple: the predicted ``(s, p, o)`` (rdflib terms).
        provenance: the recorded :class:`~kg_engine.core.Provenance` (model, checkpoint, score).
        explanation: the model's path explanation, or ``None`` when the model has no edge
            weights to differentiate (embedding models) or the checkpoint cannot be loaded.
        lines: the paths rendered with entity labels, best first.
        note: why there is no path explanation, if there is none.
    """

    triple: tuple
    provenance: Any
    explanation: Explanation | None
    lines: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def kind(self) -> str:
        """``"predicted"`` (mirrors the rule engine's explanation objects)."""
        return "predicted"

    def __str__(self) -> str:
        s, p, o = (t.n3() if hasattr(t, "n3") else str(t) for t in self.triple)
        prov = self.provenance
        head = f"{s} {p} {o}  [predicted by {prov.agent} ({prov.source})"
        if prov.confidence is not None:
            head += f", probability {prov.confidence:.3f}"
        head += "]"
        if self.explanation is None:
            return head + (f"\n  {self.note}" if self.note else "")
        body = [f"  path {i + 1}: {line}" for i, line in enumerate(self.lines)] or [
            "  no path of length <= 3 connects the head to the tail"
        ]
        f = self.explanation.fidelity
        if f is not None:
            body.append(
                f"  fidelity: removing these paths' edges moves the score {f.score_before:.3f} -> "
                f"{f.score_after:.3f} and the rank {f.rank_before} -> {f.rank_after}"
            )
        return "\n".join([head, *body])


_MODEL_CACHE: dict[tuple[str, float], Any] = {}


def _load_cached(checkpoint: str) -> Any:
    from pathlib import Path

    from kg_engine.gnn.training import load_model

    folder = Path(checkpoint)
    ckpt = folder / "best.pt" if (folder / "best.pt").is_file() else folder / "checkpoint.pt"
    key = (str(folder.resolve()), ckpt.stat().st_mtime if ckpt.is_file() else 0.0)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = load_model(folder, "cpu")
    return _MODEL_CACHE[key]


def explain_prediction(
    kg: Any, triple: tuple, recorded: Any = None, k: int = 3
) -> PredictionExplanation:
    """Explain a stored predicted triple from the model that predicted it.

    Used by :meth:`kg_engine.api.KnowledgeGraph.explain` for triples whose provenance kind is
    ``predicted``: reloads the checkpoint named in the provenance, rebuilds the graph the
    prediction was made on from the store as it is now (edges removed since are no longer
    evidence), and returns the top-``k`` paths (length <= 3) with labels and a fidelity check.
    A checkpoint retrained since the prediction (its weights' digest differs from the recorded
    one) gives no paths, only a note saying to predict again.

    Args:
        kg: a :class:`~kg_engine.api.KnowledgeGraph` (or anything with a ``store``), or a store.
        triple: ``(s, p, o)`` rdflib terms.
        recorded: the rule engine's explanation of the triple (its ``tree.sources`` hold the
            provenance); ``None`` reads the provenance from the store.
        k: number of paths.

    Returns:
        A :class:`PredictionExplanation` (``str()`` is readable).

    Raises:
        ValueError: the triple has no ``predicted`` provenance.
    """
    import json

    from kg_engine.gnn.predict import PREDICTED_GRAPH_PREFIX, inference_data

    store = getattr(kg, "store", kg)
    sources = list(getattr(getattr(recorded, "tree", None), "sources", []) or [])
    if not sources:
        for g in store.graphs():
            if str(g).startswith(PREDICTED_GRAPH_PREFIX):
                sources.extend(store.provenance_of((*triple[:3], g)))
    preds = [s for s in sources if getattr(s, "kind", None) == "predicted"]
    if not preds:
        raise ValueError(
            f"{triple} has no 'predicted' provenance; only GNN predictions can be explained here"
        )
    prov = max(preds, key=lambda s: s.confidence or 0.0)
    try:
        loaded = _load_cached(str(prov.source))
    except Exception as exc:  # noqa: BLE001 - a missing/corrupt checkpoint still yields the record
        return PredictionExplanation(
            tuple(triple[:3]), prov, None, note=f"checkpoint not loadable: {exc}"
        )
    import inspect

    if "edge_weight" not in inspect.signature(loaded.model.forward).parameters:
        return PredictionExplanation(
            tuple(triple[:3]),
            prov,
            None,
            note=f"{prov.agent} is not a path model; the recorded score is the explanation",
        )
    detail = json.loads(prov.detail) if prov.detail else {}
    if detail.get("weights") and detail["weights"] != loaded.weights_digest:
        return PredictionExplanation(
            tuple(triple[:3]), prov, None,
            note=f"the model in {prov.source} was retrained since this prediction (its weights "
                 "differ), so its paths would not explain it: rerun kg gnn predict to predict "
                 "and explain with the model as it is now")
    data, graph = inference_data(loaded, store, detail.get("graph"))
    s, p, o = triple[:3]
    try:
        h, r, t = data.entity_id(s.n3()), data.relation_id(p.n3()), data.entity_id(o.n3())
    except KeyError as exc:
        return PredictionExplanation(
            tuple(triple[:3]), prov, None, note=f"{exc.args[0]} is no longer in the graph"
        )
    ex = explain_triple(loaded.model, graph, h, r, t, k=k, max_length=3, check_fidelity=True)
    lines = ex.render(data.entity_label, data.relation_label)
    return PredictionExplanation(tuple(triple[:3]), prov, ex, lines)
