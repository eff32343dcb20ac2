"""The evaluator against a brute-force reference implementation (random scores, ties)."""

from __future__ import annotations

import pytest
import torch

from kg_engine.errors import ModelError
from kg_engine.gnn.evaluation import (
    KnownFilter,
    RankingEvaluator,
    metrics_from_ranks,
    realistic_ranks,
)


def reference_ranks(score_table, known, test, num_relations):
    """Brute force: for each query loop over all entities in plain Python."""
    known_set = {tuple(x) for x in known.tolist()}
    out_tail, out_head = [], []
    for h, r, t in test.tolist():
        for (q_h, q_r, ans, is_head) in ((h, r, t, False), (t, r + num_relations, h, True)):
            scores = score_table[(q_h, q_r)]
            target = scores[ans]
            better = tied = 0
            for x, s in enumerate(scores):
                if x == ans:
                    continue
                triple = (x, r, t) if is_head else (h, r, x)
                if triple in known_set:
                    continue
                if s > target:
                    better += 1
                elif s == target:
                    tied += 1
            rank = ((1 + better) + (1 + better + tied)) / 2
            (out_head if is_head else out_tail).append(rank)
    return torch.tensor(out_tail + out_head, dtype=torch.double)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_with_ties(seed):
    g = torch.Generator().manual_seed(seed)
    n, num_rel = 17, 3
    known = torch.stack(
        [torch.randint(0, n, (120,), generator=g), torch.randint(0, num_rel, (120,), generator=g),
         torch.randint(0, n, (120,), generator=g)], 1
    ).unique(dim=0)
    test = known[torch.randperm(len(known), generator=g)[:40]]
    # few distinct values -> many ties
    table = {
        (h, r): torch.randint(0, 4, (n,), generator=g).float().tolist()
        for h in range(n) for r in range(2 * num_rel)
    }

    def scorer(h, r):
        return torch.tensor([table[(a, b)] for a, b in zip(h.tolist(), r.tolist())])

    ev = RankingEvaluator(known, num_entities=n, num_relations=num_rel)
    ranks = ev.ranks(scorer, test, batch_size=7)
    ref = reference_ranks(table, known, test, num_rel)
    assert torch.allclose(ranks, ref)
    m = ev.evaluate(scorer, test, batch_size=5)
    assert m["mrr"] == pytest.approx(float((1 / ref).mean()))
    assert m["hits@1"] == pytest.approx(float((ref <= 1).double().mean()))
    assert m["hits@10"] == pytest.approx(float((ref <= 10).double().mean()))
    assert m["count"] == 2 * len(test)


def test_constant_scorer_gets_expected_random_rank():
    known = torch.tensor([[0, 0, 1]])
    ev = RankingEvaluator(known, num_entities=10, num_relations=1)
    ranks = ev.ranks(lambda h, r: torch.zeros(len(h), 10), known)
    # 9 other candidates tied: realistic rank = (1 + 10) / 2
    assert ranks.tolist() == [5.5, 5.5]


def test_filter_removes_other_true_answers_only():
    known = torch.tensor([[0, 0, 1], [0, 0, 2], [3, 0, 2]])
    f = KnownFilter(known, num_entities=4, num_relations=1)
    m = f.mask(torch.tensor([0, 2, 1]), torch.tensor([0, 1, 0]))
    assert m[0].tolist() == [False, True, True, False]
    assert m[1].tolist() == [True, False, False, True]  # inverse: heads of (?, 0, 2)
    assert not m[2].any()
    assert len(f) == 6


def test_realistic_rank_ignores_filter_on_target_and_rejects_nan():
    scores = torch.tensor([[1.0, 3.0, 2.0]])
    mask = torch.tensor([[True, True, False]])
    assert realistic_ranks(scores, torch.tensor([0]), mask).tolist() == [2.0]
    with pytest.raises(ModelError):
        realistic_ranks(torch.tensor([[float("nan"), 1.0]]), torch.tensor([0]))


def test_wrong_scorer_shape_is_reported():
    ev = RankingEvaluator(torch.tensor([[0, 0, 1]]), num_entities=3, num_relations=1)
    with pytest.raises(ModelError, match="shape"):
        ev.evaluate(lambda h, r: torch.zeros(len(h), 2), torch.tensor([[0, 0, 1]]))


def test_metrics_from_ranks():
    m = metrics_from_ranks(torch.tensor([1.0, 3.0, 2.0, 20.0]))
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2 + 1 / 20) / 4)
    assert m["hits@3"] == 0.75 and m["hits@1"] == 0.25
    assert m["tail_mrr"] == pytest.approx((1 + 1 / 3) / 2)
