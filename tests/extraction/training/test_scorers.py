"""Scorer tests against hand-computed values."""

from __future__ import annotations

import pytest

from kg_engine.extraction.training.scorers import (
    SEMEVAL_RELATIONS,
    prf,
    semeval_official,
    strict_prf,
)


def test_semeval_direction_counts_and_other_excluded() -> None:
    gold = ["Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Cause-Effect(e1,e2)",
            "Member-Collection(e2,e1)", "Other", "Other"]
    pred = ["Cause-Effect(e1,e2)", "Cause-Effect(e1,e2)", "Other",
            "Member-Collection(e2,e1)", "Member-Collection(e1,e2)", "Other"]
    res = semeval_official(gold, pred)
    ce = res["per_relation"]["Cause-Effect"]
    # Cause-Effect: 1 correct (wrong direction does not count); 2 predicted; 3 gold
    assert ce["p"] == pytest.approx(1 / 2) and ce["r"] == pytest.approx(1 / 3)
    assert ce["f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    mc = res["per_relation"]["Member-Collection"]
    assert mc["p"] == pytest.approx(1 / 2) and mc["r"] == pytest.approx(1.0)
    # macro over all 9 relations; the other 7 have F1 = 0
    assert res["macro_f1"] == pytest.approx((ce["f1"] + mc["f1"]) / 9)
    assert res["accuracy"] == pytest.approx(3 / 6)
    assert len(res["per_relation"]) == len(SEMEVAL_RELATIONS) == 9


def test_semeval_perfect_and_length_mismatch() -> None:
    gold = [f"{r}(e1,e2)" for r in SEMEVAL_RELATIONS]
    assert semeval_official(gold, gold)["macro_f1"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        semeval_official(gold, gold[:-1])


def test_strict_prf_requires_spans_types_and_label() -> None:
    P, O, L = "Peop", "Org", "Loc"
    gold = [
        {((0, 1, P), "Work_For", (3, 4, O)), ((0, 1, P), "Live_In", (5, 6, L))},
        {((2, 4, P), "Kill", (6, 7, P))},
    ]
    pred = [
        {((0, 1, P), "Work_For", (3, 4, O)),      # correct
         ((0, 1, P), "Live_In", (5, 7, L))},      # wrong tail span
        {((2, 4, O), "Kill", (6, 7, P)),          # wrong head type
         ((6, 7, P), "Kill", (2, 4, P))},         # wrong direction
    ]
    res = strict_prf(gold, pred, labels=["Work_For", "Live_In", "Kill"])
    assert res["micro_p"] == pytest.approx(1 / 4)
    assert res["micro_r"] == pytest.approx(1 / 3)
    assert res["micro_f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    # per label: Work_For 1.0; Live_In 0; Kill 0 -> macro = 1/3
    assert res["macro_f1"] == pytest.approx(1 / 3)
    assert res["per_label"]["Kill"]["support"] == 1


def test_prf_zero_division() -> None:
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
