"""``kg check [STORE] [--quick] [--json]``: is the store sound?

Reads the whole store and writes nothing: SQLite's ``integrity_check`` (every page, every
index entry; ``--quick``: ``quick_check``, pages and rows only) and kg-engine's own
consistency checks (on PostgreSQL those only). A store damaged in the middle of its file opens
and answers queries until one happens to read a bad page: run ``kg check`` after copying a
store, after a disk or power problem, or before relying on a backup.

``STORE`` is a database URL or the path of a SQLite file (default: ``--db`` / ``$KG_DB``).
Exit codes: 0 sound; 3 problems found (each printed with its fix), a damaged store that
cannot even be opened included; 2 bad input (no such store, not a kg-engine store).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Annotated

import typer

from kg_engine.cli.common import DEFAULT_DB, DbOption, console, open_kg, user_errors
from kg_engine.errors import StoreError, StoreUpgradeRequired

if TYPE_CHECKING:
    from kg_engine.store.check import CheckReport

#: Exit code of ``kg check`` when the store is not sound.
EXIT_UNSOUND = 3


def check(
    store: Annotated[str | None, typer.Argument(
        help="the store: a database URL or a SQLite file (default: --db)",
        show_default=False)] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="SQLite quick_check: skip comparing every index with its table")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Check that a store is sound (SQLite pages and indexes, kg-engine's tables); read-only."""
    from kg_engine.store.check import FIX_PAGES, CheckReport, Finding
    from kg_engine.store.database import redact_url

    url = db if store is None else store if "://" in store else f"sqlite:///{store}"
    with user_errors():
        try:
            kg = open_kg(url, readonly=True)
        except StoreUpgradeRequired as exc:  # not answerable as it is, but checkable
            report = _check_older_store(url, quick, str(exc))
        except StoreError as exc:
            if not isinstance(exc.__cause__, sqlite3.DatabaseError) or isinstance(
                    exc.__cause__, sqlite3.OperationalError):
                raise  # not a damaged file: locked, unreadable, not a kg-engine store
            report = CheckReport(["open"], [Finding(f"cannot be opened: {exc}", FIX_PAGES)])
        else:
            with kg:
                report = kg.check(quick=quick)
    shown = url if url.startswith("sqlite:") else redact_url(url)  # no password shown
    if as_json:
        console.print_json(json.dumps({
            "url": shown, "sound": report.sound, "checks": report.checks,
            "findings": [{"what": f.what, "fix": f.fix} for f in report.findings]}))
    else:
        console.print(f"{shown}: {report}", markup=False, highlight=False, soft_wrap=True)
    if not report.sound:
        raise typer.Exit(EXIT_UNSOUND)


def _check_older_store(url: str, quick: bool, why: str) -> CheckReport:
    """Check a store an older kg-engine wrote without upgrading it (it is only read)."""
    from kg_engine.store.check import check_store
    from kg_engine.store.database import Database

    db = Database.connect(url, readonly=True, create=False)
    try:
        report = check_store(db, quick=quick)
    finally:
        db.close()
    typer.echo(f"note: {why}", err=True)  # stdout stays the report (--json)
    return report


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to ``app``."""
    app.command("check")(check)
