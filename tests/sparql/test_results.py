"""Result formatting (kg query output) keeps every term as it is."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("fmt, rdf", [("table", "turtle"), ("json", "json-ld"), ("xml", "xml")])
def test_construct_output_keeps_lexical_forms(fmt: str, rdf: str) -> None:
    # rdflib's serializers printed 1e+02 and 36 (and, in JSON-LD, false for " true")
    from rdflib import Dataset, Graph

    from kg_engine.sparql.results import format_result
    from kg_engine.store.terms import exact_literals

    xsd = "http://www.w3.org/2001/XMLSchema#"
    ds = Dataset()
    with exact_literals():
        ds.parse(data=f'<urn:a> <urn:p> "1.0E2"^^<{xsd}double>, "036"^^<{xsd}integer>, '
                      f'" true"^^<{xsd}boolean> .', format="turtle")
        text = format_result(ds.query("CONSTRUCT WHERE { ?s ?p ?o }"), fmt)
        back = Graph().parse(data=text, format=rdf)
    assert {str(o) for o in back.objects()} == {"1.0E2", "036", " true"}


def test_construct_turtle_uses_the_prefixes_given() -> None:
    from kg_engine.api import KnowledgeGraph
    from kg_engine.sparql.results import format_result

    kg = KnowledgeGraph("sqlite://")
    kg.update("INSERT DATA { <http://music.example/a> <http://music.example/by> "
              "<http://music.example/b> }")
    result = kg.query("CONSTRUCT { ?b <http://music.example/hasAlbum> ?a } "
                      "WHERE { ?a <http://music.example/by> ?b }")
    text = format_result(result, "table", {"m": "http://music.example/"})
    assert "@prefix m: <http://music.example/> ." in text
    assert "m:b m:hasAlbum m:a" in text and "ns1:" not in text  # was ns1:b ns1:hasAlbum ns1:a
