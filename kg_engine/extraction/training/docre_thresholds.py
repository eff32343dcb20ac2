"""Per-relation decision thresholds for a target precision, fitted on held-out documents.

The document relation model's score ``sigmoid(logit_r − logit_TH)`` is not calibrated alike for
all relations: "date of birth" is right at 0.6 where "participant" is mostly wrong at 0.9. For
each relation, :func:`fit_thresholds` takes the scored predictions on held-out documents (score,
correct?) and returns the lowest threshold at which the *smoothed* precision of the predictions
scoring at least that much, ``(correct + 1) / (predicted + 2)``, reaches ``target`` with at least
``min_correct`` correct predictions; relations that never do are dropped (``None``). The result
goes into a schema config's ``[schema.thresholds]`` (and the dropped relations out of its
``[schema.relations]``).

Example:
    >>> preds = [("P569", s, True) for s in (0.9, 0.8, 0.7, 0.6, 0.55)] + [("P569", 0.52, False)]
    >>> preds += [("P710", 0.9, False), ("P710", 0.8, True)]
    >>> fit = fit_thresholds(preds, target=0.8, min_correct=3)
    >>> fit["P569"].threshold, fit["P569"].correct, fit["P569"].predicted
    (0.55, 5, 5)
    >>> fit["P710"].threshold is None
    True
    >>> fit_thresholds([("P17", 0.76488, True)], min_correct=1, target=0.6)["P17"].threshold
    0.7648
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RelationThreshold", "fit_thresholds"]


@dataclass(frozen=True)
class RelationThreshold:
    """The fitted threshold of one relation (``None``: target never reached) and its counts."""

    relation: str
    threshold: float | None
    predicted: int      # held-out predictions scoring ≥ threshold (all, when dropped)
    correct: int        # of which correct
    candidates: int     # held-out predictions scoring ≥ the floor

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0


def fit_thresholds(scored: Iterable[tuple[str, float, bool]], *, target: float = 0.8,
                   min_correct: int = 5, floor: float = 0.5) -> dict[str, RelationThreshold]:
    """``{relation: RelationThreshold}`` from ``(relation, score, correct)`` predictions.

    Args:
        scored: every held-out prediction with score ≥ ``floor`` and whether it is in the gold.
        target: smoothed precision to reach.
        min_correct: correct predictions needed above the threshold.
        floor: lowest threshold considered (0.5 = the model's learned threshold).
    """
    by_rel: dict[str, list[tuple[float, bool]]] = {}
    for rel, score, ok in scored:
        if score >= floor:
            by_rel.setdefault(rel, []).append((float(score), bool(ok)))
    out: dict[str, RelationThreshold] = {}
    for rel, items in sorted(by_rel.items()):
        items.sort(key=lambda x: -x[0])
        best: RelationThreshold | None = None
        correct = 0
        for k, (score, ok) in enumerate(items, 1):
            correct += ok
            # only cut between distinct scores
            if k < len(items) and items[k][0] == score:
                continue
            if correct >= min_correct and (correct + 1) / (k + 2) >= target:
                best = RelationThreshold(rel, _round_down(score), k, correct, len(items))
        out[rel] = best or RelationThreshold(rel, None, len(items), correct, len(items))
    return out


def _round_down(score: float) -> float:
    """``score`` to 4 decimals, never above it: the written threshold must still admit the
    lowest prediction it was fitted on (``round`` gave 0.7649 for 0.76488)."""
    return math.floor(score * 10_000) / 10_000
