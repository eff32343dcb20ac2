"""Result formatting (kg query output) keeps every term as it is."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("fmt, rdf", [("table", "turtle"), ("json", "json-ld"), ("xml", "xml")])
def test_construct_output_keeps_lexical_forms(fmt: str, rdf: str) -> None:
    # rdflib's serializers printed 1e+02 and 36 (and, in JSON-LD, false for " true")
    from rdflib import Dataset, Graph

    from kg_engine.core.terms import exact_literals
    from kg_engine.sparql.results import format_result

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


def test_construct_turtle_uses_the_empty_prefix_of_a_loaded_file(tmp_path) -> None:
    """A file's ``@prefix : <…>`` is the store's prefix ``""``: a CONSTRUCT's Turtle wrote
    ``ns1:lewis ns1:wrote ns1:narnia`` instead of ``:lewis :wrote :narnia``."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.sparql.results import format_result

    src = tmp_path / "books.ttl"
    src.write_text("@prefix : <http://books.example/> .\n:narnia :writtenBy :lewis .\n")
    kg = KnowledgeGraph("sqlite://")
    kg.load(src)
    result = kg.query("CONSTRUCT { ?a <http://books.example/wrote> ?b } "
                      "WHERE { ?b <http://books.example/writtenBy> ?a }")
    text = format_result(result, "table", dict(kg.graph.namespaces()))
    assert "@prefix : <http://books.example/> ." in text, text
    assert ":lewis :wrote :narnia" in text and "ns1:" not in text, text


def _one_literal_result(lex: str):
    from kg_engine.api import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.update(f'INSERT DATA {{ <urn:a> <urn:b> "{lex}" }}')
    return kg.query("SELECT ?o WHERE { ?s ?p ?o }")


def test_csv_keeps_a_crlf_inside_a_value() -> None:
    """Found by the transport differential: the rows' CRLF -> LF rewrite also changed the
    CR LF inside a quoted value (kg query --format csv answered "cr\\n" for "cr\\r\\n")."""
    import csv
    import io

    from kg_engine.sparql.results import format_result

    out = format_result(_one_literal_result(r"a\rb\r\nc"), "csv")
    assert out.endswith('"\n') and "\r\n" in out
    assert list(csv.reader(io.StringIO(out, newline=""))) == [["o"], ["a\rb\r\nc"]]


def test_tsv_writes_each_row_on_one_line() -> None:
    """Found by the transport differential: TSV cells were rdflib's n3(), a \"\"\"long
    string\"\"\" with a raw newline/tab for such literals, which split the row."""
    from kg_engine.sparql.results import format_result

    out = format_result(_one_literal_result(r"x\ty\nz\"q"), "tsv")
    assert out == '?o\n"x\\ty\\nz\\"q"\n'


def test_xml_keeps_a_cr_and_refuses_what_xml_cannot_carry() -> None:
    """Found by the transport differential: SPARQL XML wrote a CR raw (parsers read it as LF)
    and U+0001 raw (no parser reads the document)."""
    from rdflib.query import Result

    from kg_engine.errors import UnsupportedOperationError
    from kg_engine.sparql.results import format_result

    out = format_result(_one_literal_result(r"a\r\nb<&"), "xml")
    import io

    parsed = Result.parse(io.StringIO(out), format="xml")
    assert [str(r[0]) for r in parsed] == ["a\r\nb<&"]
    with pytest.raises(UnsupportedOperationError, match="U\\+0001"):
        format_result(_one_literal_result(r"c\u0001"), "xml")
