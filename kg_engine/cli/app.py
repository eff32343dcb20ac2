"""The ``kg`` command-line application: one Typer app, one command per module.

Every command takes ``--db URL`` (default: ``$KG_DB``, else ``sqlite:///kg.sqlite``), exits 0 on
success and 2 on bad input, with a message naming the file, line and what was expected.
"""

from __future__ import annotations

import typer

from kg_engine.cli.common import KgGroup

app = typer.Typer(
    cls=KgGroup,  # usage errors: one line, exit 2 (cli/common.py)
    name="kg",
    help="kg-engine: text → RDF knowledge graph → SPARQL, rules and GNN reasoning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

import importlib

# One command per module, each exposing `register(app)`; add a module name to list a command.
_COMMANDS = [
    "demo",
    "extract",
    "load",
    "stats",
    "reason",
    "explain",
    "train_re",
    "eval_re",
    "train_ner", "eval_ner",
    "gnn",
    "query",
    "update",
    "analyze", "export",  # kg analyze, kg path, kg export (analytics, export)
    "serve",
    "vacuum",  # term garbage collection (issue 13)
]
for _name in _COMMANDS:
    importlib.import_module(f"kg_engine.cli.{_name}").register(app)


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", envvar="KG_DEBUG",
                               help="show the traceback of an internal error"),
) -> None:
    import logging

    from kg_engine.cli.common import set_debug

    set_debug(debug)
    if not debug:  # rdflib's warnings (e.g. "does not look like a valid URI") are not errors
        logging.getLogger("rdflib").setLevel(logging.ERROR)


# the one error boundary around every command (cli/common.py)
importlib.import_module("kg_engine.cli.common").guard_commands(app)
