"""Result formats of the SPARQL 1.1 Protocol, chosen by content negotiation, written as streams.

SELECT results are written row by row (:func:`select_chunks`), so a million-row result is never
held in memory; ASK results and RDF graphs (CONSTRUCT, DESCRIBE, Graph Store GET) are small
enough to be written at once (:func:`ask_body`, :func:`graph_body`).

========================================  =================  =============================
media type                                ``format=``         for
========================================  =================  =============================
application/sparql-results+json           json               SELECT, ASK
application/sparql-results+xml            xml                SELECT, ASK
text/csv                                  csv                SELECT
text/tab-separated-values                 tsv                SELECT
text/turtle                               ttl, turtle        CONSTRUCT, DESCRIBE, graphs
application/n-triples                     nt                 CONSTRUCT, DESCRIBE, graphs
application/ld+json                       jsonld             CONSTRUCT, DESCRIBE, graphs
application/rdf+xml                       rdfxml             CONSTRUCT, DESCRIBE, graphs
application/n-quads                       nq                 the whole dataset
========================================  =================  =============================

Example:
    >>> from rdflib import URIRef, Literal, Variable
    >>> negotiate("text/csv;q=0.9, application/sparql-results+json", SELECT_TYPES)
    'application/sparql-results+json'
    >>> b"".join(select_chunks([Variable("x")], [(Literal("a,b"),)], "text/csv"))
    b'x\\r\\n"a,b"\\r\\n'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import XSD

from kg_engine.core.rdf_text import sparql_xml_term, term_ntriples

#: a str as a JSON string literal (the C encoder of the json module, non-ASCII kept)
_json_string = json.encoder.encode_basestring

__all__ = [
    "ASK_TYPES",
    "DATASET_PARSERS",
    "GRAPH_TYPES",
    "RDF_PARSERS",
    "SELECT_TYPES",
    "NotAcceptable",
    "ask_body",
    "graph_body",
    "negotiate",
    "select_chunks",
    "term_ntriples",
]

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"
JSONLD = "application/ld+json"
RDFXML = "application/rdf+xml"
NQUADS = "application/n-quads"

#: media types per query form, the first being the default; aliases map to one of them
SELECT_TYPES = (JSON, XML, CSV, TSV)
ASK_TYPES = (JSON, XML)
GRAPH_TYPES = (TURTLE, NTRIPLES, JSONLD, RDFXML)
_ALIASES = {
    "application/json": JSON, "application/xml": XML, "text/xml": XML, "text/plain": NTRIPLES,
    "application/x-turtle": TURTLE, "application/trig": NQUADS,
}
_SHORT = {
    "json": JSON, "srj": JSON, "xml": XML, "srx": XML, "csv": CSV, "tsv": TSV,
    "ttl": TURTLE, "turtle": TURTLE, "nt": NTRIPLES, "ntriples": NTRIPLES, "jsonld": JSONLD,
    "json-ld": JSONLD, "rdfxml": RDFXML, "nq": NQUADS, "nquads": NQUADS,
}
#: rdflib serializer names
_RDFLIB = {TURTLE: "turtle", NTRIPLES: "nt", JSONLD: "json-ld", RDFXML: "xml"}
#: Content-Type of a request body (Graph Store Protocol) -> rdflib parser name
RDF_PARSERS = {
    TURTLE: "turtle", "application/x-turtle": "turtle", NTRIPLES: "nt", "text/plain": "nt",
    JSONLD: "json-ld", "application/json": "json-ld", RDFXML: "xml", "application/xml": "xml",
    "text/n3": "n3", "text/rdf+n3": "n3",
}
#: Content-Type of a body for the whole dataset (``POST /store``) -> rdflib parser name
DATASET_PARSERS = {NQUADS: "nquads", "application/trig": "trig", "text/x-nquads": "nquads"}


class NotAcceptable(ValueError):
    """No offered media type matches the request's ``Accept`` header (HTTP 406)."""


def _short(value: str) -> str:
    return _SHORT.get(value.strip().lower(), value.strip().lower())


#: what a result-format name means for an RDF graph answer (CONSTRUCT, DESCRIBE, Graph Store
#: GET) when its usual meaning is a SELECT/ASK format: SPARQLWrapper asks ``json`` / ``xml`` /
#: ``n3`` for graphs and expects JSON-LD / RDF/XML / Turtle (N3 is a superset of Turtle)
_GRAPH_MEANING = {JSON: JSONLD, XML: RDFXML, "n3": TURTLE, "text/n3": TURTLE,
                  "text/rdf+n3": TURTLE, "application/n3": TURTLE, "rdf+xml": RDFXML,
                  "application/x-json+ld": JSONLD}
#: request parameters that name a result format: ``format`` (Virtuoso, Oxigraph), ``output``
#: (Fuseki), ``results``; SPARQLWrapper sends all three, some twice
FORMAT_PARAMETERS = ("format", "output", "results")


def requested_formats(params: Iterable[tuple[str, str]]) -> list[str]:
    """The result formats a request names, in order: every ``format`` / ``output`` /
    ``results`` parameter, comma-separated lists split, empty values dropped.

    Example:
        >>> requested_formats([("query", "q"), ("format", "tsv"), ("format", ""),
        ...                    ("output", "application/ld+json,application/x-json+ld")])
        ['tsv', 'application/ld+json', 'application/x-json+ld']
    """
    return [part.strip() for key, value in params if key in FORMAT_PARAMETERS
            for part in value.split(",") if part.strip()]


def negotiate(accept: str | None, offered: Sequence[str],
              format: str | Sequence[str] | None = None) -> str:
    """The media type to answer with.

    ``format`` (``format=`` request parameters: short names or media types, see
    :func:`requested_formats`) wins over ``Accept``: the first one available is chosen; for a
    graph answer ``json``, ``xml`` and ``n3`` mean JSON-LD, RDF/XML and Turtle. No ``Accept``
    or ``*/*`` gives the first offered type. Quality values are honoured, then the order of
    the offered types.

    Example:
        >>> negotiate("*/*", GRAPH_TYPES, ["xml", "application/rdf+xml"])
        'application/rdf+xml'

    Raises:
        NotAcceptable: nothing offered is acceptable.
    """
    names = [format] if isinstance(format, str) else list(format or ())
    names = [n for n in names if n.strip()]
    if names:
        graph = any(t in GRAPH_TYPES for t in offered)
        for name in names:
            wanted = _ALIASES.get(_short(name), _short(name))
            if wanted not in offered and graph:
                wanted = _GRAPH_MEANING.get(wanted, wanted)
            if wanted in offered:
                return wanted
        given = ", ".join(repr(n) for n in names)
        raise NotAcceptable(f"format {given} is not available here; use one of "
                            + ", ".join(offered))
    if not accept or not accept.strip():
        return offered[0]
    ranges: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        mtype = fields[0].lower()
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if mtype:
            ranges.append((q, i, _ALIASES.get(mtype, mtype)))
    best: tuple[float, int, int] | None = None
    choice = None
    for q, i, mtype in ranges:
        if q <= 0:
            continue
        for rank, offer in enumerate(offered):
            major = offer.split("/")[0]
            if mtype in (offer, "*/*", f"{major}/*"):
                specific = 0 if mtype == offer else 1
                key = (-q, specific, rank)
                if best is None or key < best:
                    best, choice = key, offer
    if choice is None:
        raise NotAcceptable(f"cannot answer with {accept!r}; this result is available as "
                            + ", ".join(offered))
    return choice


# -- terms ---------------------------------------------------------------------------------
#: term -> its SPARQL JSON text; results repeat terms (and queries repeat results)
_JSON_CACHE: dict[Any, str] = {}
_JSON_CACHE_MAX = 200_000


def _json_cached(term: Any) -> str:
    text = _JSON_CACHE.get(term)
    if text is None:
        if len(_JSON_CACHE) >= _JSON_CACHE_MAX:
            _JSON_CACHE.clear()
        text = _JSON_CACHE[term] = _json_term(term)
    return text


def _json_term(term: Any) -> str:
    """A term as a SPARQL JSON results object (text; ``json`` escapes the strings)."""
    if isinstance(term, URIRef):
        return f'{{"type":"uri","value":{_json_string(term)}}}'
    if isinstance(term, BNode):
        return f'{{"type":"bnode","value":{_json_string(term)}}}'
    value = _json_string(term)
    if term.language:
        return f'{{"type":"literal","value":{value},"xml:lang":{_json_string(term.language)}}}'
    if term.datatype is not None and term.datatype != XSD.string:
        return f'{{"type":"literal","value":{value},"datatype":{_json_string(term.datatype)}}}'
    return f'{{"type":"literal","value":{value}}}'


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


# -- SELECT --------------------------------------------------------------------------------
def select_chunks(vars_: Sequence[Any], rows: Iterable[Sequence[Any]], media_type: str,
                  rows_per_chunk: int = 500) -> Iterator[bytes]:
    """A SELECT result as byte chunks in ``media_type`` (one of :data:`SELECT_TYPES`).

    ``rows`` is consumed lazily: the first chunk (the header) is produced before any row is
    read, then one chunk per ``rows_per_chunk`` rows.
    """
    names = [str(v) for v in vars_]
    if media_type == JSON:
        head = json.dumps({"vars": names})
        yield f'{{"head":{head},"results":{{"bindings":['.encode()
        keys = [_json_string(n) + ":" for n in names]
        first = True
        buf: list[str] = []
        for row in rows:
            obj = "{" + ",".join(k + _json_cached(t) for k, t in zip(keys, row)
                                 if t is not None) + "}"
            buf.append(obj if first else "," + obj)
            first = False
            if len(buf) >= rows_per_chunk:
                yield "".join(buf).encode()
                buf.clear()
        buf.append("]}}")
        yield "".join(buf).encode()
    elif media_type == XML:
        head = "".join(f"<variable name={quoteattr(n)}/>" for n in names)
        yield ('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/'
               f'sparql-results#"><head>{head}</head><results>').encode()
        buf = []
        for row in rows:
            cells = "".join(f"<binding name={quoteattr(n)}>{sparql_xml_term(t)}</binding>"
                            for n, t in zip(names, row) if t is not None)
            buf.append(f"<result>{cells}</result>")
            if len(buf) >= rows_per_chunk:
                yield "".join(buf).encode()
                buf.clear()
        buf.append("</results></sparql>\n")
        yield "".join(buf).encode()
    elif media_type == CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(names)
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
        for n, row in enumerate(rows, start=1):
            writer.writerow([_csv_value(t) for t in row])
            if n % rows_per_chunk == 0:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue().encode()
    elif media_type == TSV:
        yield ("\t".join("?" + n for n in names) + "\n").encode()
        buf = []
        for row in rows:
            buf.append("\t".join("" if t is None else term_ntriples(t) for t in row) + "\n")
            if len(buf) >= rows_per_chunk:
                yield "".join(buf).encode()
                buf.clear()
        if buf:
            yield "".join(buf).encode()
    else:
        raise NotAcceptable(f"{media_type} is not a SELECT result format")


def ask_body(answer: bool, media_type: str) -> bytes:
    """An ASK result in ``media_type`` (one of :data:`ASK_TYPES`)."""
    if media_type == JSON:
        return json.dumps({"head": {}, "boolean": bool(answer)}).encode()
    if media_type == XML:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/'
                f'sparql-results#"><head/><boolean>{"true" if answer else "false"}</boolean>'
                "</sparql>\n").encode()
    raise NotAcceptable(f"{media_type} is not an ASK result format")


def graph_body(graph: Graph, media_type: str, prefixes: Iterable[tuple[str, Any]] = ()) -> bytes:
    """An RDF graph in ``media_type`` (one of :data:`GRAPH_TYPES`); Turtle names IRIs with
    ``prefixes`` (the store's: ``lib:title``, not rdflib's made-up ``ns1:title``)."""
    if media_type == NTRIPLES:
        return "".join(
            f"{term_ntriples(s)} {term_ntriples(p)} {term_ntriples(o)} .\n" for s, p, o in graph
        ).encode()
    name = _RDFLIB.get(media_type)
    if name is None:
        raise NotAcceptable(f"{media_type} is not an RDF graph format")
    from kg_engine.core.rdf_text import rdf_bytes  # rdflib's serializers change literals

    for prefix, namespace in prefixes:  # the empty prefix too: a file's ``@prefix :``
        graph.bind(prefix, namespace, override=False)
    return rdf_bytes(graph, name)
