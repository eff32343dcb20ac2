"""Notebook habits: ``to_pandas()`` and ``_repr_html_`` on every kind of query result."""

from __future__ import annotations

import datetime

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.api import KnowledgeGraph

pd = pytest.importorskip("pandas")


@pytest.fixture
def kg():
    kg = KnowledgeGraph("sqlite://")
    kg.add([(URIRef("urn:a"), URIRef("urn:age"), Literal(36)),
            (URIRef("urn:a"), URIRef("urn:born"), Literal("1815-12-10", datatype=XSD.date)),
            (URIRef("urn:a"), URIRef("urn:name"), Literal("<b>Ada</b>", lang="en")),
            (URIRef("urn:a"), URIRef("urn:addr"), BNode("x1"))])
    return kg


def test_select_to_pandas(kg):
    res = kg.query("SELECT ?p ?o WHERE { <urn:a> ?p ?o } ORDER BY ?p")
    df = res.to_pandas()
    assert list(df.columns) == ["p", "o"] and len(df) == 4
    cells = dict(zip(df.p, df.o))
    assert cells["urn:age"] == 36 and cells["urn:born"] == datetime.date(1815, 12, 10)
    assert cells["urn:name"] == "<b>Ada</b>" and cells["urn:addr"].startswith("_:")
    terms = res.to_pandas(native=False)
    assert all(isinstance(t, (URIRef, BNode, Literal)) for t in [*terms.p, *terms.o])
    assert dict(zip(terms.p, terms.o))[URIRef("urn:age")] == Literal(36)


def test_optional_unbound_is_none(kg):
    df = kg.query("SELECT ?s ?x WHERE { ?s <urn:age> ?a OPTIONAL { ?s <urn:nope> ?x } }"
                  ).to_pandas()
    assert df.to_dict("records") == [{"s": "urn:a", "x": None}]


def test_ask_construct_and_fallback_results(kg):
    assert kg.query("ASK { ?s ?p ?o }").to_pandas().to_dict("records") == [{"ask": True}]
    df = kg.query("CONSTRUCT { ?s <urn:k> ?o } WHERE { ?s <urn:age> ?o }").to_pandas()
    assert df.to_dict("records") == [{"s": "urn:a", "p": "urn:k", "o": 36}]
    assert "<td>true</td>" in kg.query("ASK { ?s ?p ?o }")._repr_html_()


def test_repr_html_escapes_and_truncates(kg):
    page = kg.query("SELECT ?o WHERE { <urn:a> <urn:name> ?o }")._repr_html_()
    assert "<th>?o</th>" in page and "&lt;b&gt;Ada&lt;/b&gt;" in page and "<b>Ada" not in page
    kg.add([(URIRef(f"urn:n{i}"), URIRef("urn:p"), Literal(i)) for i in range(80)])
    page = kg.query("SELECT ?s WHERE { ?s <urn:p> ?o }")._repr_html_()
    assert page.count("<tr>") == 51 and "80 rows, first 50 shown" in page


def test_select_to_arrow(kg):
    pa = pytest.importorskip("pyarrow")
    res = kg.query("SELECT ?p ?o ?none WHERE { <urn:a> ?p ?o OPTIONAL { ?o <urn:x> ?none } } "
                   "ORDER BY ?p")
    table = res.to_arrow()
    assert table.column_names == ["p", "o", "none"] and table.num_rows == 4
    assert table.schema.field("p").type == pa.string()
    # ?o mixes a number, a date, a string and a blank node: written as strings
    assert table.schema.field("o").type == pa.string()
    assert dict(zip(table["p"].to_pylist(), table["o"].to_pylist())) == {
        "urn:addr": "_:x1", "urn:age": "36", "urn:born": "1815-12-10", "urn:name": "<b>Ada</b>"}
    assert table["none"].null_count == 4
    ages = kg.query("SELECT ?age WHERE { ?s <urn:age> ?age }").to_arrow()
    assert ages.schema.field("age").type == pa.int64() and ages["age"].to_pylist() == [36]
