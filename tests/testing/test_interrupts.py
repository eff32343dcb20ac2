"""Seeded sequences of interrupted API calls (:mod:`kg_engine.testing.interrupts`) on both
backends: after every interrupted call the same ``KnowledgeGraph`` keeps working, answers as
a fresh one opened on the store, and the store is the state before or after the call.
``benchmarks/interrupts.py`` runs many more seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_engine.testing.interrupts import Report, postgres_urls, run_sequence, sqlite_urls


def _run(seeds: range, urls, operations: int) -> Report:
    total = Report()
    for seed in seeds:
        total.merge(run_sequence(seed, urls, operations))
    assert not total.findings, "\n".join(map(str, total.findings))
    return total


def test_interrupted_calls_on_sqlite(tmp_path: Path) -> None:
    report = _run(range(4), sqlite_urls(tmp_path), 30)
    assert sum(report.interrupted.values()) >= 30  # the faults do land


@pytest.mark.postgres
def test_interrupted_calls_on_postgres(pg_server) -> None:
    # timer-signal Ctrl-Cs too: one during a load's COPY left the connection busy or held
    # psycopg's lock (fixed in Database.insert_rows / _settle)
    report = _run(range(2), postgres_urls(), 25)
    assert sum(report.interrupted.values()) >= 15
