"""Turtle, TriG, JSON-LD and RDF/XML through rdflib's serializers.

The statements are read in id space, each distinct term decoded once, and handed to an
in-memory rdflib ``Dataset`` (``Graph`` for the triple formats, which merge the selected
graphs), whose serializer writes the file. Turtle, TriG and JSON-LD keep every literal's lexical form:
rdflib writes numbers as bare tokens (``036``, doubles re-formatted as ``%e`` with six
digits) which its parser reads back as other literals, so only canonical integers and
booleans are written bare here, everything else as ``"lex"^^datatype``. Prefixes: rdflib's core ones (``rdf``, ``rdfs``,
``xsd``, ``owl``) plus every prefix the store knows (``kg_meta`` bindings, which loads of
Turtle/TriG/RDF-XML files record).

Example:
    >>> from rdflib import URIRef, Literal
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), Literal("x"))])
    >>> print(to_rdflib(store, [0], quads=False).serialize(format="nt").strip())
    <urn:a> <urn:p> "x" .
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import XSD
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.plugins.serializers.turtle import _GEN_QNAME_FOR_DT, TurtleSerializer

from kg_engine.analytics.view import decode_ids
from kg_engine.export.ntriples import statement_rows

__all__ = ["RDFLIB_FORMATS", "ExactTrigSerializer", "ExactTurtleSerializer", "serialize",
           "store_prefixes", "to_rdflib"]

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


_CANONICAL_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


class _NoPrefixedName(Exception):
    pass


#: a namespace IRI cut inside a %-escape ("http://e/%" of "http://e/%25"): not an IRI
_CUT_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")


class _ExactLiterals:
    """Turtle/TriG literals whose shorthand reads back as the very same literal, and
    prefixed names only where the prefix's IRI is one (rdflib splits ``http://e/%25`` into
    the namespace ``http://e/%``, which no Turtle parser reads back)."""

    def addNamespace(self, prefix, namespace):  # type: ignore[no-untyped-def]
        if _CUT_ESCAPE.search(str(namespace)):
            raise _NoPrefixedName
        return super().addNamespace(prefix, namespace)

    def get_pname(self, uri, gen_prefix=True):  # type: ignore[no-untyped-def]
        try:
            return super().get_pname(uri, gen_prefix)
        except _NoPrefixedName:
            return None  # written in full: <http://e/%25>

    def label(self, node, position):  # type: ignore[no-untyped-def]
        if isinstance(node, Literal) and node.datatype is not None:
            lex = str(node)
            exact = (node.datatype == XSD.integer and _CANONICAL_INTEGER.fullmatch(lex)) or (
                node.datatype == XSD.boolean and lex in ("true", "false"))
            if not exact:
                return node._literal_n3(
                    use_plain=False,
                    qname_callback=lambda dt: self.get_pname(dt, _GEN_QNAME_FOR_DT))
        return super().label(node, position)


class ExactTurtleSerializer(_ExactLiterals, TurtleSerializer):
    """rdflib's Turtle serializer, lexical forms kept (see the module docstring)."""


class ExactTrigSerializer(_ExactLiterals, TrigSerializer):
    """rdflib's TriG serializer, lexical forms kept (see the module docstring)."""


def serialize(data: Graph | Dataset, stream: Any, fmt: str) -> None:
    """Write ``data`` in our format ``fmt`` (a key of :data:`RDFLIB_FORMATS`) to ``stream``."""
    if fmt == "turtle":
        ExactTurtleSerializer(data).serialize(stream, encoding="utf-8")
    elif fmt == "trig":
        ExactTrigSerializer(data).serialize(stream, encoding="utf-8")
    elif fmt == "json-ld":
        text = json.dumps(_jsonld(data), indent=2, sort_keys=True, ensure_ascii=False)
        stream.write(text.encode("utf-8"))
    else:
        stream.write(_rdfxml(data))


def _jsonld(data: Graph | Dataset) -> Any:
    """The JSON-LD document (expanded form) of ``data``.

    rdflib's JsonLDSerializer turns its use_native_types option into a (truthy) tuple, so
    numbers would lose their lexical form ("036" -> 36), and its converter merges graphs named
    by a blank node into the default graph; so its converter is called per graph here.
    """
    from rdflib.plugins.serializers.jsonld import Converter
    from rdflib.plugins.shared.jsonld.context import Context

    converter = Converter(Context(None), use_native_types=False, use_rdf_type=False)
    if not isinstance(data, Dataset):
        return converter.convert(data)
    out = list(converter.from_graph(data.default_graph))
    for graph in data.graphs():
        name = graph.identifier
        if name == DATASET_DEFAULT_GRAPH_ID or not len(graph):
            continue
        out.append({"@id": name.n3() if isinstance(name, BNode) else str(name),
                    "@graph": converter.from_graph(graph)})
    return out


#: prefixes every XML parser takes (expat follows XML 1.0 4th edition names: Turtle prefixes
#: such as "a·̀" are not XML names there)
_XML_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _rdfxml(data: Graph | Dataset) -> bytes:
    """``data`` as RDF/XML, checked to be well-formed XML before it is written.

    Raises:
        UnsupportedOperationError: RDF/XML cannot write this graph (a predicate IRI that
            ends in no XML name, say); the file is not written.
    """
    from xml.parsers import expat

    from kg_engine.errors import UnsupportedOperationError

    graph = Graph(bind_namespaces="core")
    for prefix, namespace in data.namespaces():
        if _XML_PREFIX.fullmatch(prefix):
            graph.bind(prefix, namespace, override=True, replace=True)
    # blank node labels become rdf:nodeID values, which must be XML names: fresh labels
    # (a label is no data; "_:a·̀" is a Turtle label but no XML name)
    blanks: dict[BNode, BNode] = {}

    def label(term: Any) -> Any:
        return blanks.setdefault(term, BNode()) if isinstance(term, BNode) else term

    graph.addN((label(s), p, label(o), graph) for s, p, o in data.triples((None, None, None)))
    try:
        text = graph.serialize(format="xml", encoding="utf-8")
        expat.ParserCreate(namespace_separator=" ").Parse(text, True)
    except Exception as exc:  # noqa: BLE001 - rdflib's refusal, or an XML name expat refuses
        raise UnsupportedOperationError(
            f"RDF/XML cannot express this graph ({str(exc).splitlines()[0][:200]}); export it "
            "as Turtle, N-Triples, TriG or JSON-LD instead") from None
    return text
