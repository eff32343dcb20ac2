"""``kg update``: run a SPARQL 1.1 Update request, atomically.

``INSERT DATA``, ``DELETE DATA``, ``DELETE/INSERT … WHERE``, ``LOAD <file:…>``, ``CLEAR``,
``DROP``, ``CREATE``, ``ADD``, ``MOVE``, ``COPY``. Either every operation of the request is
applied or none: a malformed request or a failing operation exits with code 2 and leaves the
store as it was. The prefixes the store binds need no ``PREFIX`` line (as for ``kg query``).

Examples::

    kg update 'INSERT DATA { <http://ex.org/a> <http://ex.org/p> "x" }'
    kg update -f changes.ru
    kg update -f big.ru --timeout 30   # past 30 s: cancelled, rolled back, exit 1
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kg_engine.cli.common import (
    DEFAULT_DB,
    EXIT_BAD_INPUT,
    DbOption,
    console,
    open_kg,
    report,
    user_errors,
)
from kg_engine.cli.query import file_hint, read_request
from kg_engine.errors import QueryTimeoutError, StoreError


def update(
    text: Annotated[str | None, typer.Argument(help="the SPARQL Update request")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="read the request from this file ('-': stdin)")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="cancel the request (nothing applied) after this many seconds"),
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Run a SPARQL 1.1 Update request (all operations or none)."""
    from kg_engine.api import check_timeout
    from kg_engine.sparql import default_engine

    with user_errors():
        check_timeout(timeout, "--timeout")
        request, source = read_request(text, file, "update")
        engine = default_engine()
        with open_kg(db) as kg:
            with file_hint(text, "update"):  # the store's prefixes declared, as kg.update does
                parsed = engine.prepare_update(request, source=source,
                                               init_ns=kg.graph.prefixes())
            try:
                # counted inside the request's own write transaction: a concurrent writer's
                # statements committed while this one waited for the lock are not its own
                with kg.store.db.transaction():
                    before, inferred_before = len(kg), _inferred(kg.store)
                    engine.update(kg.graph, parsed, timeout=timeout)
                    after, inferred = len(kg), _inferred(kg.store) - inferred_before
            except QueryTimeoutError as exc:  # rolled back; exit 1 as for kg query --timeout
                report(exc)
                raise typer.Exit(1) from None
            except StoreError as exc:
                report(exc)
                raise typer.Exit(EXIT_BAD_INPUT) from None
    # the reasoning profile's maintenance is counted apart: "+10" for 4 inserted statements
    # and their 6 consequences read as 10 written
    also = f", {inferred:+,} inferred" if inferred else ""
    console.print(f"ok: {after - before - inferred:+,} statements{also} ({after:,} in the store)",
                  highlight=False)


def _inferred(store: Any) -> int:
    """Statements in the inferred graph of ``store``'s reasoning profile (0 without one)."""
    from rdflib import URIRef

    profile = store.reasoning
    return store.count(URIRef(profile.graph)) if profile is not None else 0


def register(app: typer.Typer) -> None:
    """Add the ``update`` command to ``app``."""
    app.command("update")(update)
