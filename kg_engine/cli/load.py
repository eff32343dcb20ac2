"""``kg load FILE… [--graph IRI] [--format FMT]``: bulk-load RDF files in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, open_kg, user_errors


def load(
    files: Annotated[list[Path], typer.Argument(help="RDF files (any rdflib format, .gz ok)")],
    graph: Annotated[str | None, typer.Option(help="IRI of the target graph")] = None,
    format: Annotated[str | None, typer.Option(help="rdflib format for all files")] = None,
    allow_context: Annotated[list[str] | None, typer.Option(
        "--allow-context", help="a JSON-LD @context address that may be fetched (repeatable; "
        "by default remote and local contexts are refused)")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Load RDF files; a malformed file loads nothing and exits with code 2."""
    with user_errors():
        kg = open_kg(db)
        with kg:
            result = kg.load(files, format=format, graph=graph,
                             allow_contexts=allow_context or ())
    console.print(
        f"loaded {result.statements:,} statements ({result.added:,} new) from "
        f"{len(result.files)} file(s) in {result.seconds:.2f} s "
        f"({result.rate:,.0f} statements/s) into {db}"
    )


def register(app: typer.Typer) -> None:
    app.command("load")(load)
