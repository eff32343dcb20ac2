"""Exact RDF text: JSON-LD keeps every statement."""

from __future__ import annotations

import io

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg_engine.core.rdf_text import rdf_bytes
from kg_engine.store.turtle import TurtleParser

P, Q, A = URIRef("urn:p"), URIRef("urn:q"), URIRef("urn:a")


@pytest.mark.parametrize("shape", ["self-loop", "cycle", "cycle-from-iri"])
def test_jsonld_keeps_blank_nodes_reached_only_from_blank_nodes(shape: str) -> None:
    """Found by the transport differential: a CONSTRUCT whose answer had ``_:a :p _:a`` or a
    cycle of blank nodes lost those statements in JSON-LD (kg query --format json, kg serve):
    rdflib's converter starts only from IRIs and unreferenced blank nodes."""
    a, b = BNode(), BNode()
    g = Graph()
    if shape == "self-loop":
        g.add((a, P, a))
    else:
        g.add((a, P, b))
        g.add((b, Q, a))
        if shape == "cycle-from-iri":
            g.add((A, P, a))
    g.add((b, Q, Literal("x")))
    back = Graph().parse(data=rdf_bytes(g, "json-ld"), format="json-ld")
    assert len(back) == len(g) and isomorphic(back, g)


_LISTS = {
    # an RDF collection as a Turtle user writes it: written as one "@list" and nothing else
    "list": "<urn:a> <urn:p> ( \"x\" \"y\" \"z\" ) .",
    # nested lists, a list as a subject, the empty list
    "nested": "<urn:a> <urn:p> ( ( 1 2 ) <urn:b> ( ) ) . ( \"s\" ) <urn:q> <urn:b> .",
    # not collections JSON-LD's @list can hold: a tail shared by two lists, a head used
    # twice, a typed list node, a node with two rdf:first — all kept as they are
    "shared-tail": "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . "
                   "<urn:a> <urn:p> _:l1 . <urn:b> <urn:p> _:l2 . "
                   "_:l1 rdf:first 1 ; rdf:rest _:t . _:l2 rdf:first 2 ; rdf:rest _:t . "
                   "_:t rdf:first 3 ; rdf:rest rdf:nil .",
    "head-twice": "<urn:a> <urn:p> _:h . <urn:b> <urn:p> _:h . "
                  "_:h <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> 1 ; "
                  "<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> "
                  "<http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .",
    "typed-node": "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . "
                  "<urn:a> <urn:p> _:h . _:h a rdf:List ; rdf:first 1 ; rdf:rest rdf:nil .",
    "two-firsts": "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . "
                  "<urn:a> <urn:p> _:h . _:h rdf:first 1, 2 ; rdf:rest rdf:nil .",
}


@pytest.mark.parametrize("shape", sorted(_LISTS))
def test_jsonld_writes_each_list_once(shape: str) -> None:
    """Found by a new user's catalogue (``lib:keywords ( "algorithms" "data structures"
    "MIX" )``; kg export kg.jsonld, then kg load): every list node was written twice — inside
    the "@list" and again as a node of its own with rdf:first/rdf:rest —, so the file read back
    held two more lists (277 statements exported, 289 loaded)."""
    g = Graph().parse(data=_LISTS[shape], format="turtle")
    back = Graph().parse(data=rdf_bytes(g, "json-ld"), format="json-ld")
    assert len(back) == len(g) and isomorphic(back, g)


@pytest.mark.parametrize("fmt", ["turtle", "trig"])
def test_turtle_writes_objects_whose_values_do_not_compare(fmt: str) -> None:
    """Found by the transport differential (seed 1400002): a CONSTRUCT answer holding
    "NaN"^^xsd:double and a decimal for one subject and predicate made rdflib's Turtle
    writer raise decimal.InvalidOperation (kg serve: HTTP 500)."""
    from rdflib import Dataset
    from rdflib.namespace import XSD

    g = Dataset() if fmt == "trig" else Graph()
    objs = [Literal("NaN", datatype=XSD.double), Literal("1.5", datatype=XSD.decimal),
            Literal("2", datatype=XSD.integer), Literal("2021-06-01", datatype=XSD.date)]
    for o in objs:
        g.add((A, P, o))
    back = Graph().parse(data=rdf_bytes(g, fmt), format=fmt)
    assert {str(o) for o in back.objects(A, P)} == {str(o) for o in objs}


@pytest.mark.parametrize("fmt", ["turtle", "trig"])
def test_turtle_keeps_the_lexical_form_of_odd_numbers(fmt: str) -> None:
    """Found by a new user's export round trip: rdflib's literal writer turned "inf"^^xsd:double
    into "INF", "nan" into "NaN" and "Infinity"^^xsd:decimal into "INF" (other terms: "inf" and
    "INF" became one statement, 5 exported, 4 read back), and warned "Serializing weird
    numerical" on the terminal for "12,50"^^xsd:decimal."""
    import warnings

    from rdflib.namespace import XSD

    g = Graph()
    for lex, dt in [("inf", XSD.double), ("INF", XSD.double), ("-inf", XSD.double),
                    ("nan", XSD.float), ("Infinity", XSD.decimal), ("12,50", XSD.decimal),
                    ("1.50", XSD.decimal), ("036", XSD.integer)]:
        g.add((A, P, Literal(lex, datatype=dt, normalize=False)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = rdf_bytes(g, fmt)
    parser = TurtleParser("export", trig=fmt == "trig")  # kg load's reader: terms as written
    back = {st[2] for st in parser.statements(io.StringIO(text.decode("utf-8")))}
    assert back == {(str(o), str(o.datatype), "") for o in g.objects()}
    assert len(back) == len(g) == 8
