"""REGEX's ``i`` flag by XPath's rule on every backend, whatever the locale.

XPath (F&O 3.1 §5.6.1.1): under ``i`` a character matches another when their ``lower-case``
or their ``upper-case`` agree. Found by the environment differential: SQLite (Python's
``regex``) matched ``i`` with ``İ``; PostgreSQL's ``~*`` followed the database's ``LC_CTYPE``
(C: no case beyond ASCII, so ``é`` did not match ``É``; ``tr_TR``: ``i`` matched ``İ``).
"""

from __future__ import annotations

import pytest

from kg_engine import KnowledgeGraph
from kg_engine.sparql.xpath_regex import case_blind

TEXTS = ["İstanbul", "istanbul", "IRMAK", "ÉCLAIR", "Straße", "ſun", "\u212aelvin", "ΣΟΦΟΣ"]
# (pattern, texts it matches under "i")
CASES = [
    ("^i", {"istanbul", "IRMAK"}),  # not İstanbul: lower-case(İ) is i + U+0307, upper-case(i) I
    ("ı", {"istanbul", "IRMAK", "ÉCLAIR", "\u212aelvin"}),  # upper-case(ı) = I = upper-case(i)
    ("^é", {"ÉCLAIR"}),
    ("STRASSE|straße", {"Straße"}),
    ("^s", {"ſun", "Straße"}),  # upper-case(ſ) = S
    ("^k", {"\u212aelvin"}),  # lower-case(KELVIN SIGN) = k
    ("σοφ", {"ΣΟΦΟΣ"}),
]


def _xpath(pattern_char: str, text_char: str) -> bool:
    return (pattern_char.lower() == text_char.lower()
            or pattern_char.upper() == text_char.upper())


def test_the_expected_matches_follow_the_xpath_rule() -> None:
    assert not _xpath("i", "İ") and _xpath("ı", "I") and _xpath("s", "ſ")
    assert _xpath("k", "\u212a") and _xpath("é", "É")
    assert case_blind("a[bc]") is None and case_blind(r"\p{Lu}") is None


@pytest.mark.parametrize(("pattern", "want"), CASES)
def test_regex_i_flag_follows_xpath_on_every_backend(store_url: str, pattern: str,
                                                      want: set[str]) -> None:
    kg = KnowledgeGraph(store_url)
    kg.update("INSERT DATA { " + " ".join(f'<urn:ex:t{i}> <urn:ex:p> "{t}" .'
                                          for i, t in enumerate(TEXTS)) + " }")
    rows = kg.query(f'SELECT ?o WHERE {{ ?s <urn:ex:p> ?o FILTER(REGEX(?o, "{pattern}", "i")) }}')
    assert {str(r[0]) for r in rows} == want
