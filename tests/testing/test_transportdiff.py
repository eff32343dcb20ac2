"""The transport differential on a fixed small seed: every transport carries the API's answers."""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("SPARQLWrapper")

from kg_engine.testing import transportdiff as td


def test_fixed_seed_agrees_on_every_transport() -> None:
    rep = td.run(1400000, 8, datasets=2, big=300)
    assert rep.queries == 8 + 2 * len(td.STRESS_QUERIES)
    assert not rep.failures, rep.failures[:3]
    for t in td.TRANSPORTS:
        assert rep.counts[t]["agree"] > 0, t
    assert rep.counts["explorer-search"]["agree"] == 2 * len(td.SEARCH_NEEDLES)
    # the stress literals hold U+0001: XML refuses those answers (and only those)
    assert rep.counts["http-xml"]["refused"] > 0 and rep.counts["cli-xml"]["refused"] > 0


def test_compare_select_sees_a_relabelled_blank_node_and_order() -> None:
    a, b = ("bnode", "x"), ("bnode", "y")
    one = ("iri", "urn:1")
    ref = (["s", "o"], [(a, one), (a, one)])
    assert td.compare_select(ref, (["s", "o"], [(b, one), (b, one)])) is None
    assert td.compare_select(ref, (["s", "o"], [(a, one), (b, one)])) is not None
    rows = [(("lit", "1", None, None),), (("lit", "2", None, None),)]
    assert td.compare_select((["o"], rows), (["o"], rows[::-1]), ["o"]) is not None
    assert td.compare_select((["o"], rows), (["o"], rows[::-1])) is None


def test_parsers_read_the_formats_exactly() -> None:
    assert td.parse_tsv('?x\t?y\n"a\\tb"@en\t\n') == (["x", "y"], [(("lit", "a\tb", None, "en"), None)])
    assert td.parse_csv('x\r\n"a\r\nb"\r\n') == (["x"], [(("csv", "a\r\nb"),)])


def test_table_parser_reads_rows_cuts_and_escapes() -> None:
    grid = ("┏━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n┃ ?s   ┃ ?o                       ┃\n"
            "┡━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n│ ex:a │ a\\\\b\\tc 日本             │\n"
            "│ _:x  │ abc… (+7 characters)     │\n│ <u:> │                          │\n"
            "└──────┴──────────────────────────┘\n3 rows\n")
    ex = {"ex": "http://example.org/"}
    assert td.parse_table(grid, ex) == (["s", "o"], [
        (("iri", "http://example.org/a"), ("text", "a\\b\tc 日本")),
        (("bnode", "x"), ("cut", "abc", 10)), (("iri", "u:"), ("text", ""))])
    assert td.table_form(("lit", "abcdefghij", None, None), 3) == ("cut", "abc", 10)
    with pytest.raises(ValueError, match="footer"):  # a row split over two lines
        td.parse_table(grid.replace("3 rows", "2 rows"), ex)
    with pytest.raises(ValueError, match="line up"):
        td.parse_table(grid.replace("│ <u:> │", "│ <u:>   │"), ex)
