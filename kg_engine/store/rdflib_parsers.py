"""rdflib parser plugins that make ``Graph.parse`` into a kg-engine store strict and atomic.

rdflib users fill a kg-engine store with ``Graph(store="kg_engine").parse(...)`` or
``Dataset(store="kg_engine").parse(...)``. rdflib's own parsers lose data on the way: its
Turtle parser stores ``ex:a ex:p 1.2.3 .`` as ``1.2`` and takes literal subjects, every
rdflib parser rewrites ``"01"^^xsd:integer`` to ``"1"``, its N-Quads parser (7.x) empties
the default graph of the store it parses into, and a file that fails half-way leaves its
first statements in the store. So, for a target graph whose store can take a whole parse
at once (it has ``load_parsed``, as :class:`~kg_engine.store.rdflib_store.KgEngineStore`):

* Turtle, TriG, N-Triples and N-Quads are read by kg-engine's strict parsers
  (:mod:`kg_engine.store.turtle`, :mod:`kg_engine.store.ntriples`), which refuse what the W3C
  grammars refuse with an :class:`~kg_engine.errors.RDFSyntaxError` naming the input, line
  and column and the fix, and keep every lexical form as written;
* the other formats (RDF/XML, JSON-LD, TriX, N3, HexTuples) are read by rdflib's parsers
  with literal canonicalisation off, into memory first;

and the statements are written in one transaction: a failure leaves the store as it was.
The untrusted-input guards of the loader apply (:mod:`kg_engine.store.untrusted`): a JSON-LD
``@context`` naming another document is not fetched unless ``parse(...,
allow_contexts=[address])`` allows it, and XML entity bombs are refused.
Relative IRIs resolve against the base rdflib would use (``publicID``, else the source's
address, else the current directory), in every format (rdflib's RDF/XML parser kept them
relative without a ``publicID``); in a document without a base of its own (``@base``,
``xml:base``) and without ``publicID`` the first one is logged as a warning, with its line
where the parser gives one (the IRIs then depend on where the file lay, or on the current
directory), and an IRI left relative is an error (:mod:`kg_engine.store.relative_iris`).
Other stores get rdflib's parsers unchanged.

Where the input comes from stays rdflib's business: ``parse(source=URL)`` is fetched by rdflib
(``create_input_source``) before any parser runs, exactly as for a Memory graph. kg-engine's
own entry points never fetch (``kg load``, SPARQL ``LOAD`` without ``allow_remote_load``).

Example:
    >>> from rdflib import Graph
    >>> from kg_engine.store.rdflib_store import KgEngineStore
    >>> g = Graph(store=KgEngineStore("sqlite://"))
    >>> _ = g.parse(data='<urn:a> <urn:p> +01 .', format="turtle")
    >>> [o.n3() for o in g.objects()]
    ['"+01"^^<http://www.w3.org/2001/XMLSchema#integer>']
    >>> try:
    ...     g.parse(data='<urn:a> <urn:p> 1.2.3 .', format="turtle")
    ... except Exception as exc:
    ...     print(type(exc).__name__, exc)  # doctest: +ELLIPSIS
    RDFSyntaxError <data>:1:20: expected ',' ... found '.3' (1.2.3 is not a number: a decimal has one '.')
    >>> len(g)
    1
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Dataset, Graph
from rdflib import plugin as rdflib_plugin
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.parser import InputSource, Parser, PythonInputSource

from kg_engine.core.lines import line_ends, where
from kg_engine.core.terms import exact_literals
from kg_engine.errors import RDFSyntaxError
from kg_engine.store.schema import BNODE
from kg_engine.store.terms import TermRow, decode, encode

# the parsers (loader, turtle, ntriples, untrusted) are imported by the functions that read:
# their grammars' regular expressions cost ~45 CPU-ms, which every process that opens a
# store (`kg query`) would pay at import

__all__ = ["Parsed", "quads", "read", "register"]

#: rdflib's names of each format this module takes over (the first is ours)
_NAMES = {
    "turtle": ("turtle", "ttl", "text/turtle"),
    "trig": ("trig", "application/trig"),
    "nt": ("nt", "ntriples", "nt11", "application/n-triples"),
    "nquads": ("nquads", "application/n-quads"),
    "xml": ("xml", "application/rdf+xml"),
    "json-ld": ("json-ld", "application/ld+json"),
    "trix": ("trix", "application/trix"),
    "n3": ("n3", "text/n3"),
    "hext": ("hext",),
}
_FORMAT = {name: fmt for fmt, names in _NAMES.items() for name in names}


@dataclass
class Parsed:
    """A document being read (see :func:`read`).

    Attributes:
        name: the input's name in messages.
        chunks: lists of ``(s, p, o, g)`` statements (``g`` ``None``: the default graph),
            produced as they are consumed (Turtle and TriG stream).
        row_of: statement key -> dictionary row, for
            :func:`~kg_engine.store.loader.load_statements`.
        prefixes: the document's prefixes (complete once ``chunks`` are consumed).
    """

    name: str
    chunks: Iterable[list[tuple]]
    row_of: Callable[[Any], TermRow]
    prefixes: dict[str, str] = field(default_factory=dict)


def read(source: InputSource, format: str, base: str = "", name: str | None = None,
         implicit_base: bool = False, **kwargs: Any) -> Parsed:
    """Read an rdflib input source the way ``Graph.parse`` into a kg-engine store does.

    Args:
        source: what ``rdflib.parser.create_input_source`` made of the input.
        format: an rdflib parser name (``turtle``, ``nt``, ``application/ld+json``…).
        base: the base IRI relative IRIs resolve against (none: each is an error).
        implicit_base: ``base`` is where the input came from (its address, or the current
            directory), not a ``publicID`` the caller chose: the first relative IRI resolved
            against it is warned (:class:`~kg_engine.store.turtle.TurtleParser`).
        name: the input's name in messages (default: its file path or address, or ``<data>``).
        **kwargs: rdflib parser options; ``allow_contexts=[address]`` lets a JSON-LD
            ``@context`` be fetched.

    Raises:
        RDFSyntaxError: malformed Turtle, TriG, N-Triples, N-Quads (file, line, column) or
            JSON; for the other formats rdflib's parsers raise their own errors.
        UnsupportedOperationError: a JSON-LD context that is not allowed.

    Example:
        >>> from rdflib.parser import create_input_source
        >>> doc = read(create_input_source(data='<urn:a> <urn:p> "01" .'), "nt")
        >>> [statement for chunk in doc.chunks for statement in chunk]
        [('<urn:a>', '<urn:p>', '"01"', None)]
    """
    from kg_engine.store.loader import _Collector
    from kg_engine.store.ntriples import parse_blocks, token_row
    from kg_engine.store.relative_iris import BaseGuard
    from kg_engine.store.turtle import TurtleParser, key_row

    fmt = _FORMAT.get(format)
    name = name or _name(source)
    if fmt in ("turtle", "trig"):
        encoding = kwargs.get("encoding")
        if encoding not in (None, "utf-8", "utf8", "UTF-8"):
            raise RDFSyntaxError(f"Turtle and TriG are always UTF-8; encoding={encoding!r} "
                                 "cannot be honoured: drop the argument", source=name)
        parser = TurtleParser(name, base=base, trig=fmt == "trig", implicit_base=implicit_base)
        return Parsed(name, _decoded(parser.blocks, source, name), key_row, parser.prefixes)
    if fmt in ("nt", "nquads"):
        if kwargs.get("bnode_context") is not None:
            raise RDFSyntaxError("bnode_context= (blank nodes shared across parses) is not "
                                 "supported by a kg-engine store: each parse has its own "
                                 "blank nodes; parse the inputs as one document", source=name)
        whole = "".join(_decoded(lambda text: iter((text.read(),)), source, name))

        def row_of(token: str) -> TermRow:
            try:
                return token_row(token)
            except ValueError as exc:  # the token's first occurrence is the faulty line
                line = line_ends(whole, 0, whole.find(token)) + 1
                raise RDFSyntaxError(str(exc), source=name, line=line) from None

        return Parsed(name, parse_blocks(io.StringIO(whole, newline=""), name, fmt == "nquads"),
                      row_of)
    parser_class = rdflib_plugin.get(format, Parser)
    parser_class = getattr(parser_class, "fallback", parser_class)
    source = _guarded(source, parser_class, name, kwargs.pop("allow_contexts", ()))
    guard = BaseGuard(name, base, implicit_base)
    if guard.parse_base:
        source.setPublicId(guard.parse_base)
    gathered = _Collector(None, name, guard)  # keeps every statement
    graph = Graph(store=gathered, identifier=DATASET_DEFAULT_GRAPH_ID)
    _ = graph.namespace_manager  # rdflib binds its own prefixes here, before the file's
    gathered.declared = {}
    with exact_literals():
        parser_class().parse(source, graph, **kwargs)
    return Parsed(name, [gathered.chunk], encode,
                  {p: str(ns) for p, ns in gathered.declared.items()})


def quads(parsed: Parsed) -> list[tuple]:
    """All statements of a document read by :func:`read` as rdflib terms ``(s, p, o, g)``
    (``g`` ``None``: the default graph), each blank node label a fresh ``BNode``: for stores
    that are not kg-engine's (SPARQL ``LOAD`` into a Memory store).

    Example:
        >>> from rdflib.parser import create_input_source
        >>> quads(read(create_input_source(data="<urn:a> <urn:p> +01 ."), "turtle"))[0][2]
        rdflib.term.Literal('+01', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#integer'))
    """
    made: dict[Any, Any] = {}

    def term(key: Any) -> Any:
        if key is None:
            return None
        found = made.get(key)
        if found is None:
            row = parsed.row_of(key)
            found = made[key] = BNode() if row.kind == BNODE else decode(*row[1:5])
        return found

    return [(term(s), term(p), term(o), term(g))
            for chunk in parsed.chunks for s, p, o, g in chunk]


def _decoded(blocks: Callable[[Any], Iterator[Any]], source: InputSource,
             name: str) -> Iterator[Any]:
    """``blocks(text)`` over the input as text (UTF-8, line ends as written), a decoding
    error as :class:`RDFSyntaxError`; the byte stream is left open (rdflib closes it)."""
    text = source.getCharacterStream()
    wrapper = None
    if text is None:
        text = wrapper = io.TextIOWrapper(source.getByteStream(), encoding="utf-8", newline="")
    try:
        yield from blocks(text)
    except UnicodeDecodeError as exc:
        raise RDFSyntaxError(f"not UTF-8 text ({exc.reason}); RDF text must be UTF-8",
                             source=name) from None
    finally:
        if wrapper is not None:
            wrapper.detach()


def _name(source: InputSource) -> str:
    """The input's name in error messages: its file path or address, else ``<data>``."""
    system = source.getSystemId() or ""
    if system.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(system).path)
    return system or "<data>"


def _target(sink: Graph) -> Any:
    """The graph receiving the default-graph statements (as rdflib's parsers choose it)."""
    if isinstance(sink, Dataset):  # what rdflib's quad parsers do for a Dataset sink
        sink = sink.default_graph
    identifier = sink.identifier
    return None if identifier == DATASET_DEFAULT_GRAPH_ID else identifier


class _KgParser(Parser):
    """Routes a parse into a store with ``load_parsed`` through :func:`read`; any other
    store gets rdflib's parser (``fallback``) unchanged."""

    format: str
    fallback: type[Parser]

    def parse(self, source: InputSource, sink: Graph, **kwargs: Any) -> None:
        load = getattr(sink.store, "load_parsed", None)
        if load is None:
            self.fallback().parse(source, sink, **kwargs)
            return
        # the base rdflib's Turtle parser resolves against: publicID, address or directory
        base = str(sink.absolutize(source.getPublicId() or source.getSystemId() or ""))
        implicit = source.getPublicId() in (None, "", source.getSystemId())
        parsed = read(source, self.format, base, implicit_base=implicit, **kwargs)
        load(parsed.chunks, parsed.row_of, _target(sink), parsed.name)
        for prefix, namespace in parsed.prefixes.items():
            sink.bind(prefix, namespace)  # as rdflib's parsers bind the document's prefixes


def _guarded(source: InputSource, parser: type[Parser], name: str,
             allow: Any) -> InputSource:
    """``source`` after the untrusted-input checks of :mod:`kg_engine.store.untrusted`: a
    JSON-LD ``@context`` naming another document is not fetched unless allowed
    (``parse(..., allow_contexts=[address])``), XML entity bombs are refused."""
    from rdflib.plugins.parsers.jsonld import JsonLDParser
    from rdflib.plugins.parsers.rdfxml import RDFXMLParser
    from rdflib.plugins.parsers.trix import TriXParser

    from kg_engine.store.loader import _Prefixed
    from kg_engine.store.untrusted import DTD_WINDOW, check_jsonld_contexts, check_xml_entities

    if issubclass(parser, JsonLDParser):
        if isinstance(source, PythonInputSource):
            doc = source.data
        elif (getattr(source, "content_type", None) or "").lower() in (
                "text/html", "application/xhtml+xml"):
            return source  # JSON-LD in HTML: rdflib extracts it (its contexts unguarded)
        else:
            import json

            stream = source.getCharacterStream()
            text = stream.read() if stream is not None else source.getByteStream().read()
            try:
                doc = json.loads(text)
            except UnicodeDecodeError as exc:
                raise RDFSyntaxError(f"not UTF-8 text ({exc.reason})", source=name) from None
            except json.JSONDecodeError as exc:  # its lineno counts LFs only
                line, column = where(exc.doc, exc.pos)
                raise RDFSyntaxError(f"invalid JSON: {exc.msg}", source=name, line=line,
                                     column=column) from None
        check_jsonld_contexts(doc, name, allow)
        checked = PythonInputSource(doc, source.getSystemId())
        checked.setPublicId(source.getPublicId())
        return checked
    if issubclass(parser, (RDFXMLParser, TriXParser)):
        stream = source.getByteStream()
        if stream is None:  # only text: rdflib's XML parsers read the bytes
            stream = io.BytesIO(source.getCharacterStream().read().encode("utf-8"))
        head = stream.read(DTD_WINDOW)
        check_xml_entities(head, name)
        checked = InputSource(source.getSystemId())
        checked.setPublicId(source.getPublicId())
        checked.setByteStream(io.BufferedReader(_Prefixed(head, stream)))  # type: ignore[arg-type]
        return checked
    return source


def _parser_classes() -> dict[str, type[_KgParser]]:
    """One :class:`_KgParser` per format, over the parser rdflib has for it now."""
    classes = {}
    for fmt, names in _NAMES.items():
        try:
            original = rdflib_plugin.get(names[0], Parser)
        except rdflib_plugin.PluginException:  # pragma: no cover - not in this rdflib
            continue
        original = getattr(original, "fallback", original)  # registered before: rdflib's
        cls_name = "Kg" + "".join(part.capitalize() for part in fmt.split("-")) + "Parser"
        classes[fmt] = type(cls_name, (_KgParser,), {
            "format": fmt, "fallback": original, "__module__": __name__,
            "__doc__": f"``format={fmt!r}`` into a kg-engine store (rdflib's otherwise)."})
    return classes


_CLASSES = _parser_classes()
globals().update({cls.__name__: cls for cls in _CLASSES.values()})


def register() -> None:
    """Register the parsers with rdflib (idempotent; done when the store plugin loads)."""
    for fmt, cls in _CLASSES.items():
        for name in _NAMES[fmt]:
            rdflib_plugin.register(name, Parser, __name__, cls.__name__)
