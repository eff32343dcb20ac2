"""A store exercising every corner of the RDF formats: graphs, blank nodes, literals."""

from __future__ import annotations

import pytest
from rdflib import RDF, RDFS, BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.api import KnowledgeGraph

EX = "http://example.org/kg/"


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


def quads_of_sample() -> list[tuple]:
    b1, b2 = BNode("addr1"), BNode("x-y.z")  # the second label is not a plain N-Triples label
    g1, g2 = URIRef("http://example.org/graphs/one"), URIRef("http://example.org/graphs/two")
    d = None
    return [
        (ex("ada"), RDF.type, ex("Person"), d),
        (ex("ada"), RDFS.label, Literal("Ada Lovelace", lang="en"), d),
        (ex("ada"), RDFS.label, Literal("Ada", lang="fr-be"), d),
        (ex("ada"), ex("age"), Literal("036", datatype=XSD.integer, normalize=False), d),
        (ex("ada"), ex("height"), Literal("1.65", datatype=XSD.decimal), d),
        (ex("ada"), ex("born"), Literal("1815-12-10", datatype=XSD.date), d),
        (ex("ada"), ex("quote"), Literal('She said "hi"\nthen\tleft \\ é 😀'), d),
        (ex("ada"), ex("knows"), ex("charles"), d),
        (ex("ada"), ex("address"), b1, d),
        (b1, ex("city"), Literal("London"), d),
        (b1, ex("near"), b2, d),
        (b2, ex("name"), Literal("bridge"), d),
        (ex("charles"), ex("knows"), ex("ada"), g1),
        (ex("charles"), ex("weird"), URIRef("http://example.org/a%20b?x=1&y=2#frag"), g1),
        (ex("charles"), ex("custom"), Literal("x", datatype=URIRef("http://example.org/dt")), g1),
        (ex("ada"), ex("knows"), ex("charles"), g2),  # the same triple in two graphs
        (ex("ada"), ex("bool"), Literal("true", datatype=XSD.boolean), g2),
    ]


@pytest.fixture
def sample_kg():
    kg = KnowledgeGraph("sqlite://")
    for s, p, o, g in quads_of_sample():
        kg.add([(s, p, o)], graph=g)
    kg.graph.bind("ex", EX)
    yield kg
    kg.close()
