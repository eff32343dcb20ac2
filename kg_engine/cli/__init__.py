"""The ``kg`` command line (Typer). Entry point: :func:`main`."""

from __future__ import annotations

import sys


def utf8_output() -> None:
    """Write stdout and stderr in UTF-8 whatever the locale.

    SPARQL's result formats, JSON and the exported files are UTF-8 by definition, and a
    table's values must not depend on the terminal's locale: under ``LANG=C`` (Python's
    UTF-8 mode off) or a Latin-1 locale, printing a non-ASCII value was an internal error
    (``UnicodeEncodeError``), and tables fell back to ASCII borders. The streams' error
    handlers are kept (surrogate escapes of file names still give back their bytes).
    """
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8") and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors=stream.errors)


def main() -> None:
    """Run the ``kg`` app; bad input exits with code 2 and a one-line message."""
    utf8_output()
    try:
        from kg_engine.cli.app import app_for
        from kg_engine.cli.common import USER_ERRORS, report

        app = app_for(sys.argv[1:])  # only the command that runs is imported and built
    except KeyboardInterrupt:  # Ctrl-C while starting: nothing was opened yet
        sys.stderr.write("interrupted: while starting, before anything was read or written\n")
        sys.exit(130)
    try:
        app()
    except USER_ERRORS as exc:
        report(exc)
        sys.exit(2)
    except KeyboardInterrupt:  # between commands' boundaries (argument parsing)
        report("before the command began; nothing was written", prefix="interrupted")
        sys.exit(130)
    finally:  # the command is over (its result printed): Ctrl-C no longer interrupts the exit
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["main", "utf8_output"]
