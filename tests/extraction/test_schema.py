"""The relation schema config: IRIs, labels, typed literals, errors."""

from __future__ import annotations

import pytest
from rdflib import XSD, Literal

from kg_engine.errors import ConfigError, InputNotFoundError
from kg_engine.extraction.pipeline import PIPELINES_DIR
from kg_engine.extraction.schema import RelationSchema, load_schema


def test_shipped_schema():
    s = load_schema(PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
    assert len(s.relations) == 96
    assert str(s.relation_iri("P569")) == "http://www.wikidata.org/prop/direct/P569"
    assert s.label("P569") == "date of birth"
    assert s.docred_type("GPE") == "LOC" and s.docred_type("DATE") == "TIME"
    assert s.docred_type("ORDINAL") is None
    assert s.is_literal("TIME") and not s.is_literal("PER")


@pytest.mark.parametrize("text,kind,expected", [
    ("7 November 1867", "TIME", Literal("1867-11-07", datatype=XSD.date)),
    ("March 14, 1879", "TIME", Literal("1879-03-14", datatype=XSD.date)),
    ("May 2001", "TIME", Literal("2001-05", datatype=XSD.gYearMonth)),
    ("1934", "TIME", Literal("1934", datatype=XSD.gYear)),
    ("the 1930s", "TIME", Literal("the 1930s")),
    ("3,200", "NUM", Literal("3200", datatype=XSD.decimal)),
    ("about forty", "NUM", Literal("about forty")),
])
def test_literals(text, kind, expected):
    s = RelationSchema.from_dict({"relations": {"P569": "date of birth"}})
    assert s.literal(text, kind) == expected


def test_own_iris_and_errors(tmp_path):
    s = RelationSchema.from_dict({"relations": {"P19": "born in"},
                                  "relation_iris": {"P19": "http://ex.org/bornIn"}})
    assert str(s.relation_iri("P19")) == "http://ex.org/bornIn"
    with pytest.raises(ConfigError, match="P99999"):
        RelationSchema.from_dict({"relations": {"P99999": "x"}}, "my.cfg").check_relations(["P19"])
    with pytest.raises(ConfigError, match="not one of"):
        RelationSchema.from_dict({"relations": {"P19": "x"}, "ner_types": {"PERSON": "HUMAN"}})
    with pytest.raises(ConfigError, match="unknown"):
        RelationSchema.from_dict({"relations": {"P19": "x"}, "colour": 1})
    with pytest.raises(InputNotFoundError):
        load_schema(tmp_path / "none.cfg")
    bad = tmp_path / "bad.cfg"
    bad.write_text("[other]\na = 1\n")
    with pytest.raises(ConfigError, match="no \\[schema\\]"):
        load_schema(bad)


def test_per_relation_thresholds():
    s = RelationSchema.from_dict({"relations": {"P19": "x", "P17": "y"},
                                  "thresholds": {"P19": 0.8}})
    assert s.threshold("P19") == 0.8 and s.threshold("P17") == 0.5
    assert s.threshold("P19", 0.9) == 0.9  # the global threshold is a floor
    with pytest.raises(ConfigError, match="P31"):
        RelationSchema.from_dict({"relations": {"P19": "x"}, "thresholds": {"P31": 0.9}})
    with pytest.raises(ConfigError, match=r"\[0.5, 1\]"):
        RelationSchema.from_dict({"relations": {"P19": "x"}, "thresholds": {"P19": 0.3}})
    with pytest.raises(ConfigError, match=r"\[0.5, 1\]"):
        RelationSchema.from_dict({"relations": {"P19": "x"}, "thresholds": {"P19": "high"}})
