"""Checking a store: is it sound? (``kg check``, :meth:`KnowledgeGraph.check`)

A SQLite store whose pages were damaged in the middle of the file (a disk or copy error, a
file edited while open) opens and answers queries until a statement happens to read a bad
page; nothing else notices. :func:`check_store` reads it all, writing nothing:

* SQLite: ``PRAGMA integrity_check`` (every page, every index entry against its row), or
  with ``quick`` ``PRAGMA quick_check`` (the pages and rows, not the indexes' agreement);
* every backend: kg-engine's own consistency — the schema marker, term ids a table uses but
  the dictionary lacks, literals with a missing datatype, a term stored twice, named graphs
  with statements that are not recorded, derivations of statements that are gone.

Each :class:`Finding` says what is wrong and what to do about it. The crash-safety harness
(:mod:`kg_engine.testing.crashes`) judges a killed command's store with the same checks.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))], URIRef("urn:g"))
    >>> report = check_store(store.db)
    >>> report.sound, report.findings
    (True, [])
    >>> _ = store.db.execute("DELETE FROM kg_graphs")
    >>> print(check_store(store.db))
    UNSOUND: 1 problem found
    - kg_graphs: 1 graph(s) with statements are not recorded
      fix: restore the store from a backup, or load the data again into a new store
    checks: integrity_check, schema marker, term ids, literal datatypes, terms stored once, named graphs, derivations
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kg_engine.store import schema

__all__ = ["CheckReport", "Finding", "check_store", "kg_tables", "problems"]

#: What to do about damaged SQLite pages.
FIX_PAGES = ("restore the store from a backup; else copy out what is readable with "
             "`sqlite3 FILE .recover | sqlite3 NEW.sqlite` and run kg check on NEW.sqlite")
#: What to do about an inconsistency of kg-engine's own tables (a bug, or a tool that wrote
#: the tables directly).
FIX_TABLES = "restore the store from a backup, or load the data again into a new store"


@dataclass(frozen=True)
class Finding:
    """One problem: what is wrong, and the fix."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what} (fix: {self.fix})"


@dataclass
class CheckReport:
    """What :func:`check_store` found.

    Attributes:
        checks: the checks that ran, in order.
        findings: the problems (empty: the store is sound).
    """

    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        """Whether no check found anything."""
        return not self.findings

    def __str__(self) -> str:
        checks = "checks: " + ", ".join(self.checks)
        if self.sound:
            return f"sound\n{checks}"
        n = len(self.findings)
        lines = [f"UNSOUND: {n} problem{'s' if n > 1 else ''} found"]
        for f in self.findings:
            lines += [f"- {f.what}", f"  fix: {f.fix}"]
        return "\n".join([*lines, checks])


def kg_tables(db: Any) -> list[str]:
    """The names of the store's ``kg*`` tables, sorted."""
    if db.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kg%'"
    else:
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = "
               "current_schema() AND table_name LIKE 'kg%'")
    return sorted(str(r[0]) for r in db.fetchall(sql))


def _pages(db: Any, quick: bool) -> list[Finding]:
    pragma = "quick_check" if quick else "integrity_check"
    rows = [str(r[0]) for r in db.fetchall(f"PRAGMA {pragma}")]
    if rows == ["ok"]:
        return []
    seen: dict[str, int] = {}  # the same message for many rows: once, with a count
    for line in (line for row in rows for line in row.splitlines()):
        if line.strip() and not line.startswith("*** in database"):
            seen[line] = seen.get(line, 0) + 1
    seen = {line: n for line, n in seen.items() if not _false_null(db, line)}
    if not seen:
        return []
    lines = [line + (f" (x{n})" if n > 1 else "") for line, n in seen.items()]
    shown = "; ".join(lines[:5]) + (f"; … ({len(lines) - 5} more)" if len(lines) > 5 else "")
    return [Finding(f"{pragma} found damaged pages: {shown}", FIX_PAGES)]


_NULL = re.compile(r"NULL value in (\w+)\.(\w+)\Z")


def _false_null(db: Any, line: str) -> bool:
    """Whether ``line`` is quick_check's "NULL value in T.C" and column C of table T holds no
    NULL. SQLite 3.40's quick_check reads the columns of a WITHOUT ROWID table whose primary
    key is not in column order wrongly: it reported every row of an intact ``kg_quads``
    (``g`` first, key ``s, p, o, g``), ``integrity_check`` none."""
    found = _NULL.match(line)
    if found is None:
        return False
    table, column = found.groups()
    known = db.fetchall("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", (table, column))
    if not known:
        return False
    try:
        return db.scalar(f'SELECT count(*) FROM "{table}" WHERE "{column}" IS NULL') == 0
    except sqlite3.DatabaseError:  # the rows cannot be read: the message stands
        return False


def _consistency(db: Any) -> list[tuple[str, Callable[[set[str]], list[str]]]]:
    """kg-engine's own checks: (name, check of the set of tables -> what is wrong)."""

    def count(sql: str) -> int:
        return int(db.scalar(sql) or 0)

    def marker(tables: set[str]) -> list[str]:
        if "kg_meta" not in tables or db.scalar(
                "SELECT value FROM kg_meta WHERE key = ?", (schema.VERSION_KEY,)) is None:
            return ["no kg_meta schema_version marker"]
        return []

    def term_ids(tables: set[str]) -> list[str]:
        out = []
        for table, cols in schema.TERM_ID_COLUMNS.items():
            if table not in tables:
                continue
            for col in cols:
                n = count(f"SELECT count(*) FROM {table} x WHERE x.{col} <> 0 AND NOT EXISTS "
                          f"(SELECT 1 FROM kg_terms t WHERE t.id = x.{col})")
                if n:
                    out.append(f"{table}.{col}: {n} row(s) name a term id missing from kg_terms")
        return out

    def datatypes(tables: set[str]) -> list[str]:
        n = count("SELECT count(*) FROM kg_terms x WHERE x.dt <> 0 AND NOT EXISTS "
                  "(SELECT 1 FROM kg_terms t WHERE t.id = x.dt)")
        return [f"kg_terms.dt: {n} literal(s) with a missing datatype term"] if n else []

    def once(tables: set[str]) -> list[str]:
        n = count("SELECT count(*) FROM (SELECT h, kind, lex, dt, lang FROM kg_terms "
                  "GROUP BY h, kind, lex, dt, lang HAVING count(*) > 1) d")
        return [f"kg_terms: {n} term(s) stored twice"] if n else []

    def graphs(tables: set[str]) -> list[str]:
        n = count("SELECT count(DISTINCT g) FROM kg_quads q WHERE g <> 0 AND NOT EXISTS "
                  "(SELECT 1 FROM kg_graphs k WHERE k.id = q.g)")
        return [f"kg_graphs: {n} graph(s) with statements are not recorded"] if n else []

    def derivations(tables: set[str]) -> list[str]:
        if "kg_rules_derivations" not in tables:
            return []
        n = count("SELECT count(*) FROM kg_rules_derivations d WHERE NOT EXISTS "
                  "(SELECT 1 FROM kg_quads q WHERE q.s = d.s AND q.p = d.p AND "
                  "q.o = d.o AND q.g = d.g)")
        return [f"kg_rules_derivations: {n} derivation(s) of missing statements"] if n else []

    return [("schema marker", marker), ("term ids", term_ids), ("literal datatypes", datatypes),
            ("terms stored once", once), ("named graphs", graphs), ("derivations", derivations)]


def check_store(db: Any, *, quick: bool = False) -> CheckReport:
    """Check the store at ``db`` (a :class:`~kg_engine.store.database.Database`), reading
    only (in one snapshot: a concurrent writer's half-done transaction is not seen).

    Args:
        db: the store's database connection.
        quick: SQLite ``quick_check`` instead of ``integrity_check`` (skips comparing every
            index with its table: several times faster on a large store).

    Returns:
        A :class:`CheckReport`; a check that cannot even read what it checks (a damaged
        page) is a finding too, never an exception.
    """
    report = CheckReport()
    try:
        with db.snapshot():
            _run(db, report, quick)
    except sqlite3.DatabaseError as exc:  # the read transaction's end read a damaged page
        if db.raw.in_transaction:
            db.execute("ROLLBACK")
        if report.sound:
            report.findings.append(Finding(f"the store cannot be read: {exc}", FIX_PAGES))
    return report


def _run(db: Any, report: CheckReport, quick: bool) -> None:
    if db.dialect == "sqlite":
        report.checks.append("quick_check" if quick else "integrity_check")
        try:
            report.findings += _pages(db, quick)
        except sqlite3.DatabaseError as exc:
            report.findings.append(Finding(f"the pages cannot be read: {exc}", FIX_PAGES))
            return
    try:
        tables = set(kg_tables(db))
    except sqlite3.DatabaseError as exc:
        report.findings.append(Finding(f"the schema cannot be read: {exc}", FIX_PAGES))
        return
    for name, check in _consistency(db):
        report.checks.append(name)
        try:
            found = check(tables)
        except sqlite3.DatabaseError as exc:  # it read a damaged page
            report.findings.append(Finding(f"{name}: cannot be read: {exc}", FIX_PAGES))
            continue
        report.findings += [Finding(what, FIX_TABLES) for what in found]
        if name == "schema marker" and found:
            return  # not a kg-engine store: its tables mean nothing


def problems(db: Any) -> list[str]:
    """What :func:`check_store` finds wrong in the store at ``db``, as lines (empty:
    nothing); the full ``integrity_check``."""
    return [f.what for f in check_store(db).findings]
