"""How two entities of a document occur together: in a sentence, or only as items of one list.

A relation extractor that sees "Apple and Microsoft released earnings on Tuesday." has no
evidence for any relation between Apple and Microsoft: they are merely *listed* together.
:func:`pair_contexts` finds, for every pair of entities (clusters of mention spans) that share a
sentence, whether some shared sentence relates them other than as items of one coordinated list.

A **list** is a run of mentions in one sentence separated only by list separators (``,`` ``and``
``or`` ``nor`` ``&`` ``as well as`` ``/`` and their comma forms) with at least one conjunction
among them: "Apple, Google and Microsoft" is a list, "Paris, France" is not (an appositive
location), nor is "Page founded Google".

Example:
    >>> words = "Apple and Microsoft released earnings . Page founded Google in Menlo Park , California .".split()
    >>> sents = [0] * 6 + [1] * 9
    >>> ents = [[(0, 1)], [(2, 3)], [(6, 7)], [(8, 9)], [(10, 12)], [(13, 14)]]
    >>> ctx = pair_contexts(words, sents, ents)
    >>> ctx[(0, 1)], ctx[(2, 3)], ctx[(4, 5)], (0, 2) in ctx
    ('listed', 'together', 'together', False)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LISTED", "TOGETHER", "pair_contexts"]

#: the pair shares at least one sentence where it is not merely two items of one list
TOGETHER = "together"
#: every sentence the pair shares has both as items of one coordinated list
LISTED = "listed"

_CONJUNCTIONS = {"and", "or", "nor", "&", "as well as", "/", "and/or", "plus"}
_SEPARATORS = {",", ";", *_CONJUNCTIONS, *(", " + c for c in _CONJUNCTIONS),
               *(c + " the" for c in _CONJUNCTIONS), *(", " + c + " the" for c in _CONJUNCTIONS)}


def _separator(gap: Sequence[str]) -> tuple[bool, bool]:
    """(is a list separator, contains a conjunction) for the words between two mentions."""
    text = " ".join(w.lower() for w in gap)
    if text not in _SEPARATORS:
        return False, False
    return True, text not in {",", ";"}


def pair_contexts(words: Sequence[str], sent_of_token: Sequence[int],
                  entities: Sequence[Sequence[tuple[int, int]]]) -> dict[tuple[int, int], str]:
    """``{(i, j): TOGETHER | LISTED}`` for entity pairs ``i < j`` sharing a sentence.

    Args:
        words: the document's tokens.
        sent_of_token: sentence index of every token.
        entities: per entity, its mentions as ``[start, end)`` token offsets.

    Pairs that share no sentence are absent.
    """
    by_sent: dict[int, list[tuple[int, int, int]]] = {}
    for e, spans in enumerate(entities):
        for a, b in spans:
            by_sent.setdefault(sent_of_token[a], []).append((a, b, e))
    out: dict[tuple[int, int], str] = {}
    for ms in by_sent.values():
        ms.sort()
        # chains of mentions joined by separators; a chain with a conjunction is a list
        chain_of: list[int] = []
        is_list: list[bool] = []
        for k, (a, _b, _e) in enumerate(ms):
            if k:
                prev_end = ms[k - 1][1]
                sep, conj = _separator(words[prev_end:a]) if prev_end < a else (False, False)
                if sep:
                    chain_of.append(chain_of[-1])
                    is_list[-1] = is_list[-1] or conj
                    continue
            chain_of.append(len(is_list))
            is_list.append(False)
        seen: dict[tuple[int, int], bool] = {}
        for x in range(len(ms)):
            for y in range(x + 1, len(ms)):
                ex, ey = ms[x][2], ms[y][2]
                if ex == ey:
                    continue
                key = (min(ex, ey), max(ex, ey))
                listed = chain_of[x] == chain_of[y] and is_list[chain_of[x]]
                seen[key] = seen.get(key, True) and listed
        for key, listed in seen.items():
            if not listed or key not in out:
                out[key] = LISTED if listed and out.get(key) != TOGETHER else TOGETHER
    return out
