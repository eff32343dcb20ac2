"""The ASGI application behind ``kg serve`` (Starlette) and :func:`serve` to run it (uvicorn).

Routes:

=====================  ==========================================================
``/sparql``            SPARQL 1.1 Protocol: query, update, service description
``/query``, ``/update``  the same endpoint under Oxigraph's / Fuseki's names
``/store``             SPARQL 1.1 Graph Store HTTP Protocol
``/``                  the explorer: query editor and label search
``/entity?iri=``       the explorer's entity page
``/api/…``             the explorer's JSON (search, entity, explain)
``/static/…``          the explorer's scripts and styles (vendored, no CDN)
=====================  ==========================================================

Example:
    >>> from kg_engine.api import KnowledgeGraph
    >>> app = create_app(ServerConfig("sqlite://"), KnowledgeGraph)
    >>> app.state.config.update
    False
    >>> app.state.pool.close()
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kg_engine.errors import ConfigError

from .explorer import entity_endpoint, explain_endpoint, search_endpoint
from .graph_store import graph_store_endpoint
from .guards import AllowedHosts, StrictQueryString
from .pool import StorePool
from .protocol import sparql_endpoint

__all__ = ["STATIC", "ServerConfig", "create_app", "serve"]

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ServerConfig:
    """How ``kg serve`` runs.

    Attributes:
        db: the database URL.
        update: accept SPARQL updates and Graph Store writes (default: read-only).
        token: bearer token that writes must carry (``None``: none needed).
        timeout: seconds a query may run before its SQL is cancelled (``None``: no limit).
        pool_size: database connections open at once (parallel readers).
        cors: origins whose web pages may call the server (``("*",)``: any); none by
            default, so a page from another site cannot read a store served on localhost.
        hosts: ``Host`` header names the server answers to (others: 400, against DNS
            rebinding); empty: any. ``kg serve`` on a loopback interface sets
            :data:`~kg_engine.serve.guards.LOOPBACK_HOSTS` (and its ``--allow-host`` names).
    """

    db: str
    update: bool = False
    token: str | None = None
    timeout: float | None = 30.0
    pool_size: int = 16
    cors: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


def _page(name: str):
    async def endpoint(request: Request) -> Response:
        return FileResponse(STATIC / name, media_type="text/html; charset=utf-8")
    return endpoint


def create_app(config: ServerConfig, connect: Callable[[str], Any]) -> Starlette:
    """The Starlette app serving ``config.db`` (the store is opened now: a bad URL fails here).

    Args:
        config: how to serve.
        connect: opens a knowledge graph on a URL: :class:`kg_engine.KnowledgeGraph` (or a
            subclass); the server leases one per request.

    Raises:
        StoreURLError: ``config.db`` is not a database URL kg-engine can open.
        ConfigError: a ``config.cors`` entry is not an origin.
    """
    from kg_engine.rules.explain import Explainer

    for origin in config.cors:
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin):
            raise ConfigError(f"CORS origin {origin!r} is not an origin: give scheme://host[:port] "
                              "(such as https://example.org, no path), or '*' for any")
    def setup(kg: Any) -> None:
        # once per connection, not inside a read snapshot: Explainer creates the rule tables
        # the explorer reads (DDL through SQLAlchemy commits), and rdflib binds its default
        # prefixes in the store when a graph's namespace manager is first used — inside a
        # request's snapshot that write failed (PostgreSQL: "duplicate key … kg_meta_pkey"
        # beside another connection's committed binding; SQLite: a snapshot that writes
        # fails once another connection has committed) and was rolled back on PostgreSQL
        Explainer(kg.store)
        kg.graph.namespace_manager  # noqa: B018 - created (and its bindings stored) now

    # a request waits for a connection at most as long as a query may run (past that, a
    # flood of slow queries queued requests for minutes: now a 503 with Retry-After)
    pool = StorePool(config.db, connect, size=config.pool_size, setup=setup,
                     wait=config.timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.close()

    methods = ["GET", "POST"]
    routes = [
        Route("/sparql", sparql_endpoint, methods=methods),
        Route("/query", sparql_endpoint, methods=methods),
        Route("/update", sparql_endpoint, methods=["POST"]),
        Route("/store", graph_store_endpoint, methods=["GET", "HEAD", "PUT", "POST", "DELETE"]),
        Route("/api/search", search_endpoint),
        Route("/api/entity", entity_endpoint),
        Route("/api/explain", explain_endpoint),
        Route("/", _page("index.html")),
        Route("/entity", _page("entity.html")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(StrictQueryString)]
    if config.hosts:
        middleware.insert(0, Middleware(AllowedHosts, hosts=config.hosts))
    if config.cors:  # preflight answers and Access-Control-Allow-Origin for these origins
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(config.cors), allow_headers=["*"],
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            expose_headers=["Retry-After", "WWW-Authenticate"], max_age=3600))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.config = config
    app.state.pool = pool
    return app


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 7878,
          log_level: str = "warning") -> None:
    """Serve ``app`` (from :func:`create_app`) with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
