"""RDF text from rdflib graphs with every term kept as it is: Turtle, TriG, JSON-LD, RDF/XML.

rdflib's serializers change literals on the way out: its Turtle serializer writes numbers as
bare tokens (``"036"^^xsd:integer`` as ``036``, doubles re-formatted: ``"1.0E2"`` as
``1e+02``), which read back as other literals; its JSON-LD serializer writes native JSON
numbers and booleans (``" true"^^xsd:boolean`` came back ``false``) and merges graphs named by
a blank node into the default graph; its RDF/XML serializer writes prefixes and blank node
labels that are no XML names. Here only canonical integers and booleans are written bare,
everything else as ``"lex"^^datatype``; JSON-LD is converted graph by graph with plain
values; RDF/XML gets XML-name prefixes and labels and is checked well-formed, or refused.
Used by ``kg export``, the SPARQL endpoint (CONSTRUCT/DESCRIBE answers, Graph Store GET) and
``kg query`` (CONSTRUCT output).

Example:
    >>> from rdflib import Graph, Literal, URIRef, XSD
    >>> g = Graph()
    >>> one_hundred = Literal("1.0E2", datatype=XSD.double, normalize=False)
    >>> _ = g.add((URIRef("urn:a"), URIRef("urn:p"), one_hundred))
    >>> print(rdf_bytes(g, "turtle").decode().strip().splitlines()[-1])
    ns1:a ns1:p "1.0E2"^^xsd:double .
"""

from __future__ import annotations

import json
import re
from typing import Any

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import RDF, XSD
from rdflib.plugins.serializers.trig import TrigSerializer
from rdflib.plugins.serializers.turtle import _GEN_QNAME_FOR_DT, TurtleSerializer

from kg_engine.errors import UnsupportedOperationError

__all__ = ["ExactTrigSerializer", "ExactTurtleSerializer", "rdf_bytes", "sparql_xml_term", "term_ntriples"]


def rdf_bytes(data: Graph | Dataset, fmt: str) -> bytes:
    """``data`` as UTF-8 text in ``fmt``: ``turtle``, ``trig``, ``json-ld`` or ``xml``.

    Raises:
        UnsupportedOperationError: RDF/XML cannot write this graph (control characters in a
            literal, a predicate IRI that ends in no XML name).
        ValueError: another format.
    """
    if fmt == "turtle":
        return ExactTurtleSerializer(data).serialize_bytes()
    if fmt == "trig":
        return ExactTrigSerializer(data).serialize_bytes()
    if fmt == "json-ld":
        return json.dumps(_jsonld(data), indent=2, sort_keys=True,
                          ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        return _rdfxml(data)
    raise ValueError(f"no exact serialisation to {fmt!r}: turtle, trig, json-ld or xml")


_CANONICAL_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


class _NoPrefixedName(Exception):
    pass


#: a namespace IRI cut inside a %-escape ("http://e/%" of "http://e/%25"): not an IRI
_CUT_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")


class _ExactLiterals:
    """Turtle/TriG literals whose shorthand reads back as the very same literal, and
    prefixed names only where the prefix's IRI is one (rdflib splits ``http://e/%25`` into
    the namespace ``http://e/%``, which no Turtle parser reads back)."""

    def sortProperties(self, properties):  # type: ignore[no-untyped-def]
        # rdflib sorts each object list by value: "NaN"^^xsd:double beside a decimal raised
        # decimal.InvalidOperation (kg serve answered a CONSTRUCT as Turtle with HTTP 500)
        for objects in properties.values():
            objects.sort(key=lambda t: (type(t).__name__, str(t), str(getattr(t, "datatype", None) or ""),
                                        getattr(t, "language", None) or ""))
        first = [p for p in self.predicateOrder if p in properties]
        return list(dict.fromkeys(first + sorted(properties)))

    def isValidList(self, l_):  # type: ignore[no-untyped-def]
        # ( … ) only for a list it holds exactly: each cell a blank node with one rdf:first,
        # one rdf:rest and nothing else, each cell after the head named by its predecessor's
        # rdf:rest alone (rdflib checked the head only: a tail cell named elsewhere too was
        # written inside the ( … ) and again on its own, so read back it was two nodes)
        seen: list = []
        node = l_
        while node != RDF.nil:
            if not isinstance(node, BNode) or node in seen:
                return False
            pairs = list(self.store.predicate_objects(node))
            if len(pairs) != 2 or {p for p, _ in pairs} != {RDF.first, RDF.rest}:
                return False
            if seen and (self._references[node] != 1 or node in self._serialized):
                return False
            seen.append(node)
            node = next(o for p, o in pairs if p == RDF.rest)
        return bool(seen)

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
                # written out in full: rdflib's _literal_n3 "fixes" the lexical form of a
                # number whose float is infinite or NaN ("inf"^^xsd:double -> "INF",
                # "Infinity"^^xsd:decimal -> "INF": another term) and warns about others
                dt = self.get_pname(node.datatype, _GEN_QNAME_FOR_DT) or f"<{node.datatype}>"
                return f"{node._quote_encode()}^^{dt}"
        return super().label(node, position)


class _Bytes:
    def serialize_bytes(self) -> bytes:
        import io

        out = io.BytesIO()
        self.serialize(out, encoding="utf-8")  # type: ignore[attr-defined]
        return out.getvalue()


class ExactTurtleSerializer(_ExactLiterals, _Bytes, TurtleSerializer):
    """rdflib's Turtle serializer, lexical forms kept (see the module docstring)."""


class ExactTrigSerializer(_ExactLiterals, _Bytes, TrigSerializer):
    """rdflib's TriG serializer, lexical forms kept (see the module docstring); the default
    graph first, then the named graphs by name (rdflib's in-memory dataset gives its graphs
    in a set's order, which followed ``PYTHONHASHSEED``: two exports of one store differed)."""

    def __init__(self, store: Graph | Dataset) -> None:
        super().__init__(store)
        self.contexts.sort(key=lambda g: (g.identifier != self.default_context,
                                          str(g.identifier)))


def _jsonld(data: Graph | Dataset) -> Any:
    """The JSON-LD document (expanded form) of ``data``.

    rdflib's JsonLDSerializer turns its use_native_types option into a (truthy) tuple, so
    numbers would lose their lexical form ("036" -> 36), and its converter merges graphs named
    by a blank node into the default graph; so its converter is called per graph here.
    """
    from rdflib.plugins.serializers.jsonld import Converter
    from rdflib.plugins.shared.jsonld.context import Context

    class _Converter(Converter):
        shared: set[Any]  # blank nodes of several graphs: never written as a "@list" cell

        def from_graph(self, graph: Graph) -> list:
            # rdflib starts only from IRIs and unreferenced blank nodes: a blank node
            # reached from blank nodes alone (``_:a :p _:a``, ``_:a :p _:b . _:b :q _:a``)
            # was never written, its statements silently lost
            nodemap: dict[Any, Any] = {}
            self.listed: set[Any] = set()
            # in one order (a set's followed PYTHONHASHSEED: two exports of one store listed
            # their nodes in other orders)
            subjects = sorted(set(graph.subjects()), key=lambda t: (isinstance(t, BNode), str(t)))
            for s in subjects:  # every cell a "@list" will hold, before any node is written
                if isinstance(s, BNode):  # (else a cell met first was written on its own too)
                    self.to_collection(graph, s)
            for s in subjects:
                if not isinstance(s, BNode) or not any(graph.subjects(None, s)):
                    self.process_subject(graph, s, nodemap)
            for s in subjects:
                if s not in self.listed:  # a list node is written inside its "@list"
                    self.process_subject(graph, s, nodemap)  # nothing for those written
            return list(nodemap.values())

        def to_collection(self, graph: Graph, head: Any) -> list | None:
            # a "@list" only for a collection it holds exactly: each node a blank node with
            # one rdf:first, one rdf:rest and nothing else, referenced once (rdflib's also
            # took shared tails and rdf:type rdf:List nodes, whose statements were then
            # written twice or lost)
            if head == RDF.nil:
                return []
            items: list[Any] = []
            chain: list[Any] = []
            node, via = head, None
            while node != RDF.nil:
                if not isinstance(node, BNode) or node in chain:
                    return None
                pairs = list(graph.predicate_objects(node))
                firsts = [o for p, o in pairs if p == RDF.first]
                rests = [o for p, o in pairs if p == RDF.rest]
                refs = list(graph.subject_predicates(node))
                if len(pairs) != 2 or len(firsts) != 1 or len(rests) != 1 or len(refs) != 1:
                    return None
                if via is not None and refs[0] != via or node in self.shared:
                    return None
                chain.append(node)
                items.append(firsts[0])
                node, via = rests[0], (node, RDF.rest)
            self.listed.update(chain)
            return items

    converter = _Converter(Context(None), use_native_types=False, use_rdf_type=False)
    converter.shared = set()
    if not isinstance(data, Dataset):
        return converter.convert(data)
    # a blank node of several graphs keeps its "@id" in each (a "@list" makes new nodes)
    seen: dict[Any, Any] = {}
    for s_, _, o, g in data.quads((None, None, None, None)):
        for t in (s_, o):
            if isinstance(t, BNode) and seen.setdefault(t, g) != g:
                converter.shared.add(t)
    out = list(converter.from_graph(data.default_graph))
    for graph in sorted(data.graphs(), key=lambda g: str(g.identifier)):  # not a set's order
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
            ends in no XML name, say); nothing is written.
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


def _escape_string(s: str) -> str:
    return (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t"))


def term_ntriples(term: Any) -> str:
    """A term in N-Triples syntax on one line (also the TSV result format's syntax)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        out = f'"{_escape_string(str(term))}"'
        if term.language:
            return f"{out}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{out}^^<{term.datatype}>"
        return out
    return str(term)


#: characters XML 1.0 cannot hold, not even as a character reference
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(s: str) -> str:
    """``s`` as XML 1.0 character data: ``& < >`` escaped and CR written ``&#13;`` (a parser
    reads a raw CR, or CR LF, as LF).

    Raises:
        UnsupportedOperationError: ``s`` holds a character XML 1.0 cannot carry (U+0001…).
    """
    bad = _NOT_XML.search(s)
    if bad is not None:
        raise UnsupportedOperationError(
            f"SPARQL XML results (XML 1.0) cannot carry the character U+{ord(bad.group()):04X} "
            f"of the value {s[max(0, bad.start() - 20):bad.start() + 20]!r}; ask for JSON, TSV "
            "or CSV results instead")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def sparql_xml_term(term: Any) -> str:
    """A term as the SPARQL XML results format writes it (``<uri>``, ``<bnode>``, ``<literal>``).

    Raises:
        UnsupportedOperationError: the term holds a character XML 1.0 cannot carry.

    Example:
        >>> sparql_xml_term(Literal("a\\rb<", lang="en"))
        '<literal xml:lang="en">a&#13;b&lt;</literal>'
    """
    from xml.sax.saxutils import quoteattr

    if isinstance(term, URIRef):
        return f"<uri>{xml_text(str(term))}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{xml_text(str(term))}</bnode>"
    attrs = ""
    if term.language:
        attrs = f" xml:lang={quoteattr(term.language)}"
    elif term.datatype is not None and term.datatype != XSD.string:
        attrs = f" datatype={quoteattr(str(term.datatype))}"
    return f"<literal{attrs}>{xml_text(str(term))}</literal>"
