"""The SPARQL 1.1 Protocol: ``/sparql`` (also ``/query`` and ``/update``).

* **query** — ``GET ?query=``, ``POST`` form (``query=``), ``POST application/sparql-query``;
  ``default-graph-uri`` / ``named-graph-uri`` (repeatable) replace the query's ``FROM`` /
  ``FROM NAMED``; ``union-default-graph`` queries the merge of every graph; the answer
  format is negotiated (``Accept``, or ``format=``); SELECT results stream.
* **update** — ``POST`` form (``update=``) or ``POST application/sparql-update``: only on a
  server started with ``--update`` (403 otherwise), with ``Authorization: Bearer <token>``
  when it has a token (401 otherwise); one request is one transaction; 204 on success.
  ``LOAD`` is refused (it would read files of the server): use the Graph Store Protocol.
* **service description** — ``GET /sparql`` without a query (Turtle, or what ``Accept`` asks).

Errors: 400 with the parser's line and column, 406 for an unavailable format, 503 when the
query ran past the server's timeout (its SQL is cancelled).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import anyio
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD
from starlette.requests import Request
from starlette.responses import Response

from kg_engine.core.terms import DEFAULT_GRAPH

from . import formats
from .errors import HTTPError, error_response
from .execution import ProtocolDataset, run_query
from .guards import check_origin, strict_items
from .streaming import Head, threaded_response

__all__ = ["absolute_iri", "check_write", "sparql_endpoint"]

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
_FORM = "application/x-www-form-urlencoded"
_MAX_PART = 64 * 1024 * 1024  # bytes of one multipart field (Starlette's default: 1 MB)
_RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                   "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML")


def check_write(request: Request) -> None:
    """Refuse a write unless the server allows updates and the bearer token matches.

    Raises:
        HTTPError: 403 on a read-only server or from a web page of another origin
            (:func:`~kg_engine.serve.guards.check_origin`), 401 without the right token.
    """
    config = request.app.state.config
    if not config.update:
        raise HTTPError(403, "this server is read-only: start it with `kg serve --update` "
                             "to accept SPARQL updates and Graph Store writes")
    check_origin(request)
    if config.token:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                                 config.token.encode()):
            raise HTTPError(401, "updates need `Authorization: Bearer <token>` with the "
                                 "server's --token", {"WWW-Authenticate": 'Bearer realm="kg"'})


_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>"{}|^`\\]*')


def absolute_iri(value: str, param: str) -> URIRef:
    """``value`` of request parameter ``param`` as an IRI, refused unless it is absolute.

    Raises:
        HTTPError: 400 naming the parameter and an example of an absolute IRI.
    """
    if not _IRI.fullmatch(value):
        raise HTTPError(400, f"{param}={value!r} is not an absolute IRI: give a scheme and no "
                             f"spaces or <>\"{{}}|^`\\, such as {param}=urn:x:{quote(value[:20] or 'g')} "
                             "or http://example.org/…")
    return URIRef(value)


def _one(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise HTTPError(400, f"the request has {len(values)} `{name}` parameters; give one")
    return values[0] if values else None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPError(400, f"the request body is not UTF-8 ({exc})") from None


async def _multipart(request: Request) -> list[tuple[str, str]]:
    """The fields of a ``multipart/form-data`` body (a file part's content, as UTF-8)."""
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException

    try:
        form = await request.form(max_part_size=_MAX_PART)
    except HTTPException as exc:
        raise HTTPError(413 if "maximum size" in str(exc.detail) else 400,
                        f"multipart form: {exc.detail} Send a large query or update as the "
                        "body of application/sparql-query or application/sparql-update, or as "
                        "application/x-www-form-urlencoded") from None
    items = []
    for k, v in form.multi_items():
        items.append((k, _utf8(await v.read()) if isinstance(v, UploadFile) else v))
    return items


async def _read_params(request: Request) -> tuple[str | None, str | None, dict[str, list[str]]]:
    """(query, update, other parameters) of a protocol request."""
    params: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        params.setdefault(k, []).append(v)
    query = update = None
    if request.method == "POST":
        mtype = _media_type(request)
        if mtype == _FORM:  # parsed here: Starlette's parser turns bad UTF-8 into U+FFFD
            for k, v in strict_items(await request.body()):  # and caps a field at 1 MB
                params.setdefault(k, []).append(v)
        elif mtype == "multipart/form-data":
            for k, v in await _multipart(request):
                params.setdefault(k, []).append(v)
        elif mtype == "application/sparql-query":
            query = _utf8(await request.body())
        elif mtype == "application/sparql-update":
            update = _utf8(await request.body())
        else:
            raise HTTPError(415, f"unsupported Content-Type {mtype or '(none)'!r}: send "
                                 "application/sparql-query, application/sparql-update or a "
                                 "form (application/x-www-form-urlencoded)")
        if query is None and update is None:
            query = _one(params.pop("query", []), "query")
            update = _one(params.pop("update", []), "update")
    else:
        query = _one(params.pop("query", []), "query")
        if "update" in params:
            raise HTTPError(405, "updates must be sent with POST", {"Allow": "GET, POST"})
    if query is not None and update is not None:
        raise HTTPError(400, "a request carries either `query` or `update`, not both")
    return query, update, params


def _dataset(params: dict[str, list[str]]) -> ProtocolDataset:
    flag = (_one(params.get("union-default-graph", []), "union-default-graph") or "false").lower()
    if flag not in ("", "true", "1", "false", "0"):  # "yes" was read as false, silently
        raise HTTPError(400, f"union-default-graph={flag!r}: give true or false")
    union = flag in ("", "true", "1")
    return ProtocolDataset(
        default=tuple(absolute_iri(u, "default-graph-uri")
                      for u in params.get("default-graph-uri", [])),
        named=tuple(absolute_iri(u, "named-graph-uri") for u in params.get("named-graph-uri", [])),
        union=union,
    )


async def sparql_endpoint(request: Request) -> Response:
    """``/sparql``: query, update or service description (see the module doc)."""
    try:
        query, update, params = await _read_params(request)
        if update is not None:
            return await _update(request, update, params)
        if query is None:
            if request.url.path.endswith("/update"):
                raise HTTPError(400, "no `update` given")
            return await anyio.to_thread.run_sync(_service_description, request)
        return await _query(request, query, params)
    except Exception as exc:  # noqa: BLE001 - every failure is an HTTP answer
        return error_response(exc, request.app.state.config.db)


async def _query(request: Request, text: str, params: dict[str, list[str]]) -> Response:
    state = request.app.state
    dataset = _dataset(params)
    accept = request.headers.get("accept")
    fmt = formats.requested_formats((k, v) for k, vs in params.items() for v in vs)
    timeout = state.config.timeout

    def produce() -> tuple[Head, Iterator[bytes]]:
        pool = state.pool
        lease = pool.reader()
        kg = lease.__enter__()
        rows_all: Any = None
        try:
            out = run_query(kg, text, dataset, timeout)
            if out.form == "SELECT":
                mtype = formats.negotiate(accept, formats.SELECT_TYPES, fmt)
                rows = out.rows
                first = next(rows, None)  # errors before the first byte become HTTP errors
                rows_all = (_chain(first, rows), rows)
                body = formats.select_chunks(out.vars, rows_all[0], mtype)
            elif out.form == "ASK":
                mtype = formats.negotiate(accept, formats.ASK_TYPES, fmt)
                body = iter([formats.ask_body(bool(out.boolean), mtype)])
            else:
                mtype = formats.negotiate(accept, formats.GRAPH_TYPES, fmt)
                body = iter([formats.graph_body(out.graph, mtype, kg.graph.namespaces())])
        except BaseException:
            lease.__exit__(None, None, None)
            raise
        return Head(200, _with_charset(mtype)), _closing(body, lease, rows_all or ())

    return await threaded_response(produce, error_response)


def _with_charset(mtype: str) -> str:
    return mtype if "charset" in mtype else f"{mtype}; charset=utf-8"


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is None:
        return
    yield first
    yield from rest


class _closing:
    """Iterate ``body``; ``close()`` (also of a body never started) closes it and the row
    iterators under it (``inner``: a body that raised or was left does not close what it
    read from, and a database cursor left open would be closed later by the garbage
    collector, on whatever thread then holds the connection), ends the read snapshot and
    gives the lease back."""

    def __init__(self, body: Iterator[bytes], lease: Any, inner: tuple[Any, ...] = ()) -> None:
        self.body = body
        self.lease: Any = lease
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self.body)

    def close(self) -> None:
        if self.lease is None:
            return
        lease, self.lease = self.lease, None
        try:
            for it in (self.body, *self.inner):
                close = getattr(it, "close", None)
                if close is not None:
                    close()
        finally:
            lease.__exit__(None, None, None)


async def _update(request: Request, text: str, params: dict[str, list[str]]) -> Response:
    check_write(request)
    if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
        raise HTTPError(400, "using-graph-uri / using-named-graph-uri are not supported: "
                             "put USING / USING NAMED (or WITH) in the update itself")

    def run() -> None:
        from kg_engine.sparql import default_engine

        parsed = default_engine().prepare_update(text)  # syntax errors before the write lock
        if any(op.name == "Load" for op in parsed.algebra):
            raise HTTPError(400, "LOAD is not accepted over HTTP (it would read the server's "
                                 "files): send the data with the Graph Store Protocol "
                                 "(PUT/POST /store?graph=…) instead")
        with request.app.state.pool.writer() as kg:
            kg.update(text, timeout=request.app.state.config.timeout)

    await anyio.to_thread.run_sync(run)
    return Response(status_code=204)


def _service_description(request: Request) -> Response:
    config = request.app.state.config
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("formats", FORMATS)
    svc = BNode()
    endpoint = URIRef(str(request.url.replace(query="")))
    g.add((svc, RDF.type, SD.Service))
    g.add((svc, SD.endpoint, endpoint))
    g.add((svc, SD.supportedLanguage, SD.SPARQL11Query))
    if config.update:
        g.add((svc, SD.supportedLanguage, SD.SPARQL11Update))
    for name in _RESULT_FORMATS:
        g.add((svc, SD.resultFormat, FORMATS[name]))
    g.add((svc, SD.feature, SD.EmptyGraphs))
    dataset = BNode()
    g.add((svc, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    with request.app.state.pool.reader() as kg:
        # what queries see: with a reasoning profile, the (disjoint) inferred graph too
        profile = kg.store.reasoning
        size = kg.store.count(DEFAULT_GRAPH) + (
            kg.store.count(URIRef(profile.graph)) if profile is not None else 0)
        g.add((default, VOID.triples, Literal(size, datatype=XSD.integer)))
        for name in kg.store.graphs()[:1000]:
            named = BNode()
            g.add((dataset, SD.namedGraph, named))
            g.add((named, SD.name, name))
    mtype = formats.negotiate(request.headers.get("accept"), formats.GRAPH_TYPES,
                              formats.requested_formats(request.query_params.multi_items()))
    return Response(formats.graph_body(g, mtype), media_type=_with_charset(mtype))
