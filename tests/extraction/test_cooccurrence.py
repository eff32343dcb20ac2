"""pair_contexts: entities in one sentence vs. items of one coordinated list."""

from __future__ import annotations

import pytest

from kg_engine.extraction.cooccurrence import LISTED, TOGETHER, pair_contexts


def _ctx(text: str, ents: list[list[tuple[int, int]]]) -> dict[tuple[int, int], str]:
    words, sents, s = [], [], 0
    for w in text.split():
        words.append(w)
        sents.append(s)
        s += w == "."
    return pair_contexts(words, sents, ents)


@pytest.mark.parametrize("text,ents,expected", [
    # merely listed: no relation evidence
    ("Apple and Microsoft released earnings on Tuesday .", [[(0, 1)], [(2, 3)]], LISTED),
    ("Apple , Google , and Microsoft reported .", [[(0, 1)], [(5, 6)], [(2, 3)]], LISTED),
    ("Apple , Google , and Microsoft reported .", [[(0, 1)], [(2, 3)], [(5, 6)]], LISTED),
    ("Ships from France as well as Spain arrived .", [[(2, 3)], [(6, 7)]], LISTED),
    # related in the sentence
    ("Page founded Google .", [[(0, 1)], [(2, 3)]], TOGETHER),
    ("Curie was born in Warsaw , Poland .", [[(4, 5)], [(6, 7)]], TOGETHER),  # apposition
    ("Page and Brin founded Google .", [[(0, 1)], [(4, 5)]], TOGETHER),
])
def test_one_sentence(text, ents, expected):
    assert _ctx(text, ents)[(0, 1)] == expected


def test_across_sentences():
    text = "Apple and Microsoft released earnings . Microsoft later bought a stake in Apple ."
    ents = [[(0, 1), (12, 13)], [(2, 3), (6, 7)]]
    assert _ctx(text, ents)[(0, 1)] == TOGETHER  # the second sentence relates them
    only_listed = "Apple and Microsoft released earnings . Microsoft grew ."
    assert _ctx(only_listed, [[(0, 1)], [(2, 3), (6, 7)]])[(0, 1)] == LISTED
    apart = "Apple grew . Microsoft grew ."
    assert (0, 1) not in _ctx(apart, [[(0, 1)], [(3, 4)]])
    # a mention of the same entity twice in a list is not a pair
    assert _ctx("Apple and Apple .", [[(0, 1), (2, 3)]]) == {}
