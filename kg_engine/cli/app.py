"""The ``kg`` command-line application: one Typer app, one command per module.

Every command takes ``--db URL`` (default: ``$KG_DB``, else ``sqlite:///kg.sqlite``), exits 0 on
success and 2 on bad input, with a message naming the file, line and what was expected.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence

import typer

from kg_engine.cli.common import KgGroup

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
    "check",  # is the store sound? (integrity_check + consistency)
]
#: commands whose module is not named after them (else: ``train-re`` -> ``train_re``)
_MODULE_OF = {"path": "analyze"}


def make_app(modules: Iterable[str] = _COMMANDS) -> typer.Typer:
    """The ``kg`` Typer app with the commands of ``modules`` (default: all)."""
    app = typer.Typer(
        cls=KgGroup,  # usage errors: one line, exit 2 (cli/common.py)
        name="kg",
        help="kg-engine: text → RDF knowledge graph → SPARQL, rules and GNN reasoning.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in modules:
        importlib.import_module(f"kg_engine.cli.{name}").register(app)
    app.callback()(_main)
    # the one error boundary around every command (cli/common.py)
    importlib.import_module("kg_engine.cli.common").guard_commands(app)
    return app


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app that runs the command line ``args``: only the named command's module is
    imported and built (``kg query`` does not pay for the GNN or extraction commands'
    imports and signatures); the whole app for help, no command or an unknown one."""
    words = [a for a in args if a != "--debug"]
    if words and not words[0].startswith("-"):
        module = _MODULE_OF.get(words[0], words[0].replace("-", "_"))
        if module in _COMMANDS:
            return make_app([module])
    return make_app()


def _main(
    debug: bool = typer.Option(False, "--debug", envvar="KG_DEBUG",
                               help="show the traceback of an internal error"),
) -> None:
    import logging

    from kg_engine.cli.common import set_debug

    set_debug(debug)
    if not debug:  # rdflib's warnings (e.g. "does not look like a valid URI") are not errors
        logging.getLogger("rdflib").setLevel(logging.ERROR)
        # nor are those it issues making an ill-typed literal ("Parsing weird boolean, '2'…",
        # "Serializing weird numerical …"): kg load names each one with its line and column
        import warnings

        warnings.filterwarnings("ignore", category=UserWarning, module=r"rdflib\.term")


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole app, built on first use (PEP 562)."""
    if name == "app":
        built = globals()["app"] = make_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
