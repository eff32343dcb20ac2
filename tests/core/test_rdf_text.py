"""Exact RDF text: JSON-LD keeps every statement."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg_engine.core.rdf_text import rdf_bytes

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
