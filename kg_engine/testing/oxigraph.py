"""Copy kg-engine triples into pyoxigraph, an engine independent of ours, to cross-check answers.

Used by the LUBM rule tests and benchmarks: counting query answers with pyoxigraph over the
materialised store checks the reasoner without trusting kg-engine's own SPARQL layer.

>>> from rdflib import Literal, URIRef
>>> ex = URIRef("http://example.org/a")
>>> store = oxigraph_store([(ex, ex, Literal("x", lang="en"))])
>>> len(store)
1
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import BNode, URIRef
from rdflib.term import Node


def to_oxigraph(term: Node) -> Any:
    """The pyoxigraph term equal to an rdflib IRI, blank node or literal (lexical form kept)."""
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def oxigraph_store(triples: Iterable[tuple[Node, ...]]) -> Any:
    """A new in-memory ``pyoxigraph.Store`` holding ``triples`` in its default graph.

    Args:
        triples: ``(s, p, o)`` or ``(s, p, o, g)`` tuples of rdflib terms; the graph is ignored
            (everything lands in the default graph, as LUBM queries expect).

    Returns:
        The filled store.
    """
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_extend(
        ox.Quad(to_oxigraph(t[0]), to_oxigraph(t[1]), to_oxigraph(t[2])) for t in triples
    )
    return store
