"""Inductive evaluation: answer queries about entities the model never saw in training.

Protocol (the product reason to prefer a path GNN over embeddings):

1. hold out a fraction (default 20 %) of the entities, chosen at random with a seed;
2. train on the training triples that touch no held-out entity (held-out entities are
   isolated nodes: they exist, but the model never sees an edge of theirs);
3. at inference add *all* training triples back (held-out entities' edges included) without
   retraining, and rank the test triples that involve a held-out entity with the one filtered
   evaluator (:class:`~kg_engine.gnn.evaluation.RankingEvaluator`: both directions, filtered
   against train + valid + test, realistic ties, every candidate entity).

The ratio of that MRR to a transductive MRR (the same recipe trained on the full graph, or the
same model on test triples between seen entities) measures how well the model transfers.

Example:
    >>> import torch
    >>> from kg_engine.gnn.data import KGData
    >>> data = KGData(entities=list("abcdefghij"), relations=["p"],
    ...               train=torch.tensor([[i, 0, (i + 1) % 10] for i in range(10)]),
    ...               test=torch.tensor([[0, 0, 2], [5, 0, 7]]))
    >>> split = inductive_split(data, fraction=0.2, seed=0)
    >>> len(split.held_out), bool(split.train_data.train.shape[0] < 10)
    (2, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from kg_engine.gnn.data import KGData

__all__ = ["InductiveSplit", "evaluate_inductive", "inductive_split"]


@dataclass
class InductiveSplit:
    """Data for one inductive experiment.

    Attributes:
        held_out: ``LongTensor [M]`` ids of the held-out entities.
        train_data: the data to train on (same id maps; ``train`` without any held-out
            entity; ``valid`` restricted the same way, for early stopping).
        inference_data: the full data (all training triples: the inference graph).
        unseen_test: ``[n, 3]`` test triples with at least one held-out entity.
        seen_test: ``[n, 3]`` test triples between entities seen in training.
    """

    held_out: Tensor
    train_data: KGData
    inference_data: KGData
    unseen_test: Tensor
    seen_test: Tensor


def _touches(triples: Tensor, mask: Tensor) -> Tensor:
    return mask[triples[:, 0]] | mask[triples[:, 2]]


def inductive_split(data: KGData, fraction: float = 0.2, seed: int = 0) -> InductiveSplit:
    """Hold out ``fraction`` of the entities (see the module docstring).

    Args:
        data: the full data.
        fraction: share of entities held out, in ``(0, 1)``.
        seed: RNG seed of the entity choice.

    Returns:
        The :class:`InductiveSplit`.

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)``, or nothing left to train on.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    n = data.num_entities
    gen = torch.Generator().manual_seed(seed)
    held = torch.randperm(n, generator=gen)[: max(1, round(fraction * n))].sort().values
    mask = torch.zeros(n, dtype=torch.bool)
    mask[held] = True
    train = data.train[~_touches(data.train, mask)]
    if len(train) == 0:
        raise ValueError(f"holding out {len(held)} of {n} entities leaves no training triple")
    valid = data.valid[~_touches(data.valid, mask)] if len(data.valid) else data.valid
    train_data = KGData(
        entities=data.entities,
        relations=data.relations,
        train=train,
        valid=valid,
        test=data.test[:0],
        entity_labels=data.entity_labels,
        relation_labels=data.relation_labels,
        name=f"{data.name}-inductive{round(fraction * 100)}-seed{seed}",
    )
    touch = _touches(data.test, mask) if len(data.test) else torch.zeros(0, dtype=torch.bool)
    return InductiveSplit(
        held_out=held,
        train_data=train_data,
        inference_data=data,
        unseen_test=data.test[touch],
        seen_test=data.test[~touch],
    )


def evaluate_inductive(
    model: Any, split: InductiveSplit, batch_size: int = 64, device: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Filtered metrics of a model trained on ``split.train_data``, on the full graph.

    Args:
        model: the trained model (no retraining happens here).
        split: from :func:`inductive_split`.
        batch_size: queries per forward pass.
        device: where to evaluate.

    Returns:
        ``{"unseen": metrics, "seen": metrics, "held_out_entities": M,
        "train_triples": n, "inference_triples": n}`` with metrics as in
        :meth:`~kg_engine.gnn.evaluation.RankingEvaluator.evaluate`.
    """
    from kg_engine.gnn.evaluation import RankingEvaluator

    full = split.inference_data
    graph = full.graph("train").to(device)
    evaluator = RankingEvaluator(full)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            scorer = model.scorer(graph)
            out: dict[str, Any] = {}
            for key, triples in (("unseen", split.unseen_test), ("seen", split.seen_test)):
                if len(triples):
                    out[key] = evaluator.evaluate(
                        scorer, triples, batch_size=batch_size, device=device
                    )
    finally:
        model.train(was_training)
    out["held_out_entities"] = len(split.held_out)
    out["train_triples"] = len(split.train_data.train)
    out["inference_triples"] = len(full.train)
    return out
