"""Scores as probabilities: one temperature fitted on the validation split.

Raw logits of a link predictor are over- or under-confident. Temperature scaling (Guo et
al., ICML 2017) divides them by one scalar ``T`` chosen to minimise the negative
log-likelihood of held-out truths, which leaves every ranking unchanged:

* models trained with binary cross-entropy (NBFNet) give ``P(triple true) = sigmoid(s / T)``;
  ``T`` minimises the binary cross-entropy over the validation queries' candidates (the true
  answer positive, every other non-filtered candidate negative; large candidate sets are
  subsampled with weights, so the base rate is kept);
* 1-vs-all models (ComplEx, DistMult, R-GCN, CompGCN) give ``P(answer = x) =
  softmax(s / T)`` over the query's candidates; ``T`` minimises the cross-entropy of the true
  answer.

The fit is saved beside the checkpoint (``calibration.json``) and used by
:mod:`kg_engine.gnn.predict` for the ``confidence`` written with each prediction.

Example:
    >>> import torch
    >>> logits = torch.tensor([4.0, -4.0, 4.0, -4.0])   # confident, half of them wrong
    >>> labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    >>> t = fit_binary_temperature(logits, labels)
    >>> t > 10                                           # flattened towards 0.5
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from kg_engine.core.files import atomic_write
from kg_engine.errors import ModelError

__all__ = [
    "CALIBRATION_FILE",
    "Calibration",
    "fit_binary_temperature",
    "fit_calibration",
    "fit_softmax_temperature",
    "load_calibration",
]

CALIBRATION_FILE = "calibration.json"
#: search interval of log(T)
_LOG_T = (math.log(0.02), math.log(50.0))
#: negatives kept per query for the binary fit (the rest are represented by weights)
_NEGATIVES = 256
#: queries kept for the softmax fit (each keeps its full candidate row)
_SOFTMAX_ROWS = 2048


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature.

    Attributes:
        temperature: ``T`` (logits are divided by it).
        kind: ``"sigmoid"`` or ``"softmax"``.
        nll_before: validation loss at ``T = 1``.
        nll_after: validation loss at the fitted ``T``.
        queries: validation queries used.
    """

    temperature: float = 1.0
    kind: str = "sigmoid"
    nll_before: float = float("nan")
    nll_after: float = float("nan")
    queries: int = 0

    def probabilities(self, logits: Tensor, drop: Tensor | None = None) -> Tensor:
        """Calibrated probabilities of ``logits [B, N]``; ``drop`` marks candidates outside the
        softmax (known answers, wrong types), which get probability 0 there."""
        z = logits.float() / self.temperature
        if self.kind == "sigmoid":
            return torch.sigmoid(z)
        if drop is not None:
            z = z.masked_fill(drop, float("-inf"))
        return torch.softmax(z, dim=1).nan_to_num(0.0)

    def save(self, folder: str | Path) -> None:
        """Write ``calibration.json`` into ``folder``."""
        atomic_write(Path(folder, CALIBRATION_FILE), json.dumps(asdict(self), indent=2).encode("utf-8"))


def load_calibration(folder: str | Path, kind: str) -> Calibration:
    """The calibration saved in ``folder`` (``T = 1`` of ``kind`` when there is none).

    Raises:
        ModelError: the file is there but is no calibration (not JSON, a field missing, a
            temperature that is not a positive number, an unknown kind): ``T = 1`` in its
            place made the scores silently uncalibrated.
    """
    path = Path(folder, CALIBRATION_FILE)
    if not path.is_file():
        return Calibration(kind=kind)
    fields = ("temperature", "kind", "nll_before", "nll_after", "queries")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = Calibration(**{k: raw[k] for k in fields})
        t = found.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < math.inf:
            raise ValueError(f"temperature {t!r} is not a positive number")
        if found.kind not in ("sigmoid", "softmax"):
            raise ValueError(f"kind {found.kind!r} is neither 'sigmoid' nor 'softmax'")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        why = f"no field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelError(f"{path} is not a valid calibration ({why}): delete it to use the "
                         "uncalibrated scores (T = 1), or retrain into the folder to fit it "
                         "again (kg gnn train --output FOLDER)") from None
    return found


def _golden(loss: Callable[[float], float]) -> float:
    """Minimise ``loss(T)`` over log(T) in :data:`_LOG_T` (golden-section search, unimodal)."""
    lo, hi = _LOG_T
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(math.exp(a)), loss(math.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(math.exp(b))
    return math.exp((lo + hi) / 2)


def _bce(logits: Tensor, labels: Tensor, weights: Tensor, t: float) -> float:
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits / t, labels, weight=weights, reduction="sum"
    )
    return float(loss / weights.sum())


def fit_binary_temperature(logits: Tensor, labels: Tensor, weights: Tensor | None = None) -> float:
    """``T`` minimising the (weighted) binary cross-entropy of ``sigmoid(logits / T)``."""
    logits, labels = logits.double(), labels.double()
    weights = torch.ones_like(logits) if weights is None else weights.double()
    return _golden(lambda t: _bce(logits, labels, weights, t))


def _ce(rows: Tensor, target: Tensor, t: float) -> float:
    return float(torch.nn.functional.cross_entropy(rows / t, target))


def fit_softmax_temperature(rows: Tensor, target: Tensor) -> float:
    """``T`` minimising the cross-entropy of ``softmax(rows / T)`` (dropped entries ``-inf``)."""
    rows = rows.double()
    return _golden(lambda t: _ce(rows, target, t))


@torch.no_grad()
def fit_calibration(
    scorer: Callable[[Tensor, Tensor], Tensor],
    evaluator: Any,
    triples: Tensor,
    kind: str,
    batch_size: int = 256,
    device: Any = "cpu",
    seed: int = 0,
) -> Calibration:
    """Fit the temperature on ``triples`` (the validation split), both query directions.

    Args:
        scorer: ``scorer(h, r) -> [B, N]`` logits.
        evaluator: the :class:`~kg_engine.gnn.evaluation.RankingEvaluator` (its
            ``drop_mask`` removes other known answers and wrongly typed candidates).
        triples: ``LongTensor [n, 3]``.
        kind: ``"sigmoid"`` (binary cross-entropy models) or ``"softmax"``.
        batch_size: queries per scorer call.
        device: the scorer's device.
        seed: seed of the subsampling.

    Returns:
        The :class:`Calibration` (``T = 1`` when ``triples`` is empty).
    """
    queries = evaluator.queries(triples)
    if not len(queries):
        return Calibration(kind=kind)
    gen = torch.Generator().manual_seed(seed)
    if kind == "softmax" and len(queries) > _SOFTMAX_ROWS:
        queries = queries[torch.randperm(len(queries), generator=gen)[:_SOFTMAX_ROWS]]
    pos, neg, neg_w, rows_out, targets = [], [], [], [], []
    for start in range(0, len(queries), batch_size):
        q = queries[start : start + batch_size].to(device)
        logits = scorer(q[:, 0], q[:, 1]).float().cpu()
        q = q.cpu()
        drop = evaluator.drop_mask(q[:, 0], q[:, 1]).cpu()
        idx = torch.arange(len(q))
        drop[idx, q[:, 2]] = False
        if kind == "softmax":
            rows_out.append(logits.masked_fill(drop, float("-inf")))
            targets.append(q[:, 2])
            continue
        pos.append(logits[idx, q[:, 2]])
        drop[idx, q[:, 2]] = True  # negatives: every other kept candidate
        for i in range(len(q)):
            cand = logits[i][~drop[i]]
            if len(cand) > _NEGATIVES:
                pick = torch.randperm(len(cand), generator=gen)[:_NEGATIVES]
                neg_w.append(torch.full((_NEGATIVES,), len(cand) / _NEGATIVES))
                cand = cand[pick]
            else:
                neg_w.append(torch.ones(len(cand)))
            neg.append(cand)
    if kind == "softmax":
        rows, target = torch.cat(rows_out), torch.cat(targets)
        t = fit_softmax_temperature(rows, target)
        return Calibration(t, kind, _ce(rows.double(), target, 1.0), _ce(rows.double(), target, t), len(rows))
    p, n = torch.cat(pos), torch.cat(neg)
    logits = torch.cat([p, n]).double()
    labels = torch.cat([torch.ones(len(p)), torch.zeros(len(n))]).double()
    weights = torch.cat([torch.ones(len(p)), torch.cat(neg_w)]).double()
    t = fit_binary_temperature(logits, labels, weights)
    return Calibration(t, kind, _bce(logits, labels, weights, 1.0), _bce(logits, labels, weights, t), len(p))
