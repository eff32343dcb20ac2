"""Shared vocabulary of every layer: terms, quads, provenance, TripleBatch, IRI minting.

No heavy dependencies: only rdflib.
"""

from kg_engine.core.batch import TripleBatch
from kg_engine.core.iri import DEFAULT_BASE, mint_iri, slug
from kg_engine.core.provenance import Provenance, ProvenanceKind
from kg_engine.core.terms import DEFAULT_GRAPH, Quad, Term, Triple, as_quad, check_triple

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_GRAPH",
    "Provenance",
    "ProvenanceKind",
    "Quad",
    "Term",
    "Triple",
    "TripleBatch",
    "as_quad",
    "check_triple",
    "mint_iri",
    "slug",
]
