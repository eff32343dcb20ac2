"""The SPARQL 1.1 Graph Store HTTP Protocol at ``/store``.

``?default`` names the default graph, ``?graph=IRI`` a named graph; ``GET /store`` with
neither returns the whole dataset as N-Quads, and ``POST /store`` with neither adds an N-Quads
or TriG body, each statement to its own graph (what ``GET /store`` answered loads back).

=======  ======================================================  =======================
method   does                                                    answers
=======  ======================================================  =======================
GET      the graph, in the negotiated RDF format                 200, 404 (no such graph)
HEAD     the same without the body                               200, 404
PUT      replaces the graph with the body                        201 (created) / 204
POST     adds the body to the graph                              201 (created) / 204
DELETE   removes the graph (its statements, for the default)     204, 404
=======  ======================================================  =======================

Writes need a server started with ``--update`` (and the bearer token, if it has one); the
body is parsed completely before the store is touched (a syntax error is a 400 naming the
line), and each write is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
from rdflib import Graph, URIRef
from starlette.requests import Request
from starlette.responses import Response

from kg_engine.core.terms import DEFAULT_GRAPH
from kg_engine.errors import KgEngineError, RDFSyntaxError

from . import formats
from .errors import HTTPError, error_response
from .protocol import absolute_iri, check_write

__all__ = ["graph_store_endpoint"]


def _target(request: Request) -> URIRef | None:
    """The graph the request names (``DEFAULT_GRAPH`` for ``?default``), ``None`` for none."""
    params = request.query_params
    has_default = "default" in params
    graphs = params.getlist("graph")
    if has_default and graphs:
        raise HTTPError(400, "give either ?default or ?graph=IRI, not both")
    if len(graphs) > 1:
        raise HTTPError(400, "give one ?graph=IRI")
    if has_default:
        return DEFAULT_GRAPH
    if graphs:
        if not graphs[0]:
            raise HTTPError(400, "?graph= needs an IRI")
        return absolute_iri(graphs[0], "graph")
    return None


def _exists(kg: Any, graph: URIRef) -> bool:
    return graph == DEFAULT_GRAPH or graph in set(kg.store.graphs())


def _nquads(kg: Any) -> Iterator[bytes]:
    buf: list[str] = []
    for s, p, o, g in kg.triples():
        line = f"{formats.term_ntriples(s)} {formats.term_ntriples(p)} {formats.term_ntriples(o)}"
        buf.append(line + (" .\n" if g == DEFAULT_GRAPH else f" {formats.term_ntriples(g)} .\n"))
        if len(buf) >= 1000:
            yield "".join(buf).encode()
            buf.clear()
    if buf:
        yield "".join(buf).encode()


async def graph_store_endpoint(request: Request) -> Response:
    """``/store``: the Graph Store HTTP Protocol (see the module doc)."""
    try:
        graph = _target(request)
        if request.method in ("GET", "HEAD"):
            return await anyio.to_thread.run_sync(_get, request, graph)
        check_write(request)
        if graph is None and request.method == "POST":
            body = await request.body()
            parsed = await anyio.to_thread.run_sync(_parse, request, body, True)
            return await anyio.to_thread.run_sync(_write_dataset, request, parsed)
        if graph is None:
            raise HTTPError(400, "name the graph to change: ?default or ?graph=IRI (or POST "
                                 "N-Quads/TriG to /store to add statements to their graphs)")
        if request.method == "DELETE":
            return await anyio.to_thread.run_sync(_delete, request, graph)
        body = await request.body()
        parsed = await anyio.to_thread.run_sync(_parse, request, body)
        return await anyio.to_thread.run_sync(_write, request, graph, parsed,
                                              request.method == "PUT")
    except Exception as exc:  # noqa: BLE001 - every failure is an HTTP answer
        return error_response(exc, request.app.state.config.db)


def _get(request: Request, graph: URIRef | None) -> Response:
    accept = request.headers.get("accept")
    fmt = formats.requested_formats(request.query_params.multi_items())
    with request.app.state.pool.reader() as kg:
        if graph is None:
            mtype = formats.negotiate(accept, (formats.NQUADS,), fmt)
            body = b"" if request.method == "HEAD" else b"".join(_nquads(kg))
            return Response(body, media_type=mtype)
        if not _exists(kg, graph):
            raise HTTPError(404, f"no graph <{graph}> in the store")
        mtype = formats.negotiate(accept, formats.GRAPH_TYPES, fmt)
        g = Graph()
        for s, p, o, _ in kg.triples(graph=graph):
            g.add((s, p, o))
        prefixes = list(kg.graph.namespaces())
    if request.method == "HEAD":
        return Response(b"", media_type=mtype)
    return Response(formats.graph_body(g, mtype, prefixes), media_type=mtype)


def _parse(request: Request, body: bytes, dataset: bool = False) -> tuple[list[tuple], Any]:
    """The body's statements and how to make their dictionary rows, read as ``Graph.parse``
    into a kg-engine store reads (:func:`kg_engine.store.rdflib_parsers.read`): Turtle and
    N-Triples by the strict parsers, every format with its lexical forms as sent, no
    JSON-LD context fetched, XML entity bombs refused."""
    from rdflib.parser import create_input_source

    from kg_engine.store.rdflib_parsers import read

    mtype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parsers = formats.DATASET_PARSERS if dataset else formats.RDF_PARSERS
    name = parsers.get(mtype)
    if name is None:
        raise HTTPError(415, f"cannot read Content-Type {mtype or '(none)'!r}"
                             + (" into the whole dataset" if dataset else "") + "; send one of "
                             + ", ".join(sorted(parsers)))
    source = create_input_source(data=body, format=name, publicID=str(request.url))
    try:
        parsed = read(source, name, base=str(request.url), name="request body")
        return [st for chunk in parsed.chunks for st in chunk], parsed.row_of
    except KgEngineError:
        raise
    except Exception as exc:  # rdflib's parsers of the other formats raise assorted types
        raise RDFSyntaxError(f"malformed {mtype} body: {exc}", source="request body") from exc


def _write(request: Request, graph: URIRef, parsed: tuple[list[tuple], Any],
           replace: bool) -> Response:
    from kg_engine.store.loader import load_statements
    from kg_engine.store.writes import GRAPH_STORE

    statements, row_of = parsed
    with request.app.state.pool.writer() as kg:
        store = kg.store
        with store.db.transaction():
            created = not _exists(kg, graph)
            if replace:
                store.remove((None, None, None), graph)
            if graph != DEFAULT_GRAPH:
                store.create_graph(graph)
            load_statements(store, [statements], row_of,
                            None if graph == DEFAULT_GRAPH else graph,
                            f"Graph Store Protocol {request.method} request", GRAPH_STORE)
    return Response(status_code=201 if created else 204)


def _write_dataset(request: Request, parsed: tuple[list[tuple], Any]) -> Response:
    from kg_engine.store.loader import load_statements
    from kg_engine.store.writes import GRAPH_STORE

    statements, row_of = parsed
    with request.app.state.pool.writer() as kg:
        load_statements(kg.store, [statements], row_of, None,
                        f"Graph Store Protocol {request.method} request", GRAPH_STORE)
    return Response(status_code=204)


def _delete(request: Request, graph: URIRef) -> Response:
    with request.app.state.pool.writer() as kg:
        store = kg.store
        with store.db.transaction():
            if not _exists(kg, graph):
                raise HTTPError(404, f"no graph <{graph}> in the store")
            if graph == DEFAULT_GRAPH:
                store.remove((None, None, None), graph)
            else:
                store.drop_graph(graph)
    return Response(status_code=204)

