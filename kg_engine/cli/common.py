"""What every ``kg`` command shares: the ``--db`` option and the handling of bad input."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kg_engine.errors import (
    ConfigError,
    InputNotFoundError,
    InputSyntaxError,
    MissingDependencyError,
    ModelError,
    StoreURLError,
    UnsupportedOperationError,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "USER_ERRORS",
    "DbOption",
    "console",
    "err_console",
    "open_kg",
    "report",
    "user_errors",
]

EXIT_BAD_INPUT = 2
#: Exceptions that mean "the input was wrong": a message and exit code 2, no traceback.
USER_ERRORS = (InputSyntaxError, InputNotFoundError, ConfigError, StoreURLError, ModelError,
               UnsupportedOperationError, MissingDependencyError)

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="KG_DB",
        help="Database URL: sqlite:///PATH, sqlite:// (in-memory) or postgresql+psycopg://…",
        show_envvar=True,
    ),
]
DEFAULT_DB = "sqlite:///kg.sqlite"


def report(exc: BaseException) -> None:
    """Print a user error as one line on stderr."""
    err_console.print("[bold red]error:[/]", escape(str(exc)), highlight=False, soft_wrap=True)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input exceptions into a message and exit code 2."""
    try:
        yield
    except USER_ERRORS as exc:
        report(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def open_kg(db: str | None):  # -> KnowledgeGraph (imported lazily: the CLI starts fast)
    """Open the knowledge graph named by ``--db`` / ``$KG_DB`` / the default."""
    from kg_engine.api import KnowledgeGraph

    return KnowledgeGraph(db or os.environ.get("KG_DB") or DEFAULT_DB)
