"""Core vocabulary: quads, provenance validation, TripleBatch, IRI minting."""

import pytest
from rdflib import BNode, Literal, URIRef

from kg_engine.core import DEFAULT_GRAPH, Provenance, TripleBatch, as_quad, mint_iri


def test_as_quad_validates_terms_and_fills_the_graph() -> None:
    assert as_quad((URIRef("urn:a"), URIRef("urn:p"), Literal(1)))[3] == DEFAULT_GRAPH
    with pytest.raises(ValueError, match="predicate must be an IRI"):
        as_quad((URIRef("urn:a"), BNode(), URIRef("urn:b")))
    with pytest.raises(ValueError, match="expected a triple or quad"):
        as_quad((URIRef("urn:a"),))


def test_provenance_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="kind"):
        Provenance(kind="guessed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        Provenance(kind="extracted", confidence=1.5)
    with pytest.raises(ValueError, match="before start"):
        Provenance(kind="extracted", start=10, end=2)


def test_batch_keeps_provenance_aligned() -> None:
    b = TripleBatch(graph=URIRef("urn:g"))
    b.add((URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b")))
    prov = Provenance(kind="extracted", source="d1")
    b.add((URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:c")), prov)
    assert b.provenance == [None, prov]
    assert [p for _, p in b] == [None, prov]
    with pytest.raises(ValueError, match="provenance has 1 entries for 2 quads"):
        TripleBatch(quads=b.quads, provenance=[prov])


def test_mint_iri_is_stable_and_safe() -> None:
    assert mint_iri("New  York", base="urn:x:") == URIRef("urn:x:New_York")
    assert mint_iri("a/b", base="urn:x:", kind="Loc") == URIRef("urn:x:Loc/a%2Fb")
    with pytest.raises(ValueError):
        mint_iri("   ")
