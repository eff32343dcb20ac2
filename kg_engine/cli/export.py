"""``kg export OUT``: the graph to a file, in any format (see :mod:`kg_engine.export`).

The format comes from the extension (``.nt .nq .ttl .trig .jsonld .rdf .graphml .gexf .pt
.html``, optionally ``.gz``) or ``--format`` (also ``csv`` = a Neo4j import folder,
``pyg-hetero``). ``--query`` (a CONSTRUCT) or ``--entity``/``--hops`` export a subgraph. The
file appears only when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, open_kg, user_errors
from kg_engine.cli.query import read_request
from kg_engine.core.iri import check_iri


def export(
    out: Annotated[Path, typer.Argument(help="output file (a folder for --format csv)")],
    format: Annotated[str | None, typer.Option(
        "--format", "-f", help="nt | nq | turtle | trig | json-ld | xml | graphml | gexf | "
        "csv | pyg | pyg-hetero | html (default: from OUT's extension)")] = None,
    graph: Annotated[list[str] | None, typer.Option(
        "--graph", "-g", help="graph IRI ('default' for the default graph); repeat for "
        "several (default: every asserted graph)")] = None,
    include_inferred: Annotated[bool | None, typer.Option(
        "--include-inferred/--asserted-only",
        help="add the rule engine's inferred graphs (default: when the store has a "
        "reasoning profile, see kg reason)")] = None,
    query: Annotated[str | None, typer.Option(
        "--query", "-q", help="CONSTRUCT / SELECT ?s ?p ?o picking a subgraph (or @file.rq)")] = None,
    entity: Annotated[str | None, typer.Option(
        "--entity", help="export this entity's neighbourhood (IRI)")] = None,
    hops: Annotated[int, typer.Option("--hops", help="neighbourhood radius")] = 1,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export the graph (or a subgraph) to OUT."""

    with user_errors():
        if query is not None and query.startswith("@"):
            query, _ = read_request(None, Path(query[1:]), "query")
        with open_kg(db, readonly=True) as kg:
            res = kg.export(out, format, graph=graph or None, include_inferred=include_inferred,
                            query=query, entity=check_iri(entity, "--entity") if entity else None,
                            hops=hops, progress=progress)
    unit = "statements" if res.format in ("nt", "nq", "turtle", "trig", "json-ld", "xml") \
        else "edges"
    console.print(f"wrote {res.statements:,} {unit} as {res.format} to {res.path} "
                  f"({res.bytes / 1e6:,.2f} MB) in {res.seconds:.2f} s "
                  f"({res.rate:,.0f} {unit}/s)", markup=False, highlight=False)
    if res.graphs_merged:
        console.print(f"note: {res.graphs_merged:,} graphs merged into one: {res.format} has no "
                      "graph names (a statement held by several graphs is written once); "
                      ".nq, .trig and .jsonld keep the graphs", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""
    app.command("export")(export)
