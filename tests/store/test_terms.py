"""Typed values of literals (``kg_engine.store.terms.typed_values``)."""

from __future__ import annotations

import pytest
from rdflib import XSD

from kg_engine.store.terms import typed_values


@pytest.mark.parametrize(("lex", "dt", "num"), [
    ("127", XSD.byte, 127.0), ("-128", XSD.byte, -128.0), ("128", XSD.byte, None), ("300", XSD.byte, None),
    ("0", XSD.nonNegativeInteger, 0.0), ("-1", XSD.nonNegativeInteger, None), ("0", XSD.positiveInteger, None),
    ("65535", XSD.unsignedShort, 65535.0), ("65536", XSD.unsignedShort, None), ("1", XSD.negativeInteger, None),
    (str(2**63), XSD.long, None), (str(2**40), XSD.integer, float(2**40)), ("1.5", XSD.int, None),
    ("2.5", XSD.decimal, 2.5),
])
def test_integer_subtypes_out_of_range_are_ill_typed(lex, dt, num):
    """An integer lexical form outside its datatype's range has no value (SPARQL 1.1 §17.4.2.4:
    ``isNumeric("1200"^^xsd:byte)`` is false); found by the rules differential (user-rule
    aggregates summed ``"300"^^xsd:byte``)."""
    assert typed_values(lex, str(dt))[0] == num


def test_sparql_is_numeric_of_an_out_of_range_byte(tmp_path):
    from kg_engine import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    rows = list(kg.query(
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT ?a ?b WHERE { "
        'BIND(isNumeric("1200"^^xsd:byte) AS ?a) BIND(isNumeric("12"^^xsd:byte) AS ?b) }'))
    assert [(a.toPython(), b.toPython()) for a, b in rows] == [(False, True)]
