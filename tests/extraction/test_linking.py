"""Tests of kg_engine.extraction.linking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kg_engine.extraction.linking import (
    EntityLinker,
    Mention,
    acronym,
    acronyms,
    cluster_mentions,
    normalize_name,
    pairwise_scores,
)


def test_normalize_name() -> None:
    assert normalize_name("The United States") == "united states"
    assert normalize_name("U.S.") == normalize_name("US") == "us"
    assert normalize_name("Acme's") == "acme"
    assert normalize_name("São  Paulo") == "sao paulo"
    assert normalize_name("World War II") == normalize_name("Second World War") == "world war 2"
    assert normalize_name("forwards") == "forward"
    assert normalize_name("Thames") == "thames"  # capitalised names keep their final s


@given(st.text(max_size=40))
def test_normalize_is_idempotent_on_its_output_shape(text: str) -> None:
    key = normalize_name(text)
    assert key == key.strip() and "  " not in key


def test_acronyms() -> None:
    assert acronym("World Trade Organization") == "wto"
    assert acronym("Paris") == ""
    assert acronyms("Bank of England") == {"be", "boe"}
    assert "wwii" in acronyms("World War II")


def test_cluster_aliases_and_types() -> None:
    ms = [Mention("World Trade Organization", "Org"), Mention("WTO", "Org"),
          Mention("River Thames", "Loc"), Mention("Thames", "Loc"), Mention("thames", "Org"),
          Mention("Nico Rosberg", "Person"), Mention("Rosberg", "Person"),
          Mention("soprano", None), Mention("mezzo-soprano", None)]
    c = cluster_mentions(ms)
    assert c[0] == c[1]
    assert c[2] == c[3] != c[4]
    assert c[5] == c[6]
    assert c[7] != c[8]  # a modifier is not a short form outside person names


def test_cluster_ambiguous_short_form_not_merged() -> None:
    c = cluster_mentions([("Anna Smith", "Person"), ("John Smith", "Person"), ("Smith", "Person")])
    assert len({c[0], c[1], c[2]}) == 3


def test_cluster_without_aliases_and_untyped() -> None:
    c = cluster_mentions(["WTO", "World Trade Organization", "the WTO"], aliases=False)
    assert c[0] == c[2] != c[1]
    c = cluster_mentions([("Paris", "Loc"), ("Paris", "Person")], type_aware=False)
    assert c[0] == c[1]


def test_pairwise_scores() -> None:
    s = pairwise_scores([0, 0, 1, 1], ["a", "a", "a", "b"])
    assert s["true_pairs"] == 1 and s["predicted_pairs"] == 2 and s["gold_pairs"] == 3
    assert abs(s["precision"] - 0.5) < 1e-9 and abs(s["recall"] - 1 / 3) < 1e-9


def test_linker_is_deterministic_and_type_aware() -> None:
    a = EntityLinker(base="urn:e/")
    b = EntityLinker(base="urn:e/")
    assert a.link("The Acme Corp.", "Org") == b.link("Acme Corp", "Org")
    assert a.link("Paris", "Location") != a.link("Paris", "Person")
    assert str(a.link("Paris", "Location")) == "urn:e/Location/paris"


def test_linker_known_labels() -> None:
    kl = EntityLinker(base="urn:e/", known={"Ada Lovelace": "urn:kb:ada",
                                            ("Paris", "Person"): "urn:kb:paris-hilton"})
    assert str(kl.link("ada lovelace", "Person")) == "urn:kb:ada"
    assert str(kl.link("Paris", "Person")) == "urn:kb:paris-hilton"
    assert str(kl.link("Paris", "Location")) == "urn:e/Location/paris"
    iris = kl.link_doc([("Ada Lovelace", "Person"), ("Lovelace", "Person")])
    assert [str(i) for i in iris] == ["urn:kb:ada", "urn:kb:ada"]


def test_link_doc_short_forms() -> None:
    kl = EntityLinker(base="urn:e/")
    iris = kl.link_doc([("International Business Machines", "Org"), ("IBM", "Org"),
                        ("Grace Hopper", "Person"), ("Hopper", "Person"), ("Hopper", "Org")])
    assert iris[0] == iris[1]
    assert iris[2] == iris[3] != iris[4]
