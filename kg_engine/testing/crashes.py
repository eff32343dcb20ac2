"""Crash-safety checks: kill a ``kg`` command (SIGKILL) mid-write, then judge what it left.

A command that writes the store must leave it, killed at ANY moment, in one of two states:
as it was before the command, or as the command leaves it when it runs to the end (for a
command that commits in steps, such as ``kg extract``: one of the states between its
commits, which its re-run completes). These helpers

* take a :func:`fingerprint` of a store: every kg-engine table as a bag of rows with the
  term ids decoded to the terms (ids differ between runs: the term inserts' order follows
  Python's hash seed), blank nodes counted but not named (their labels are random per load),
  times and auto-increment ids left out, empty tables as absent ones;
* list what is inconsistent in it (:func:`problems`, the checks of ``kg check``:
  :mod:`kg_engine.store.check`; statistics are estimates between loads: the fingerprint
  compares them);
* run a command and kill it at a moment (:func:`run_killed`): after a delay, or when a
  condition (a "marker": the write-ahead log has grown, a line was printed) holds.

``benchmarks/crash_safety.py`` repeats kills at random moments; ``tests/testing/
test_crashes.py`` kills each write path once or twice at markers.

Example:
    >>> from kg_engine.store import open_store
    >>> from rdflib import URIRef
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    >>> fp = fingerprint(store.db)
    >>> sorted(fp["kg_quads"].elements())
    [('<urn:kg-engine:default>', '<urn:a>', '<urn:p>', '<urn:b>')]
    >>> problems(store.db)
    []
"""

from __future__ import annotations

import bisect
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kg_engine.store import schema, writes
from kg_engine.store.check import kg_tables, problems

__all__ = ["Fingerprint", "as_schema_1_with_upper_case_tags", "fingerprint", "problems",
           "run_killed", "wal_grew"]

#: table -> bag of rows (term ids decoded)
Fingerprint = dict[str, Counter]

#: Columns that differ between two runs doing the same thing (times, auto-increment ids).
VOLATILE = {
    "kg_loads": {"id", "loaded_at"},
    "kg_provenance": {"id"},
    "kg_rules_programs": {"updated_at"},
    "kg_extraction_documents": {"extracted_at"},
}
#: kg_meta keys that differ between runs (the time a store began recording its writes)
VOLATILE_META: set[str] = {writes.RECORDED_KEY}
#: Datatypes of literals that differ between runs (times of runs): compared as "a time".
_TIMES = {"http://www.w3.org/2001/XMLSchema#dateTime"}


def _columns(db: Any, table: str) -> list[str]:
    if db.dialect == "sqlite":
        return [str(r[1]) for r in db.fetchall(f"PRAGMA table_info({table})")]
    return [str(r[0]) for r in db.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]


def _term_names(db: Any) -> dict[int, str]:
    """id -> the term's identity as text (blank nodes all ``_:``: labels are random)."""
    rows = db.fetchall("SELECT id, kind, lex, dt, lang FROM kg_terms")
    lex = {r[0]: r[2] for r in rows}
    names = {0: "<urn:kg-engine:default>"}
    for id_, kind, text, dt, lang in rows:
        if kind == schema.IRI:
            names[id_] = f"<{text}>"
        elif kind == schema.BNODE:
            names[id_] = "_:"
        elif lex.get(dt) in _TIMES:  # when a run happened (analytics' run description)
            names[id_] = f"time^^<{lex[dt]}>"
        else:
            names[id_] = repr(text) + (f"@{lang}" if lang else "") + (
                f"^^<{lex.get(dt, f'#missing {dt}')}>" if dt else "")
    return names


#: The recorded rule program (built-in rule sets specialised to the ontology): its blank
#: nodes have the random labels of their load, and its rules come in an order (and with
#: numbers) that differ between runs: compared as a bag of rules, blank nodes unnamed.
_PROGRAM = ("kg_rules_programs", "program")


def _program(text: str) -> str:
    import json
    import re

    try:
        program = json.loads(re.sub(r'"_:[^"]*"', '"_:"', text))
        program["rules"] = sorted(
            json.dumps({**r, "name": str(r.get("name", "")).split("#")[0]}, sort_keys=True)
            for r in program["rules"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return text
    return json.dumps(program, sort_keys=True)


def fingerprint(db: Any) -> Fingerprint:
    """Every ``kg*`` table of the store at ``db`` (a :class:`~kg_engine.store.database.
    Database`) as a bag of rows, term ids decoded (see the module docstring).

    ``kg_terms`` is the bag of term identities (blank nodes: how many).
    """
    with db.snapshot():
        names = _term_names(db)
        out: Fingerprint = {"kg_terms": Counter(names[i] for i in names if i)}
        tables = kg_tables(db)
        loads = sorted(int(r[0]) for r in db.fetchall("SELECT id FROM kg_loads")) \
            if "kg_loads" in tables else []
        for table in tables:
            if table == "kg_terms":
                continue
            cols = _columns(db, table)
            ids = set(schema.TERM_ID_COLUMNS.get(table, ()))
            keep = [i for i, c in enumerate(cols) if c not in VOLATILE.get(table, set())]
            rows = Counter()
            for row in db.fetchall(f"SELECT * FROM {table}"):
                if table == "kg_meta" and row[0] in VOLATILE_META:
                    continue
                if table == "kg_provenance":
                    row = _timeless(cols, row, loads)
                rows[tuple(names.get(row[i], f"#missing {row[i]}") if cols[i] in ids
                           else _program(row[i]) if (table, cols[i]) == _PROGRAM
                           else row[i] for i in keep)] += 1
            if rows:  # an empty table holds nothing (kg serve creates the rule tables)
                out[table] = rows
    return out


def _timeless(cols: list[str], row: Sequence[Any], loads: list[int]) -> Sequence[Any]:
    """A ``kg_provenance`` row; a write record's time (in ``detail``) left out, and the id of
    the newest load when it ran as the number of loads up to it (``loads``: the ids of the
    store's load records, sorted). The ids are auto-increment: PostgreSQL's sequence skips
    those of loads that rolled back, so the same writes after an interrupted load recorded
    another id (SQLite gives the next load the id again)."""
    record = dict(zip(cols, row))
    if record.get("agent") not in (writes.SPARQL_UPDATE, writes.API_ADD):
        return row
    detail = json.loads(record["detail"] or "{}")
    detail.pop("at", None)
    if "loads" in detail:
        detail["loads"] = bisect.bisect_right(loads, int(detail["loads"]))
    record["detail"] = json.dumps(detail, sort_keys=True)
    return tuple(record.values())


def wal_grew(path: str | Path, size: int) -> Callable[[], bool]:
    """A marker: the SQLite file's write-ahead log holds more than ``size`` bytes (a write
    transaction has spilled pages into it)."""
    wal = Path(f"{path}-wal")

    def marker() -> bool:
        try:
            return wal.stat().st_size > size
        except OSError:
            return False

    return marker


def run_killed(command: Sequence[str], *, at: float | Callable[[], bool],
               env: dict[str, str] | None = None, limit: float = 600.0,
               poll: float = 0.002, cwd: str | Path | None = None,
               log: str | Path | None = None) -> int | None:
    """Run ``command`` and SIGKILL it (and the processes it started) ``at`` seconds after
    its start, or as soon as the marker ``at()`` is true. Returns its exit code if it ended
    first (``None``: killed). Its output goes to the file ``log`` (default: nowhere).

    ``limit`` bounds the wait for a marker that never comes (then the command is killed
    anyway and ``None`` returned: the caller's assertions about the store still apply).
    """
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    start = time.monotonic()
    try:
        while proc.poll() is None:
            now = time.monotonic() - start
            if (at() if callable(at) else now >= at) or now > limit:
                os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker processes
                proc.wait()
                return None
            time.sleep(poll)
        return proc.returncode
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def as_schema_1_with_upper_case_tags(store: Any, n: int, predicate: str, subjects: str) -> None:
    """Write ``n`` statements ``<subjects{i}> <predicate> "w{i}"@EN-GB|DE`` straight into the
    tables (every fourth with its lower-case twin as a second term) and mark the store schema
    version 1, as kg-engine before lower-case tags left it: the next writable open upgrades it
    in place (:mod:`kg_engine.store.migrate`), a write long enough to kill."""
    from kg_engine.store.terms import term_hash

    db = store.db
    with db.transaction():
        p = int(db.scalar("SELECT coalesce(max(id), 0) FROM kg_terms")) + 1
        rows = [(p, term_hash(1, predicate, None, ""), 1, predicate, "")]
        quads = []
        for i in range(n):
            s, o, twin = p + 1 + 3 * i, p + 2 + 3 * i, p + 3 + 3 * i
            tag = "EN-GB" if i % 2 else "DE"
            rows.append((s, term_hash(1, f"{subjects}{i}", None, ""), 1, f"{subjects}{i}", ""))
            rows.append((o, term_hash(schema.LITERAL, f"w{i}", None, tag), schema.LITERAL,
                         f"w{i}", tag))
            quads.append((s, p, o))
            if i % 4 == 0:  # its lower-case twin is there too: the upgrade merges the two
                rows.append((twin, term_hash(schema.LITERAL, f"w{i}", None, tag.lower()),
                             schema.LITERAL, f"w{i}", tag.lower()))
                quads.append((s, p, twin))
        db.executemany("INSERT INTO kg_terms (id, h, kind, lex, dt, lang) VALUES (?, ?, ?, ?, 0, ?)",
                       rows)
        db.executemany("INSERT INTO kg_quads (g, s, p, o) VALUES (0, ?, ?, ?)", quads)
        db.execute("UPDATE kg_meta SET value = '1' WHERE key = ?", (schema.VERSION_KEY,))
