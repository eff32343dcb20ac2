"""The size differential (:mod:`kg_engine.testing.sizediff`): the smallest dataset that crosses
each threshold the cases target, every case on SQLite and PostgreSQL agrees with pyoxigraph
(or rdflib, past 2^63); the harness's comparison catches wrong windows and orders.

The long runs (more seeds, the sizes of tens of thousands, the grammar's queries over grown
data) are ``benchmarks/sparql_size_differential.py``."""

from __future__ import annotations

import pytest

pytest.importorskip("pyoxigraph")

from kg_engine.testing.sizediff import Shape, SizeCase, compare_rows, run, size_cases, thresholds

#: answered right by rdflib's evaluator after SQLite refused the compiled SQL (docs/sparql.md):
#: a BGP of 64+ patterns (SQLite joins at most 64 tables); ``STRLEN(GROUP_CONCAT(…))`` and
#: ``MIN(?v) + MAX(?v)`` ("misuse of aggregate function COUNT()", SQLite only)
KNOWN_FALLBACKS = {"bgp-chain[64]", "bgp-chain[65]", "group-concat[", "group-concat-all[",
                   "avg-overflow["}


def _check(report, sqlite: bool) -> None:
    bad = [f for f in report.failures
           if not (f["status"] == "kg-fallback" and sqlite and any(f["case"].startswith(k) for k in KNOWN_FALLBACKS))
           and f["status"] != "majority:kg"]
    assert not bad, "\n".join(f"{f['status']} {f['case']} ({f['path']}): {f['detail'][:300]}" for f in bad)
    assert report.counts["agree"] >= 90  # the cases really compare answers


def test_small_shape_crosses_each_threshold() -> None:
    th, shape = thresholds(), Shape.small()
    labels = {(c.threshold, c.size) for c in size_cases(shape)}
    for name in ("VALUES_INLINE_MAX", "COMPOUND_MAX", "SQLITE_MAX_COMPOUND_SELECT", "IN_SET_MIN",
                 "DICTIONARY_CHUNK", "SQLITE_MAX_EXPR_DEPTH", "SQLITE_MAX_JOIN_TABLES"):
        v = th[name].value
        assert {(name, v - 1), (name, v), (name, v + 1)} <= labels, name
    assert shape.entities > th["STREAM_BATCH"].value and shape.datatypes > th["DECODE_CHUNK"].value
    assert shape.long_chars > th["SERVE_INLINE_BYTES"].value
    assert any(c.threshold == "RELAX_MIN_ROWS" and c.size > th["RELAX_MIN_ROWS"].value
               for c in size_cases(shape))


def test_sizes_agree_on_sqlite() -> None:
    _check(run(3, shape=Shape.small(), timeout=60), sqlite=True)


@pytest.mark.postgres
def test_sizes_agree_on_postgres(pg_server) -> None:
    _check(run(4, url=pg_server.new_database_url, shape=Shape.small(), timeout=60), sqlite=False)


def test_comparison_catches_a_wrong_window() -> None:
    lit = [("lit", str(i), "http://www.w3.org/2001/XMLSchema#integer", "") for i in range(4)]
    case = SizeCase("t", 4, "x", "", order=[("o", True)], limited=True, offset=True)

    def rows(*pairs: tuple[str, int]) -> tuple[list[str], list[tuple]]:
        return ["s", "o"], [(("iri", s), lit[k]) for s, k in pairs]
    ref = rows(("a", 3), ("b", 2), ("c", 1), ("d", 1))
    # another row of the tie at the window's end (or start): allowed
    assert compare_rows(case, rows(("a", 3), ("b", 2), ("c", 1), ("e", 1)), ref).status == "agree"
    assert compare_rows(case, rows(("f", 3), ("b", 2), ("c", 1), ("d", 1)), ref).status == "agree"
    for wrong in (rows(("a", 3), ("b", 2), ("c", 1), ("z", 0)),  # a key past the window
                  rows(("a", 3), ("x", 2), ("c", 1), ("d", 1)),  # a row inside it changed
                  rows(("a", 3), ("c", 1), ("b", 2), ("d", 1)),  # out of order
                  rows(("a", 3), ("b", 2), ("c", 1))):  # a row lost
        assert compare_rows(case, wrong, ref).status == "differ", wrong
