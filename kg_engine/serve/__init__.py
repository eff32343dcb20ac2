"""``kg serve``: a SPARQL 1.1 endpoint and a browser explorer over a kg-engine store.

* :mod:`.protocol` — the SPARQL 1.1 Protocol (query, update, service description);
* :mod:`.graph_store` — the Graph Store HTTP Protocol;
* :mod:`.explorer` — the explorer's JSON API (search, entity pages, "why" of every fact);
* :mod:`.execution` — running a query, SELECT results streamed from the SQL cursor;
* :mod:`.formats` — content negotiation and the result formats;
* :mod:`.pool` — connections: parallel readers, one writer, read snapshots;
* :mod:`.streaming` — responses produced on one worker thread;
* :mod:`.app` — the Starlette app and :func:`serve` (uvicorn).

Needs the ``serve`` extra (``pip install "kg-engine[serve]"``: starlette, uvicorn).

Example (from a shell)::

    kg serve --db sqlite:///kg.sqlite            # read-only, http://127.0.0.1:7878/
    curl -H 'Accept: text/csv' --data-urlencode 'query=SELECT * { ?s ?p ?o } LIMIT 3' \\
         http://127.0.0.1:7878/sparql
"""

from __future__ import annotations

from .app import ServerConfig, create_app, serve

__all__ = ["ServerConfig", "create_app", "serve"]
