"""The one link-prediction evaluator every kg-engine model is measured with.

Protocol (the standard one, so numbers compare with the literature):

* **both directions**: every test triple ``(h, r, t)`` gives a tail query ``(h, r, ?)``
  with answer ``t`` and a head query ``(?, r, h)``, asked as ``(t, r + R, ?)`` with
  answer ``h`` (reciprocal relations);
* **filtered**: every *other* entity ``x`` with ``(h, r, x)`` known true in train, valid or
  test is removed from the candidate list before ranking;
* **all entities** are candidates and **all** test triples are counted (also those whose
  entities never occur in training);
* **realistic rank** for ties: the mean of the optimistic rank (``1 + #better``) and the
  pessimistic rank (``1 + #better + #tied``), so a constant scorer gets the expected rank
  of a random order, not rank 1;
* metrics: MRR, MR, Hits@1/3/10 over the ``2 n`` queries (``head_mrr``/``tail_mrr`` too).

A *scorer* is any callable ``scorer(h, r) -> FloatTensor [B, N]`` (higher is better) with
``h``, ``r`` ``LongTensor [B]`` and ``r`` in ``[0, 2R)``; models give one with
``model.scorer(graph)``.

Example:
    >>> import torch
    >>> known = torch.tensor([[0, 0, 1], [0, 0, 2]])
    >>> ev = RankingEvaluator(known, num_entities=3, num_relations=1)
    >>> scores = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> scorer = lambda h, r: scores[h]          # same scores for every relation
    >>> ev.ranks(scorer, torch.tensor([[0, 0, 1]])).tolist()   # (0,0,?)->1: 2 filtered; (1,1',?)->0: tie of 3
    [1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from kg_engine.errors import ModelError

__all__ = ["KnownFilter", "RankingEvaluator", "Scorer", "metrics_from_ranks", "realistic_ranks"]

Scorer = Callable[[Tensor, Tensor], Tensor]


class KnownFilter:
    """All known true ``(h, r, t)`` (both directions), indexed by query ``(h, r)``.

    Args:
        known: ``LongTensor [n, 3]`` of true triples with base relations ``r < R``.
        num_entities: ``N``.
        num_relations: ``R`` (base); inverses ``r + R`` are added here.

    Shapes:
        :meth:`mask` returns ``BoolTensor [B, N]``; :meth:`answers` returns two
        ``LongTensor [K]`` (query row, entity) with one entry per known answer.
    """

    def __init__(self, known: Tensor, num_entities: int, num_relations: int) -> None:
        known = torch.as_tensor(known, dtype=torch.long).reshape(-1, 3)
        self.num_entities = num_entities
        self.num_relations = num_relations
        h, r, t = known[:, 0], known[:, 1], known[:, 2]
        heads = torch.cat([h, t])
        rels = torch.cat([r, r + num_relations])
        tails = torch.cat([t, h])
        combined = torch.unique((heads * (2 * num_relations) + rels) * num_entities + tails)
        self._keys = combined // num_entities  # sorted, one per known (query, answer)
        self._tails = combined % num_entities
        self._device_cache: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def _on(self, device: torch.device) -> tuple[Tensor, Tensor]:
        if device not in self._device_cache:
            self._device_cache[device] = (self._keys.to(device), self._tails.to(device))
        return self._device_cache[device]

    def answers(self, h: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
        """Known answers of each query as ``(row, entity)`` index pairs."""
        keys, tails = self._on(h.device)
        q = h * (2 * self.num_relations) + r
        start = torch.searchsorted(keys, q, right=False)
        end = torch.searchsorted(keys, q, right=True)
        counts = end - start
        rows = torch.repeat_interleave(torch.arange(len(q), device=h.device), counts)
        if rows.numel() == 0:
            return rows, rows
        first = torch.repeat_interleave(start, counts)
        offsets = torch.cumsum(counts, 0) - counts
        within = torch.arange(rows.numel(), device=h.device) - torch.repeat_interleave(offsets, counts)
        return rows, tails[first + within]

    def mask(self, h: Tensor, r: Tensor) -> Tensor:
        """``BoolTensor [B, N]``: True where ``(h[i], r[i], x)`` is known true."""
        out = torch.zeros((len(h), self.num_entities), dtype=torch.bool, device=h.device)
        rows, cols = self.answers(h, r)
        out[rows, cols] = True
        return out

    def __len__(self) -> int:
        return int(self._keys.numel())


def realistic_ranks(scores: Tensor, target: Tensor, filter_mask: Tensor | None = None) -> Tensor:
    """Realistic (tie-averaged) filtered ranks of ``target`` in each row of ``scores``.

    Args:
        scores: ``[B, N]`` scores, higher is better.
        target: ``LongTensor [B]`` index of the true answer of each row.
        filter_mask: ``BoolTensor [B, N]``, True for candidates to drop (the target's own
            entry is ignored even if set).

    Returns:
        ``FloatTensor [B]`` ranks, ``1 + #better + #tied_others / 2``.

    Raises:
        ModelError: a target score is NaN.
    """
    scores = scores.float()
    rows = torch.arange(len(target), device=scores.device)
    t_score = scores[rows, target].unsqueeze(1)
    if torch.isnan(t_score).any():
        raise ModelError("the model produced NaN scores; the checkpoint or training diverged")
    keep = torch.ones_like(scores, dtype=torch.bool) if filter_mask is None else ~filter_mask
    keep[rows, target] = False
    better = ((scores > t_score) & keep).sum(1)
    tied = ((scores == t_score) & keep).sum(1)
    return 1.0 + better.double() + tied.double() / 2.0


def metrics_from_ranks(ranks: Tensor, ks: Sequence[int] = (1, 3, 10)) -> dict[str, float]:
    """MRR, MR and Hits@k of a rank vector (tail ranks first, then head ranks).

    Example:
        >>> metrics_from_ranks(torch.tensor([1.0, 2.0, 4.0, 1.0]))["mrr"]
        0.6875
    """
    ranks = ranks.double()
    n = ranks.numel()
    out: dict[str, float] = {"count": float(n)}
    if n == 0:
        out.update({"mrr": 0.0, "mr": 0.0, **{f"hits@{k}": 0.0 for k in ks}})
        return out
    out["mrr"] = float((1.0 / ranks).mean())
    out["mr"] = float(ranks.mean())
    for k in ks:
        out[f"hits@{k}"] = float((ranks <= k).double().mean())
    if n % 2 == 0:
        half = n // 2
        out["tail_mrr"] = float((1.0 / ranks[:half]).mean())
        out["head_mrr"] = float((1.0 / ranks[half:]).mean())
    return out


class RankingEvaluator:
    """Filtered, two-direction, realistic-rank evaluation over all entities.

    Args:
        known_or_data: a :class:`~kg_engine.gnn.data.KGData` (filter = its train + valid +
            test) or a ``LongTensor [n, 3]`` of every known true triple.
        num_entities: ``N`` (taken from the data when a ``KGData`` is given).
        num_relations: ``R`` (base; idem).
        ranges: optional :class:`~kg_engine.gnn.ranges.RangeFilter` (type-checked candidates).

    Example: see the module docstring.
    """

    def __init__(
        self,
        known_or_data: Any,
        num_entities: int | None = None,
        num_relations: int | None = None,
        ranges: Any = None,
    ) -> None:
        if hasattr(known_or_data, "known_triples"):
            known = known_or_data.known_triples()
            num_entities = known_or_data.num_entities
            num_relations = known_or_data.num_relations
        else:
            known = known_or_data
        if num_entities is None or num_relations is None:
            raise ValueError("num_entities and num_relations are required with a triple tensor")
        self.num_entities = int(num_entities)
        self.num_relations = int(num_relations)
        self.filter = KnownFilter(known, self.num_entities, self.num_relations)
        #: a :class:`~kg_engine.gnn.ranges.RangeFilter`: candidates whose type does not fit
        #: the relation are dropped too (the true answer never is)
        self.ranges = ranges

    def drop_mask(self, h: Tensor, r: Tensor) -> Tensor:
        """``BoolTensor [B, N]``: candidates removed before ranking (other known answers,
        and with :attr:`ranges` the entities of the wrong type)."""
        mask = self.filter.mask(h, r)
        if self.ranges is not None:
            mask |= self.ranges.mask(r)
        return mask

    def queries(self, triples: Tensor) -> Tensor:
        """``[2n, 3]`` query rows ``(head, relation in [0, 2R), answer)``: tails first, then heads."""
        triples = torch.as_tensor(triples, dtype=torch.long).reshape(-1, 3)
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        return torch.cat(
            [torch.stack([h, r, t], 1), torch.stack([t, r + self.num_relations, h], 1)]
        )

    @torch.no_grad()
    def ranks(
        self,
        scorer: Scorer,
        triples: Tensor,
        batch_size: int = 256,
        device: torch.device | str | None = None,
        progress: bool | None = False,
    ) -> Tensor:
        """Realistic filtered ranks of the ``2 n`` queries of ``triples`` (tails, then heads).

        Args:
            scorer: ``scorer(h, r) -> [B, N]``.
            triples: ``LongTensor [n, 3]`` with base relations.
            batch_size: queries per scorer call.
            device: where the query tensors go (the scorer's device); default CPU.
            progress: show a tqdm bar (``None``: only on a terminal).

        Returns:
            ``DoubleTensor [2n]`` on the CPU.
        """
        from tqdm.auto import tqdm

        queries = self.queries(triples).to(device or "cpu")
        out = []
        starts: Any = range(0, len(queries), batch_size)
        if progress is not False:
            starts = tqdm(starts, disable=None if progress is None else not progress, desc="eval")
        for start in starts:
            q = queries[start : start + batch_size]
            scores = scorer(q[:, 0], q[:, 1])
            if scores.shape != (len(q), self.num_entities):
                raise ModelError(
                    f"scorer returned shape {tuple(scores.shape)}, expected "
                    f"({len(q)}, {self.num_entities})"
                )
            out.append(realistic_ranks(scores, q[:, 2], self.drop_mask(q[:, 0], q[:, 1])).cpu())
        return torch.cat(out) if out else torch.empty(0, dtype=torch.double)

    def evaluate(
        self,
        scorer: Scorer,
        triples: Tensor,
        batch_size: int = 256,
        device: torch.device | str | None = None,
        ks: Sequence[int] = (1, 3, 10),
        progress: bool | None = False,
    ) -> dict[str, float]:
        """Metrics (``mrr``, ``mr``, ``hits@k``, ``head_mrr``, ``tail_mrr``, ``count``).

        Args: as :meth:`ranks`, plus ``ks`` the cut-offs of Hits@k.
        """
        ranks = self.ranks(scorer, triples, batch_size=batch_size, device=device, progress=progress)
        return metrics_from_ranks(ranks, ks)
