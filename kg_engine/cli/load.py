"""``kg load FILE… [--graph IRI] [--format FMT]``: bulk-load RDF files in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, err_console, open_kg, user_errors
from kg_engine.errors import ConfigError

#: what a store given where RDF files go looks like (``kg load kg.sqlite data.ttl``)
_STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
_URL_SCHEMES = ("sqlite:", "postgresql:", "postgresql+", "postgres:")


def store_among_files(files: list[str], format: str | None = None) -> None:
    """Refuse a store given as a file to load: the store goes with ``--db``. A ``.db`` file
    is taken for RDF when ``format`` is given.

    Raises:
        ConfigError: naming the argument and the command to write.

    Example:
        >>> store_among_files(["data.ttl", "rail.sqlite"])
        Traceback (most recent call last):
        ...
        kg_engine.errors.ConfigError: rail.sqlite is a store, not an RDF file to load: files go as arguments, the store with --db (kg load data.ttl --db sqlite:///rail.sqlite)
    """
    for name in files:
        if name.lower().startswith(_URL_SCHEMES):
            url = name
        elif format is None and Path(name).suffix.lower() in _STORE_SUFFIXES:
            url = f"sqlite:///{name}"
        else:
            continue
        what = "a database URL" if url == name else "a store"
        rdf = " ".join(x for x in files if x != name) or "FILE…"
        raise ConfigError(f"{name} is {what}, not an RDF file to load: files go as arguments, "
                          f"the store with --db (kg load {rdf} --db {url})")


def load(
    # str, not Path: a database URL given here keeps its slashes for the error message
    files: Annotated[list[str], typer.Argument(help="RDF files (any rdflib format, .gz ok)")],
    graph: Annotated[str | None, typer.Option(help="IRI of the target graph")] = None,
    format: Annotated[str | None, typer.Option(help="rdflib format for all files")] = None,
    allow_context: Annotated[list[str] | None, typer.Option(
        "--allow-context", help="a JSON-LD @context address that may be fetched (repeatable; "
        "by default remote and local contexts are refused)")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Load RDF files; a malformed file loads nothing and exits with code 2."""
    with user_errors():
        store_among_files(files, format)
        kg = open_kg(db)
        with kg:
            before = {Path(r["source"]).name for r in kg.store.loads()}
            result = kg.load(files, format=format, graph=graph,
                             allow_contexts=allow_context or ())
    waited = f" after waiting {result.waited:.1f} s for another writer" \
        if result.waited >= 0.5 else ""
    console.print(
        f"loaded {result.statements:,} statements ({result.added:,} new) from "
        f"{len(result.files)} file(s) in {result.seconds:.2f} s "
        f"({result.rate:,.0f} statements/s){waited} into {db}"
    )
    again = [f for f in files if Path(f).name in before]
    if again and result.added:
        # RDF: each load is a new document, so its blank nodes are new ones
        err_console.print(
            f"note: {', '.join(again)} {'was' if len(again) == 1 else 'were'} loaded into this "
            "store before; blank nodes are new at every load, so the blank-node parts of a "
            "file loaded again (lists, [ … ]) are now there twice. To reload a file, load it "
            "into a graph of its own (--graph IRI) and first drop that graph "
            "(kg update 'DROP GRAPH <IRI>').", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("load")(load)
