"""Turtle, TriG, JSON-LD and RDF/XML through rdflib's serializers, every term kept.

The statements are read in id space, each distinct term decoded once, and handed to an
in-memory rdflib ``Dataset`` (``Graph`` for the triple formats, which merge the selected
graphs), written by :func:`kg_engine.core.rdf_text.rdf_bytes` (rdflib's serializers with
lexical forms, blank-node graph names and XML names kept right). Prefixes: rdflib's core ones
(``rdf``, ``rdfs``, ``xsd``, ``owl``) plus every prefix the store knows (``kg_meta`` bindings,
which loads of Turtle/TriG/RDF-XML files record).

Example:
    >>> from rdflib import URIRef, Literal
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), Literal("x"))])
    >>> print(to_rdflib(store, [0], quads=False).serialize(format="nt").strip())
    <urn:a> <urn:p> "x" .
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rdflib import Dataset, Graph, URIRef

from kg_engine.analytics.view import decode_ids
from kg_engine.core.rdf_text import rdf_bytes
from kg_engine.export.ntriples import statement_rows

__all__ = ["RDFLIB_FORMATS", "serialize", "store_prefixes", "to_rdflib"]

#: Our format name -> (rdflib serializer, dataset-aware).
RDFLIB_FORMATS: dict[str, tuple[str, bool]] = {
    "turtle": ("turtle", False),
    "trig": ("trig", True),
    "json-ld": ("json-ld", True),
    "xml": ("xml", False),
}


def store_prefixes(db: Any) -> list[tuple[str, URIRef]]:
    """The prefix bindings kept in the store (``kg_meta`` keys ``ns:<prefix>``)."""
    return [(key[3:], URIRef(value)) for key, value in db.fetchall(
        "SELECT key, value FROM kg_meta WHERE key LIKE 'ns:%' ORDER BY key")]


def to_rdflib(
    store: Any,
    graph_ids: Sequence[int],
    *,
    quads: bool,
    on_batch: Callable[[int], None] | None = None,
) -> Graph | Dataset:
    """An in-memory rdflib ``Dataset`` (``quads``) or merged ``Graph`` of the selected graphs."""
    db = store.db
    rows: list[tuple] = []
    for batch in statement_rows(db, graph_ids, quads):
        rows.extend(batch)
    terms = decode_ids(store, list({i for r in rows for i in r}))
    target: Graph | Dataset = Dataset() if quads else Graph(bind_namespaces="core")
    for prefix, ns in store_prefixes(db):
        target.bind(prefix, ns, override=True, replace=True)
    if quads:
        contexts = {g: (target.default_graph if g == 0 else target.graph(terms[g]))  # type: ignore[union-attr]
                    for g in {r[0] for r in rows}}
        target.addN((terms[s], terms[p], terms[o], contexts[g]) for g, s, p, o in rows)
    else:
        target.addN((terms[s], terms[p], terms[o], target) for s, p, o in rows)
    if on_batch is not None:
        on_batch(len(rows))
    return target


def serialize(data: Graph | Dataset, stream: Any, fmt: str) -> None:
    """Write ``data`` in our format ``fmt`` (a key of :data:`RDFLIB_FORMATS`) to ``stream``
    (lexical forms kept: :func:`kg_engine.core.rdf_text.rdf_bytes`)."""
    stream.write(rdf_bytes(data, fmt))
