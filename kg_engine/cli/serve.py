"""``kg serve``: a SPARQL 1.1 endpoint and a browser explorer over the store.

Read-only unless ``--update``; bound to 127.0.0.1 unless ``--host`` says otherwise. Open
``http://127.0.0.1:7878/`` for the explorer; point SPARQL clients at ``/sparql`` and Graph
Store clients at ``/store``. See docs/serve.md.

Examples::

    kg serve --db sqlite:///kg-demo.sqlite
    kg serve --update --token s3cret --timeout 10 --port 8000
    kg serve --cors '*'          # web pages of any site may query it (browser SPARQL clients)
"""

from __future__ import annotations

from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, user_errors
from kg_engine.errors import ConfigError, MissingDependencyError


def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="interface to listen on (0.0.0.0: every one)")]
        = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 7878,
    update: Annotated[bool, typer.Option("--update", help="accept SPARQL updates and Graph "
                                         "Store writes (default: read-only)")] = False,
    token: Annotated[str | None, typer.Option(help="bearer token that writes must carry",
                                              envvar="KG_SERVE_TOKEN")] = None,
    timeout: Annotated[float, typer.Option(help="seconds before a query's SQL is cancelled "
                                           "(0: no limit)")] = 30.0,
    cors: Annotated[list[str] | None, typer.Option(
        help="let web pages of this origin call the server (CORS), e.g. "
             "https://yasgui.example.org; '*' for any; repeatable (default: none)")] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        help="a Host name the server answers to besides localhost, 127.0.0.1 and [::1] "
             "(a proxy's public name); repeatable. Bound to a loopback interface, the server "
             "answers no other name (DNS rebinding)")] = None,
) -> None:
    """Serve the store over the SPARQL 1.1 Protocol, with a browser explorer at /."""
    with user_errors():
        try:
            from kg_engine.serve import ServerConfig, create_app
            from kg_engine.serve import serve as run
        except ImportError as exc:
            raise MissingDependencyError(exc.name or "starlette", "serve") from exc

        import functools

        from kg_engine.api import KnowledgeGraph

        config = ServerConfig(db, update=update, token=token or None,
                              timeout=timeout if timeout > 0 else None, cors=tuple(cors or ()),
                              hosts=_hosts(host, allow_host or ()))
        # a read-only server never creates a store (a mistyped --db is an error, not an
        # empty store served and left on disk); with --update a new store may be filled
        app = create_app(config, functools.partial(KnowledgeGraph, create=update))
        _check_bind(host, port)
    from kg_engine.store.database import redact_url

    mode = "read-write" + (" (token required)" if token else "") if update else "read-only"
    shown = db if db.startswith("sqlite:") else redact_url(db)  # no password shown
    console.print(f"kg serve: {shown} ({mode}) at http://{host}:{port}/  "
                  f"SPARQL: /sparql  Graph Store: /store  (Ctrl+C stops)", highlight=False)
    run(app, host=host, port=port)


def _hosts(host: str, allowed: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The Host names to answer: the loopback names and ``allowed``; on another interface
    with none allowed, any name (the interface is public anyway)."""
    from kg_engine.serve.guards import LOOPBACK_HOSTS, host_name

    names = tuple(host_name(h) for h in allowed)
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return LOOPBACK_HOSTS + names if loopback or names else ()


def _check_bind(host: str, port: int) -> None:
    """Fail with one line (not uvicorn's log) when the address cannot be served."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; "
                          "give another --host/--port") from exc


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
