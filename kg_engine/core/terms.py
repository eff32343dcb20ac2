"""RDF terms and statements: kg-engine speaks rdflib terms everywhere.

A :data:`Triple` is ``(subject, predicate, object)`` and a :data:`Quad` adds the graph.
The graph of a quad is either an IRI/blank node naming a graph or :data:`DEFAULT_GRAPH`,
the default graph of the dataset (rdflib's ``DATASET_DEFAULT_GRAPH_ID``).

Example:
    >>> from rdflib import URIRef, Literal
    >>> q = as_quad((URIRef("urn:a"), URIRef("urn:p"), Literal(1)))
    >>> q[3] == DEFAULT_GRAPH
    True
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import DC, DCTERMS, FOAF, RDFS, SKOS

from kg_engine.core import literal_warnings

__all__ = ["DEFAULT_GRAPH", "LABEL_PREDICATES", "Quad", "Term", "Triple", "as_quad", "check_triple",
           "exact_literals", "term_from_n3"]

Term = URIRef | BNode | Literal
Triple = tuple[Term, Term, Term]
Quad = tuple[Term, Term, Term, URIRef | BNode]

literal_warnings.install()  # rdflib's traceback per ill-typed literal kg-engine decodes

#: The name rdflib gives the default graph of a Dataset; quads in it are stored with graph id 0.
DEFAULT_GRAPH: URIRef = DATASET_DEFAULT_GRAPH_ID

#: The predicates that name things, preferred first: what the analytics views and the explorer
#: show as a node's label and what entity linking (``kg extract --link``) matches mentions to.
LABEL_PREDICATES: tuple[URIRef, ...] = (
    RDFS.label, SKOS.prefLabel, URIRef("http://schema.org/name"), URIRef("https://schema.org/name"),
    FOAF.name, SKOS.altLabel, DCTERMS.title, DC.title)


def check_triple(s: object, p: object, o: object) -> None:
    """Raise :class:`~kg_engine.errors.TermError` (a ``ValueError``) unless ``(s, p, o)``
    is a valid RDF triple of rdflib terms.

    Example:
        >>> check_triple(Literal("x"), URIRef("urn:p"), URIRef("urn:o"))
        Traceback (most recent call last):
        ...
        kg_engine.errors.TermError: subject must be an IRI or blank node, got rdflib.term.Literal('x')
    """
    from kg_engine.errors import TermError

    if not isinstance(s, (URIRef, BNode)):
        raise TermError(f"subject must be an IRI or blank node, got {s!r}")
    if not isinstance(p, URIRef):
        raise TermError(f"predicate must be an IRI, got {p!r}")
    if not isinstance(o, (URIRef, BNode, Literal)):
        raise TermError(f"object must be an IRI, blank node or literal, got {o!r}")


def as_quad(statement: tuple, graph: URIRef | BNode | None = None) -> Quad:
    """Normalise a triple or quad to a quad; ``graph`` (or the default graph) fills a triple.

    Raises:
        TermError: (a ``ValueError``) if the statement is not a triple/quad of valid RDF terms.
    """
    from kg_engine.errors import TermError

    if len(statement) == 3:
        s, p, o = statement
        g = graph
    elif len(statement) == 4:
        s, p, o, g = statement
        if hasattr(g, "identifier"):  # an rdflib Graph given as context
            g = g.identifier
    else:
        raise TermError(f"expected a triple or quad, got {len(statement)} items: {statement!r}")
    check_triple(s, p, o)
    if g is None:
        g = DEFAULT_GRAPH
    if not isinstance(g, (URIRef, BNode)):
        raise TermError(f"graph name must be an IRI or blank node, got {g!r}")
    return (s, p, o, g)


_NORMALIZE_LOCK = threading.Lock()
#: blocks inside :func:`exact_literals` now (all threads), and the setting found by the first
_exact_blocks = 0
_normalize_before: bool = True


@contextmanager
def exact_literals() -> Iterator[None]:
    """Within the block rdflib keeps literal lexical forms as written (no canonicalisation:
    ``"01"^^xsd:integer`` stays ``"01"``, not the other RDF term ``"1"``).

    rdflib only offers a module-level switch (``rdflib.NORMALIZE_LITERALS``). Blocks are
    counted across threads: the first turns the switch off, the last one out restores the
    setting the first found, so blocks may overlap and nest in any order (a ``kg serve``
    request parsing while a load runs in another thread) without waiting for each other
    and without leaving the switch off or turning it back on under a running parse. This is
    the one place kg-engine sets the switch.

    Example:
        >>> from rdflib import XSD
        >>> with exact_literals():
        ...     one = Literal("01", datatype=XSD.integer)
        >>> str(one), str(Literal("01", datatype=XSD.integer))
        ('01', '1')
    """
    global _exact_blocks, _normalize_before
    with _NORMALIZE_LOCK:
        if _exact_blocks == 0:
            _normalize_before = rdflib.NORMALIZE_LITERALS
            rdflib.NORMALIZE_LITERALS = False
        _exact_blocks += 1
    try:
        yield
    finally:
        with _NORMALIZE_LOCK:
            _exact_blocks -= 1
            if _exact_blocks == 0:
                rdflib.NORMALIZE_LITERALS = _normalize_before


def term_from_n3(text: str) -> Any:
    """The term of an N3 name (``<iri>``, ``_:b``, ``"lex"^^<dt>``, ``"x"@en``), literals with
    their lexical form as written: ``rdflib.util.from_n3`` alone would make ``"01"^^xsd:integer``
    the other term ``"1"`` (and ``" 7 "`` ``"7"``, a ``Z`` dateTime ``+00:00``).

    Example:
        >>> term_from_n3('"01"^^<http://www.w3.org/2001/XMLSchema#integer>').n3()
        '"01"^^<http://www.w3.org/2001/XMLSchema#integer>'
        >>> term_from_n3("<urn:a>")
        rdflib.term.URIRef('urn:a')
    """
    from rdflib.util import from_n3

    with exact_literals():
        return from_n3(text)
