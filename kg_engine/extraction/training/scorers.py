"""Relation-extraction scorers: SemEval-2010 Task 8 official metric and strict (RE+) F1.

* :func:`semeval_official` — the official SemEval-2010 T8 score (scorer v1.2, case iii:
  "(9+1)-way evaluation with directionality taken into account"): for each of the 9 relations
  ``P = correct / predicted-with-that-relation``, ``R = correct / gold-with-that-relation``, where
  a prediction is correct only when relation *and* direction match; "Other" is excluded from the
  average; macro-F1 = mean of the 9 per-relation F1 scores.
* :func:`strict_prf` — SpERT-style strict relation F1: a predicted triple counts only if both
  entity spans, both entity types, the relation label and its direction match a gold triple.
  Micro over all triples; macro = mean of per-relation F1 (as ``sklearn``'s ``average="macro"``).

Example:
    >>> gold = ["Cause-Effect(e1,e2)", "Other", "Cause-Effect(e2,e1)"]
    >>> pred = ["Cause-Effect(e1,e2)", "Cause-Effect(e1,e2)", "Other"]
    >>> round(semeval_official(gold, pred)["per_relation"]["Cause-Effect"]["f1"], 4)
    0.5
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

__all__ = ["SEMEVAL_RELATIONS", "doc_relation_tuples", "prf", "semeval_official", "strict_prf"]

SEMEVAL_RELATIONS = [
    "Cause-Effect", "Component-Whole", "Content-Container", "Entity-Destination",
    "Entity-Origin", "Instrument-Agency", "Member-Collection", "Message-Topic",
    "Product-Producer",
]


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1 (0 where undefined).

    Example:
        >>> prf(2, 4, 5)
        (0.5, 0.4, 0.4444444444444445)
    """
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _undirected(label: str) -> str:
    return label.split("(", 1)[0]


def semeval_official(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Official SemEval-2010 T8 macro-F1 (9 relations, direction counted, Other excluded).

    Args:
        gold: gold 19-way labels (``"Cause-Effect(e1,e2)"``, …, ``"Other"``).
        pred: predicted labels, same order.

    Returns:
        ``{"macro_f1", "macro_p", "macro_r", "accuracy", "per_relation": {rel: {p, r, f1}}}``
        (fractions in 0–1; ``accuracy`` is 19-way).

    Raises:
        ValueError: the two lists differ in length.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    correct: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    for g, p in zip(gold, pred):
        n_gold[_undirected(g)] += 1
        n_pred[_undirected(p)] += 1
        if g == p:
            correct[_undirected(g)] += 1
    per: dict[str, dict[str, float]] = {}
    for rel in SEMEVAL_RELATIONS:
        p_, r_, f_ = prf(correct[rel], n_pred[rel], n_gold[rel])
        per[rel] = {"p": p_, "r": r_, "f1": f_}
    n = len(SEMEVAL_RELATIONS)
    return {
        "macro_f1": sum(v["f1"] for v in per.values()) / n,
        "macro_p": sum(v["p"] for v in per.values()) / n,
        "macro_r": sum(v["r"] for v in per.values()) / n,
        "accuracy": sum(g == p for g, p in zip(gold, pred)) / max(1, len(gold)),
        "per_relation": per,
    }


def strict_prf(
    gold: Iterable[Iterable[Hashable]],
    pred: Iterable[Iterable[Hashable]],
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Strict micro/macro relation F1 over per-document sets of triples.

    A triple is ``(head, label, tail)`` where ``head``/``tail`` are hashable entity keys that
    already include span *and* type, e.g. ``(start, end, "Peop")``.

    Args:
        gold: gold triples, one iterable per document.
        pred: predicted triples, one iterable per document (same order).
        labels: relation labels for the macro average (default: every label seen in gold).

    Returns:
        ``{"micro_p", "micro_r", "micro_f1", "macro_p", "macro_r", "macro_f1", "per_label"}``.

    Example:
        >>> g = [{((0, 1, "Peop"), "Work_For", (3, 4, "Org"))}]
        >>> p = [{((0, 1, "Peop"), "Work_For", (3, 4, "Org")), ((0, 1, "Peop"), "Live_In", (3, 4, "Org"))}]
        >>> strict_prf(g, p)["micro_f1"]
        0.6666666666666666
    """
    tp: Counter[str] = Counter()
    npred: Counter[str] = Counter()
    ngold: Counter[str] = Counter()
    for g_doc, p_doc in zip(gold, pred, strict=True):
        gs, ps = set(g_doc), set(p_doc)
        for t in gs:
            ngold[t[1]] += 1  # type: ignore[index]
        for t in ps:
            npred[t[1]] += 1  # type: ignore[index]
            if t in gs:
                tp[t[1]] += 1  # type: ignore[index]
    names = list(labels) if labels is not None else sorted(ngold)
    per = {}
    for lab in names:
        p_, r_, f_ = prf(tp[lab], npred[lab], ngold[lab])
        per[lab] = {"p": p_, "r": r_, "f1": f_, "support": ngold[lab]}
    mp, mr, mf = prf(sum(tp.values()), sum(npred.values()), sum(ngold.values()))
    k = max(1, len(names))
    return {
        "micro_p": mp, "micro_r": mr, "micro_f1": mf,
        "macro_p": sum(v["p"] for v in per.values()) / k,
        "macro_r": sum(v["r"] for v in per.values()) / k,
        "macro_f1": sum(v["f1"] for v in per.values()) / k,
        "per_label": per,
    }


def doc_relation_tuples(doc: Any, *, gold: bool) -> set[tuple[Any, str, Any]]:
    """Strict triples of a spaCy ``Doc``: entity keys ``(start, end, label)``.

    Args:
        doc: a Doc with ``doc._.rel`` (gold: ``{label: 1.0}`` per true pair) or, for
            predictions, ``doc._.relations`` as set by ``kg_relation_extractor``.
        gold: read gold annotations (``._.rel`` values ≥ 0.5) instead of predictions.

    Returns:
        ``{((h.start, h.end, h.label_), label, (t.start, t.end, t.label_))}``.
    """
    out: set[tuple[Any, str, Any]] = set()
    if gold:
        by_start = {e.start: e for e in doc.ents}
        for (hs, ts), labels in (doc._.rel or {}).items():
            h, t = by_start.get(hs), by_start.get(ts)
            if h is None or t is None:
                continue
            for lab, v in labels.items():
                if v >= 0.5:
                    out.add(((h.start, h.end, h.label_), lab, (t.start, t.end, t.label_)))
        return out
    for h, lab, t, _p in doc._.relations or []:
        out.add(((h.start, h.end, h.label_), lab, (t.start, t.end, t.label_)))
    return out
