"""The ``kg`` command line (Typer). Entry point: :func:`main`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``kg`` app; bad input exits with code 2 and a one-line message."""
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


__all__ = ["main"]
