"""``kg stats``: counts, top predicates and size of a store.

The table names predicates as ``kg query`` tables do: shortened with the store's prefixes
(those of the files loaded) and rdf/rdfs/owl/xsd (``foaf:knows``), else ``<iri>``; ``--json``
keeps full IRIs.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kg_engine.cli.common import (
    DEFAULT_DB,
    DbOption,
    console,
    open_kg,
    reasoning_text,
    store_prefixes,
    user_errors,
)


def stats(
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show statement/term/graph counts, the top predicates and the size on disk."""
    with user_errors(), open_kg(db, readonly=True) as kg:
        info = kg.stats()
        reasoning = reasoning_text(kg)
        prefixes = store_prefixes(kg)
    if not info["url"].startswith("sqlite:"):
        from kg_engine.store.database import redact_url

        info["url"] = redact_url(info["url"])  # no password shown
    if as_json:
        console.print_json(json.dumps(info))
        return
    console.print(info["url"], style="bold", markup=False)
    size = f"{info['bytes'] / 1e6:,.1f} MB" if info["bytes"] else "in memory / n.a."
    console.print(
        f"statements: {info['statements']:,}  (default graph: "
        f"{info['default_graph_statements']:,})  terms: {info['terms']:,}  "
        f"named graphs: {info['graphs']:,}  size: {size}"
    )
    console.print(f"reasoning: {reasoning} (inferences in answers, kept current)"
                  if reasoning else "reasoning: off (asserted statements only)",
                  markup=False, highlight=False)
    if info["top_predicates"]:
        from rdflib import URIRef

        from kg_engine.sparql.results import human_term

        table = Table("predicate", "statements")
        for p, n in info["top_predicates"]:
            table.add_row(escape(human_term(URIRef(p), prefixes)), f"{n:,}")
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
