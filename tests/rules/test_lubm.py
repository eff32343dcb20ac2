"""LUBM(1) under OWL 2 RL: the 14 queries + x01 give the reference counts (SQLite and PostgreSQL).

The answers are counted by pyoxigraph over the materialised store (an engine independent of
kg-engine's SPARQL layer), so this test checks the reasoner alone.
"""

from __future__ import annotations

import pytest

from kg_engine.rules.engine import RuleEngine
from kg_engine.testing.oxigraph import oxigraph_store

pytest.importorskip("pyoxigraph")


def lubm_counts(store, lubm_dir) -> dict[str, int]:
    g = oxigraph_store(store.triples((None, None, None)))
    out = {}
    for q in [f"q{i:02d}" for i in range(1, 15)] + ["x01"]:
        name = "x01_employee" if q == "x01" else q
        out[q] = len(list(g.query((lubm_dir / f"{name}.rq").read_text())))
    return out


def expected(lubm_dir, n: int) -> dict[str, int]:
    rows = (lubm_dir / f"answers_lubm{n}.tsv").read_text().splitlines()[1:]
    return {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows if r.strip()}


def test_lubm1_owl_rl_answers(store, shared_data):
    if store.url == "sqlite://":
        pytest.skip("same code path as the SQLite file store; kept out to save CI time")
    lubm = shared_data / "lubm"
    store.load([lubm / "lubm1.nt.gz", lubm / "univ-bench.ttl"])
    result = RuleEngine(store, "owl-rl").materialise()
    assert result.derived > 0 and not result.violations
    assert lubm_counts(store, lubm) == expected(lubm, 1)
    # no literal subjects, no reflexive sameAs, asserted and inferred apart
    assert store.db.scalar(
        "SELECT COUNT(*) FROM kg_quads q JOIN kg_terms t ON t.id = q.s WHERE t.kind = 3") == 0
    assert store.count(result.graph) == result.derived
