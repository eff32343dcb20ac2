"""The ``kg`` command-line application: one Typer app, one command per module.

Every command takes ``--db URL`` (default: ``$KG_DB``, else ``sqlite:///kg.sqlite``), exits 0 on
success and 2 on bad input, with a message naming the file, line and what was expected.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kg",
    help="kg-engine: text → RDF knowledge graph → SPARQL, rules and GNN reasoning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each command module registers itself on `app` (one command per file).
from kg_engine.cli import demo, load, stats  # noqa: E402

for _module in (demo, load, stats):
    _module.register(app)
