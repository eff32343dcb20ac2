"""``kg explain "<s> <p> <o>" [--all] [--json]``: why a statement is in the store.

An inferred statement is shown as its derivation tree (rule, round, premises, down to
asserted statements); an asserted one with its source (file, extracted sentence, model).
The statement is written N-Triples-style (``<iri>``, ``"literal"@en``, ``"5"^^xsd:integer``);
``rdf: rdfs: owl: xsd:`` prefixed names, the prefixes of the files loaded (those ``kg query``
shows) and ``a`` are accepted; the tree names IRIs with the same prefixes, as ``kg query``
tables do (``--json`` keeps full IRIs). A malformed statement, or one that is not in the store,
exits with code 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kg_engine.cli.common import (
    DEFAULT_DB,
    EXIT_BAD_INPUT,
    DbOption,
    command_line_text,
    console,
    open_kg,
    report,
    store_prefixes,
    user_errors,
)


def explain(
    statement: Annotated[str, typer.Argument(help='the triple, e.g. "<http://ex.org/a> rdf:type <http://ex.org/C>"')],
    all_derivations: Annotated[
        bool, typer.Option("--all", help="every rule instance that derives the statement")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the tree(s) as JSON")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Show the derivation tree of an inferred statement, or the source of an asserted one."""
    from rdflib import Graph
    from rdflib.namespace import NamespaceManager

    from kg_engine.rules.explain import Explanation, NotInStoreError

    with user_errors(), open_kg(db, readonly=True) as kg:
        try:
            result = kg.explain(command_line_text(statement), all_derivations=all_derivations)
        except NotInStoreError as exc:
            report(exc)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        names = NamespaceManager(Graph(), bind_namespaces="none")
        for prefix, namespace in store_prefixes(kg).items():
            names.bind(prefix, namespace, override=True, replace=True)
    if as_json and hasattr(result, "to_json"):
        console.print_json(result.to_json())
    else:
        text = result.render(names) if isinstance(result, Explanation) else str(result)
        console.print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to ``app``."""
    app.command("explain")(explain)
