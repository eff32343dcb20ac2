"""Explanations checked independently (:mod:`kg_engine.testing.explaindiff`): a fixed-seed
slice over every program, on SQLite and PostgreSQL, ``kg explain`` against the API; and the
validator itself, which must reject each kind of false explanation. The long run is
``benchmarks/explain_differential.py``."""

from __future__ import annotations

import dataclasses

import pytest
from rdflib import RDF, RDFS, Literal, URIRef

from kg_engine.rules.engine import reason
from kg_engine.rules.explain import explain
from kg_engine.rules.ir import Atom, Builtin, Not, Rule, Var
from kg_engine.store import open_store
from kg_engine.testing import explaindiff as ed

EX = "http://example.org/d/"
CAT, MAMMAL, ANIMAL, TOM = (URIRef(EX + n) for n in ("Cat", "Mammal", "Animal", "tom"))


@pytest.mark.parametrize("live", [False, True], ids=["reason", "live"])
@pytest.mark.parametrize("program", ed.PROGRAMS)
@pytest.mark.parametrize("seed", range(2))
def test_every_explanation_is_true(seed, program, live):
    r = ed.run_case(seed, program, live=live)
    assert r.ok, r.describe()
    assert r.counts["absent"] > 0 and r.counts["asserted"] > 0


@pytest.mark.postgres
@pytest.mark.parametrize("program", ["owl-rl", "builtins", "aggregates"])
def test_every_explanation_is_true_on_postgres(pg_server, program):
    for live in (False, True):
        r = ed.run_case(0, program, pg_server.new_database_url(), live=live)
        assert r.ok, r.describe()


def test_kg_explain_prints_what_the_api_returns(tmp_path):
    r = ed.run_case(1, "owl-rl", f"sqlite:///{tmp_path / 'kg.db'}", live=False, cli=True)
    assert r.ok, r.describe()
    assert r.counts["cli"] >= 5


# -- the validator rejects false explanations ---------------------------------------------


@pytest.fixture
def animals():
    store = open_store("sqlite://")
    store.add([(CAT, RDFS.subClassOf, MAMMAL), (MAMMAL, RDFS.subClassOf, ANIMAL), (TOM, RDF.type, CAT)])
    reason(store, "rdfs")
    yield store
    store.close()


def _problems(store, tree) -> list[str]:
    report = ed.CaseReport(0, "test")
    v = ed._Validator(store, ed.Snapshot.of(store), report)
    v.node(tuple(tree.triple), tree, ())
    return report.problems


def test_the_true_explanation_passes(animals):
    tree = explain(animals, (TOM, RDF.type, ANIMAL)).tree
    assert tree.kind == "inferred" and _problems(animals, tree) == []


@pytest.mark.parametrize("corrupt, says", [
    (lambda t, s: dataclasses.replace(t, rule="rdfs2"), "rule's body"),
    (lambda t, s: dataclasses.replace(t, rule="no-such-rule"), "has no rule"),
    (lambda t, s: dataclasses.replace(t, premises=t.premises[:1]), "rule's body"),
    (lambda t, s: dataclasses.replace(t, triple=(TOM, RDF.type, CAT)), "reported as inferred"),
    (lambda t, s: dataclasses.replace(t, bindings={**t.bindings, "x": CAT}), "rule's body"),
    (lambda t, s: dataclasses.replace(t, triple=(TOM, RDF.type, MAMMAL)), "no head atom"),
    (lambda t, s: dataclasses.replace(t, premises=[dataclasses.replace(t.premises[0], triple=(TOM, RDF.type, CAT)), *t.premises[1:]]), "rule's body"),
    (lambda t, s: dataclasses.replace(t, premises=[*t.premises[:1], dataclasses.replace(t.premises[1], triple=(TOM, RDF.type, URIRef(EX + "Dog")))]), "not in the store"),
    (lambda t, s: dataclasses.replace(t, premises=[*t.premises, t]), "premise of itself"),
    (lambda t, s: dataclasses.replace(t, kind="cycle"), "is cycle"),
])
def test_a_false_explanation_is_a_problem(animals, corrupt, says):
    tree = explain(animals, (TOM, RDF.type, ANIMAL)).tree
    problems = _problems(animals, corrupt(tree, animals))
    assert any(says in p for p in problems), problems


def test_an_asserted_leaf_in_the_wrong_graph_is_a_problem(animals):
    tree = explain(animals, (TOM, RDF.type, CAT)).tree
    wrong = dataclasses.replace(tree, graphs=[URIRef(EX + "G1")])
    assert any("the store has it in" in p for p in _problems(animals, wrong))


def test_licenses_checks_negation_and_tests_against_the_store_now():
    x, n = Var("x"), Var("n")
    p, q, c = URIRef(EX + "p"), URIRef(EX + "q"), URIRef(EX + "C")
    rule = Rule("r", (Atom(x, p, n), Builtin("gt", (n, Literal(2))), Not((Atom(x, q, Var("z")),))), (Atom(x, RDF.type, c),))
    snap = ed.Snapshot()
    for t in [(TOM, p, Literal(3))]:
        snap.asserted[t] = {None}
        snap.by_p.setdefault(t[1], []).append(t)
    assert ed.licenses(rule, (TOM, RDF.type, c), {}, [(TOM, p, Literal(3))], snap) is None
    assert "does not hold" in ed.licenses(rule, (TOM, RDF.type, c), {}, [(TOM, p, Literal(1))], snap)
    snap.asserted[(TOM, q, TOM)] = {None}
    snap.by_p.setdefault(q, []).append((TOM, q, TOM))
    assert "does not hold" in ed.licenses(rule, (TOM, RDF.type, c), {}, [(TOM, p, Literal(3))], snap)


@pytest.mark.parametrize("call, sigma, want", [
    (Builtin("lt", (Var("a"), Literal("10", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer")))), {"a": Literal(9.5)}, True),
    (Builtin("eq", (Var("a"), Literal("x"))), {"a": Literal("x")}, True),
    (Builtin("regex", (Var("a"), Literal("^a+b"))), {"a": Literal("aab")}, True),
    (Builtin("strlen", (Builtin("concat", (Var("a"), Literal("!"))),)), {"a": Literal("ab")}, Literal(3)),
    (Builtin("or", (Builtin("gt", (Var("a"), Literal(1))), Builtin("isIRI", (Var("a"),)))), {"a": URIRef("urn:a")}, True),
    (Builtin("div", (Literal(1), Literal(4))), {}, Literal(0.25)),
])
def test_evaluate(call, sigma, want):
    got = ed.evaluate(call, {Var(k): v for k, v in sigma.items()})
    assert got == want or ed._same(got, want)


def test_a_rule_specialised_to_a_removed_axiom_is_a_problem():
    from rdflib import OWL, BNode, Graph
    from rdflib.collection import Collection

    x, a, b, c = Var("x"), URIRef(EX + "A"), URIRef(EX + "B"), URIRef(EX + "C")
    rule = Rule("cls-int1#1", (Atom(x, RDF.type, a), Atom(x, RDF.type, b)), (Atom(x, RDF.type, c),))
    store = open_store("sqlite://")
    g = Graph()
    lst = BNode()
    Collection(g, lst, [a, b])
    store.add([*g, (c, OWL.intersectionOf, lst)])
    assert ed.axiom_problem(rule, ed.Snapshot.of(store)) is None
    store.remove((c, OWL.intersectionOf, lst))
    assert "no asserted axiom" in ed.axiom_problem(rule, ed.Snapshot.of(store))
    store.close()


def test_run_case_finds_a_planted_wrong_derivation(monkeypatch):
    """End to end: an explainer that names a wrong rule is caught."""
    from kg_engine.rules import explain as explain_mod

    real = explain_mod.Explainer._inferred

    def wrong_rule(self, terms, rule, *args, **kwargs):
        node = real(self, terms, rule, *args, **kwargs)
        return dataclasses.replace(node, rule="rdfs3" if node.rule != "rdfs3" else "rdfs2")

    monkeypatch.setattr(explain_mod.Explainer, "_inferred", wrong_rule)
    r = ed.run_case(0, "rdfs", live=False)
    assert not r.ok and all("by rdfs" in p for p in r.problems), r.describe()
