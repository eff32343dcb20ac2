"""The ``kg`` command line (Typer). Entry point: :func:`main`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``kg`` app; bad input exits with code 2 and a one-line message."""
    from kg_engine.cli.app import app
    from kg_engine.cli.common import USER_ERRORS, report

    try:
        app()
    except USER_ERRORS as exc:
        report(exc)
        sys.exit(2)


__all__ = ["main"]
