"""TripleBatch: the one thing the layers pass each other.

Extraction workers build batches without any database connection; the store writes them in
one transaction. A batch holds quads of rdflib terms and, optionally, a :class:`Provenance`
per quad. Duplicate quads are kept (the store ignores them); provenance is kept per quad.

Example:
    >>> from rdflib import URIRef, Literal
    >>> b = TripleBatch(graph=URIRef("urn:g"))
    >>> b.add((URIRef("urn:alice"), URIRef("urn:name"), Literal("Alice")))
    >>> len(b), b.quads[0][3]
    (1, rdflib.term.URIRef('urn:g'))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rdflib import BNode, URIRef

from kg_engine.core.provenance import Provenance
from kg_engine.core.terms import DEFAULT_GRAPH, Quad, as_quad

__all__ = ["TripleBatch"]


@dataclass
class TripleBatch:
    """A batch of quads with optional per-quad provenance.

    Args:
        graph: graph given to triples added without one (default: the default graph).
        quads: the statements, as ``(s, p, o, g)`` tuples.
        provenance: ``None`` or one :class:`Provenance` (or ``None``) per quad.
    """

    graph: URIRef | BNode = DEFAULT_GRAPH
    quads: list[Quad] = field(default_factory=list)
    provenance: list[Provenance | None] | None = None

    def __post_init__(self) -> None:
        if self.provenance is not None and len(self.provenance) != len(self.quads):
            raise ValueError(
                f"provenance has {len(self.provenance)} entries for {len(self.quads)} quads"
            )

    def add(self, statement: tuple, provenance: Provenance | None = None) -> None:
        """Append one triple (put in ``self.graph``) or quad, validating its terms."""
        quad = as_quad(statement, self.graph)
        if provenance is not None and self.provenance is None:
            self.provenance = [None] * len(self.quads)
        self.quads.append(quad)
        if self.provenance is not None:
            self.provenance.append(provenance)

    def extend(self, statements: Iterable[tuple], provenance: Provenance | None = None) -> None:
        """Append many triples or quads, all with the same provenance."""
        for st in statements:
            self.add(st, provenance)

    @classmethod
    def of(
        cls,
        statements: Iterable[tuple],
        graph: URIRef | BNode = DEFAULT_GRAPH,
        provenance: Provenance | None = None,
    ) -> TripleBatch:
        """Build a batch from triples/quads (validated), optionally with one provenance."""
        batch = cls(graph=graph)
        batch.extend(statements, provenance)
        return batch

    def __len__(self) -> int:
        return len(self.quads)

    def __iter__(self) -> Iterator[tuple[Quad, Provenance | None]]:
        provs = self.provenance if self.provenance is not None else [None] * len(self.quads)
        return iter(zip(self.quads, provs))
