"""The sample rule files in data/sample: both syntaxes parse and give the same closure."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from kg_engine.rules.engine import RuleEngine
from kg_engine.rules.explain import explain
from kg_engine.rules.syntax import load_rules
from kg_engine.store import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
EX = "https://example.org/kg/"


def ex(n: str) -> URIRef:
    return URIRef(EX + n)


def run(rules_file: str):
    store = open_store("sqlite://")
    store.load([SAMPLE / "university.ttl"])
    asserted = {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}
    engine = RuleEngine(store, load_rules(SAMPLE / rules_file))
    result = engine.materialise()
    closure = {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}
    return store, result, closure - asserted


@pytest.fixture(scope="module")
def jena():
    return run("university.rules")


def test_jena_and_n3_files_derive_the_same(jena):
    _store, result_j, derived_j = jena
    _store2, result_n, derived_n = run("university.n3")
    assert len(load_rules(SAMPLE / "university.rules")) == len(load_rules(SAMPLE / "university.n3")) == 8
    assert derived_j == derived_n
    assert result_j.derived == len(derived_j) > 0
    assert sum(result_j.violation_counts.values()) == sum(result_n.violation_counts.values()) == 0


def test_expected_conclusions(jena):
    _store, result, derived = jena
    # chen works for Logic, which belongs to CompSci, which belongs to Northfield
    assert (ex("chen"), ex("worksFor"), ex("Northfield")) in derived
    # ada heads CompSci, chen works for it through Logic: colleagues both ways
    assert (ex("ada"), ex("colleagueOf"), ex("chen")) in derived
    assert (ex("chen"), ex("colleagueOf"), ex("ada")) in derived
    assert not any(s == o for s, p, o in derived if p == ex("colleagueOf"))
    assert {s for s, p, o in derived if o == ex("SeniorResearcher")} == {ex("ada"), ex("bruno")}
    assert {s for s, p, o in derived if o == ex("UnaffiliatedStudent")} == {ex("emil"), ex("farah")}
    assert (ex("Logic"), ex("locatedIn"), ex("Harbortown")) in derived
    names = {p.rule for p in result.profile}
    assert "works-for-parent" in names


def test_explain_sample(jena):
    store, _result, _derived = jena
    e = explain(store, (ex("chen"), ex("worksFor"), ex("Northfield")))
    assert e.tree.rule == "works-for-parent" and e.tree.is_grounded()
    assert e.tree.depth() == 2
    leaf_sources = {s.source for leaf in e.tree.asserted_leaves() for s in leaf.sources}
    assert any(src and src.endswith("university.ttl") for src in leaf_sources)
