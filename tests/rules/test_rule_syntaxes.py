"""The RDFS rule set written in Jena, N3 and SPARQL (data/rules/) equals the built-in one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg_engine.rules.engine import reason
from kg_engine.rules.rulesets.rdfs import rdfs_rules
from kg_engine.rules.syntax import load_rules
from kg_engine.store import open_store

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "data" / "rules"
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
FILES = ["rdfs.rules", "rdfs.n3", "rdfs.rq"]


@pytest.mark.parametrize("name", ["rdfs.n3", "rdfs.rq"])
def test_same_ir_as_builtin(name):
    parsed = load_rules(RULES / name)
    builtin = rdfs_rules()
    assert len(parsed) == len(builtin)
    for r, b in zip(parsed, builtin):
        assert set(r.body) == set(b.body) and r.head == b.head, (r, b)


def asserted(files) -> list:
    """The triples of ``files``, parsed once (so blank nodes keep one label across stores)."""
    store = open_store("sqlite://")
    store.load(files)
    return [(s, p, o) for s, p, o, _ in store.triples((None, None, None))]


def closure(triples, rules) -> set:
    store = open_store("sqlite://")
    store.add(triples)
    reason(store, rules)
    return {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}


@pytest.mark.parametrize("name", FILES)
def test_same_closure_on_sample(name):
    triples = asserted([REPO / "data" / "sample" / "university.ttl"])
    assert closure(triples, load_rules(RULES / name)) == closure(triples, "rdfs")


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_same_closure_on_lubm1(name):
    lubm = SHARED / "lubm"
    if not (lubm / "lubm1.nt.gz").exists():
        pytest.skip(f"LUBM data not found in {lubm} (set KG_SHARED_DATA)")
    triples = asserted([lubm / "univ-bench.ttl", lubm / "lubm1.nt.gz"])
    expected = closure(triples, "rdfs")
    assert len(expected) > len(triples)
    assert closure(triples, load_rules(RULES / name)) == expected
