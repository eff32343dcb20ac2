"""``kg vacuum``: free the terms no statement uses any more and compact the store.

Removing statements leaves their terms in the dictionary; ``kg vacuum`` deletes those no
statement, provenance record, load record or rule table uses, never hands their ids out again,
and (SQLite) gives the free pages back to the file system. Run it while no other process
writes to the store.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kg_engine.cli.common import (
    DEFAULT_DB,
    DbOption,
    console,
    err_console,
    open_kg,
    user_errors,
)


def vacuum(
    compact: Annotated[bool, typer.Option(
        "--compact/--no-compact", help="give free pages back to the file system (SQLite)")] = True,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Free unused terms and compact the store."""
    with user_errors(), open_kg(db) as kg:
        out = kg.vacuum(compact=compact)
    size = ""
    if out["bytes_before"] and out["bytes_after"] and out["compacted"] is not False:
        size = f"; {out['bytes_before'] / 1e6:,.1f} MB -> {out['bytes_after'] / 1e6:,.1f} MB"
    console.print(f"freed {out['terms_removed']:,} unused terms ({out['terms']:,} left){size}",
                  markup=False, highlight=False)
    if out["compacted"] is False:
        from kg_engine.store.database import WRITE_WAIT

        err_console.print(
            f"note: the file was not compacted: another process started writing to the store "
            f"and held it past {WRITE_WAIT:.0f} s. The unused terms are freed (that part is "
            "committed); run kg vacuum again when it has finished to give the free pages "
            "back to the file system.", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``vacuum`` command to ``app``."""
    app.command("vacuum")(vacuum)
