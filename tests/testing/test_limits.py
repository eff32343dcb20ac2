"""The size/depth limits generator and driver (kg_engine.testing.limits), on small sizes."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from kg_engine.testing import limits


def test_generation_is_seeded_per_family() -> None:
    a = limits.generate(3, ["in-list", "values"], per_family=2)
    b = limits.generate(3, ["values"], per_family=2)
    assert [c.request for c in a[3:]] == [c.request for c in b]  # other families do not shift it
    assert a[2].size == limits.FAMILIES["in-list"][2] and a[-1].size == limits.FAMILIES["values"][2]


@pytest.mark.parametrize("family, size", [("union", 30), ("values", 80), ("odd-term", 0),
                                          ("nfc-nfd", 2), ("delete-insert", 50)])
def test_small_cases_agree_with_pyoxigraph(family: str, size: int) -> None:
    pytest.importorskip("pyoxigraph")
    case = limits.FAMILIES[family][0](random.Random(5), size)
    out = limits.run_case(case, "sqlite://", "api", time_limit=60)
    assert out.status in ("agree", "both-reject"), out.detail


def test_judge_flags_a_failed_update_that_changed_the_store() -> None:
    case = limits.FAMILIES["failed-update"][0](random.Random(1), 10)
    out = limits.judge(case, ("error", "StoreError: no such file", "", False), ("reject", "x"))
    assert out.status == "store-changed" and not out.ok
    wrong = limits.judge(limits.FAMILIES["union"][0](random.Random(1), 3),
                         ("ok", (["s", "o"], [(1, 2)])), ("ok", (["o", "s"], [(2, 1), (2, 1)])))
    assert wrong.status == "differ"
    assert limits.judge(case, ("ok", Counter({1: 1})), ("ok", Counter({1: 1}))).ok
