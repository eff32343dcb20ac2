"""A small store with asserted, extracted, inferred and predicted statements."""

from __future__ import annotations

import random

import pytest
from rdflib import RDF, RDFS, Literal, URIRef

from kg_engine.core.batch import TripleBatch
from kg_engine.core.provenance import Provenance
from kg_engine.store import open_store

EX = "urn:ex:"


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


@pytest.fixture
def small_store():
    store = open_store("sqlite://")
    store.add([
        (ex("a"), ex("knows"), ex("b")),
        (ex("b"), ex("knows"), ex("c")),
        (ex("c"), ex("knows"), ex("a")),
        (ex("d"), ex("worksFor"), ex("c")),
        (ex("a"), RDF.type, ex("Person")),
        (ex("a"), RDFS.label, Literal("Ada")),
        (ex("a"), ex("age"), Literal(36)),
        (ex("lonely"), RDF.type, ex("Person")),
    ])
    store.add([(ex("a"), ex("knows"), ex("b")), (ex("b"), ex("related"), ex("d"))],
              URIRef("urn:kg-engine:inferred:rdfs"))
    store.add_batch(TripleBatch(
        graph=URIRef("urn:kg-engine:predicted:nbfnet"),
        quads=[(ex("d"), ex("knows"), ex("a"), URIRef("urn:kg-engine:predicted:nbfnet"))],
        provenance=[Provenance(kind="predicted", confidence=0.75, agent="nbfnet")],
    ))
    store.add_batch(TripleBatch(
        graph=URIRef("urn:docs"),
        quads=[(ex("c"), ex("mentions"), ex("e"), URIRef("urn:docs"))],
        provenance=[Provenance(kind="extracted", source="doc-1", confidence=0.9)],
    ))
    yield store
    store.close()


def random_store(n_nodes: int, n_edges: int, seed: int, n_preds: int = 3):
    """A store with a random multigraph (parallel edges, self-loops, isolated typed nodes)."""
    rng = random.Random(seed)
    store = open_store("sqlite://")
    triples = {
        (ex(f"n{rng.randrange(n_nodes)}"), ex(f"p{rng.randrange(n_preds)}"),
         ex(f"n{rng.randrange(n_nodes)}"))
        for _ in range(n_edges)
    }
    triples |= {(ex(f"n{i}"), RDF.type, ex("T")) for i in range(n_nodes)}
    store.add(sorted(triples))
    return store
