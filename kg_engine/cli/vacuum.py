"""``kg vacuum``: free the terms no statement uses any more and compact the store.

Removing statements leaves their terms in the dictionary; ``kg vacuum`` deletes those no
statement, provenance record, load record or rule table uses, never hands their ids out again,
and (SQLite) gives the free pages back to the file system. Run it while no other process
writes to the store.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, open_kg, user_errors


def vacuum(
    compact: Annotated[bool, typer.Option(
        "--compact/--no-compact", help="give free pages back to the file system (SQLite)")] = True,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Free unused terms and compact the store."""
    with user_errors(), open_kg(db) as kg:
        out = kg.vacuum(compact=compact)
    size = ""
    if out["bytes_before"] and out["bytes_after"]:
        size = f"; {out['bytes_before'] / 1e6:,.1f} MB -> {out['bytes_after'] / 1e6:,.1f} MB"
    console.print(f"freed {out['terms_removed']:,} unused terms ({out['terms']:,} left){size}",
                  markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``vacuum`` command to ``app``."""
    app.command("vacuum")(vacuum)
