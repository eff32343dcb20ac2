"""``kg demo``: the main job end to end on the sample data shipped in ``data/``.

Loads the sample university graph into a fresh store and asks it SPARQL questions (later
steps — extraction from the sample corpus, rule reasoning, a GNN — join as they land).
Runs on a fresh machine with no ``../shared`` and no network.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kg_engine.cli.common import console, open_kg, user_errors

DEMO_DB = "sqlite:///kg-demo.sqlite"
DATA = Path(__file__).resolve().parents[2] / "data"

QUERIES = {
    "Who works where (with the city of the university)?": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?person ?org ?city WHERE {
          ?p ex:worksFor ?o . ?p rdfs:label ?person . ?o rdfs:label ?org .
          OPTIONAL { ?o ex:locatedIn ?c . ?c rdfs:label ?city }
        } ORDER BY ?person""",
    "Students per advisor": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?advisor (COUNT(?s) AS ?students) WHERE {
          ?s ex:advisor ?a . ?a rdfs:label ?advisor
        } GROUP BY ?advisor ORDER BY DESC(?students)""",
    "Researchers born before 1980 with more than 10 publications": """
        PREFIX ex: <https://example.org/kg/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?name ?born ?n WHERE {
          ?r ex:born ?born ; ex:publications ?n ; rdfs:label ?name .
          FILTER (?born < "1980-01-01"^^<http://www.w3.org/2001/XMLSchema#date> && ?n > 10)
        } ORDER BY ?born""",
}


def _print_result(title: str, result) -> None:  # noqa: ANN001 (rdflib Result)
    table = Table(*[str(v) for v in result.vars], title=title, title_justify="left")
    for row in result:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def demo(
    db: Annotated[str, typer.Option("--db", help="store for the demo (recreated)")] = DEMO_DB,
) -> None:
    """Run the main job on the sample data: load → query (→ extract, reason, GNN)."""
    if db.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(db[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    with user_errors(), open_kg(db) as kg:
        console.rule("[bold]1. load the sample graph")
        result = kg.load(DATA / "sample" / "university.ttl")
        console.print(f"{result.statements} statements loaded into {db} "
                      f"in {result.seconds * 1000:.0f} ms")
        console.rule("[bold]2. ask SPARQL questions")
        for title, query in QUERIES.items():
            _print_result(title, kg.query(query))
    console.print(f"[green]demo finished in {time.perf_counter() - started:.1f} s[/]")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
