"""owl:sameAs by representative rewriting gives the answers of naive equality materialisation."""

from __future__ import annotations

import random

import pytest
from rdflib import OWL, RDF, RDFS, URIRef

from kg_engine.rules.engine import RuleEngine, inferred_graph
from kg_engine.rules.ir import Atom, Rule, RuleSet, Var
from kg_engine.rules.rulesets.owl_rl import owl_rl_rules
from kg_engine.rules.sameas import equivalents
from kg_engine.store import open_store

EX = "urn:ex:"
s_, p_, o_, x, y, z = (Var(v) for v in ("s", "p", "o", "x", "y", "z"))


def U(name: str) -> URIRef:
    return URIRef(EX + name)


EQ_RULES = [  # the naive n² equality rules, as a reference
    Rule("eq-sym", (Atom(x, OWL.sameAs, y),), (Atom(y, OWL.sameAs, x),)),
    Rule("eq-trans", (Atom(x, OWL.sameAs, y), Atom(y, OWL.sameAs, z)), (Atom(x, OWL.sameAs, z),)),
    Rule("eq-rep-s", (Atom(x, OWL.sameAs, y), Atom(x, p_, o_)), (Atom(y, p_, o_),)),
    Rule("eq-rep-p", (Atom(x, OWL.sameAs, y), Atom(s_, x, o_)), (Atom(s_, y, o_),)),
    Rule("eq-rep-o", (Atom(x, OWL.sameAs, y), Atom(s_, p_, x)), (Atom(s_, p_, y),)),
]


def reference(facts) -> set:
    store = open_store("sqlite://")
    store.add(facts)
    rs = owl_rl_rules(store)
    prog = RuleSet("ref", tuple(r for r in rs.rules if not r.is_constraint) + tuple(EQ_RULES))
    RuleEngine(store, prog, equality=False).materialise()
    out = {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}
    return {t for t in out if not (t[1] == OWL.sameAs and t[0] == t[2])}


def ours(facts, store=None):
    store = store if store is not None else open_store("sqlite://")  # an empty store is falsy
    store.add(facts)
    eng = RuleEngine(store, "owl-rl")
    result = eng.materialise()
    return store, {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}, result


def test_functional_property_merges_and_answers_stay_complete(store):  # every backend
    facts = [
        (U("hasMother"), RDF.type, OWL.FunctionalProperty),
        (U("ann"), U("hasMother"), U("m1")), (U("ann"), U("hasMother"), U("m2")),
        (U("m1"), RDF.type, U("Teacher")), (U("m2"), U("livesIn"), U("paris")),
        (U("Teacher"), RDFS.subClassOf, U("Person")),
        (U("livesIn"), RDFS.domain, U("Resident")),
    ]
    store, got, _ = ours(facts, store)
    ref = reference(facts)
    assert {t for t in got if t[1] != OWL.sameAs} == {t for t in ref if t[1] != OWL.sameAs}
    for m in ("m1", "m2"):
        assert (U(m), RDF.type, U("Person")) in got
        assert (U(m), RDF.type, U("Resident")) in got
    assert equivalents(store, U("m2"), inferred_graph("owl-rl")) == {U("m1"), U("m2")}
    assert not any(s == o for s, p, o in got if p == OWL.sameAs)


def test_star_not_clique():
    chain = [(U(f"a{i}"), OWL.sameAs, U(f"a{i + 1}")) for i in range(9)]  # class of 10
    _store, got, _ = ours(chain + [(U("a5"), RDF.type, U("C"))])
    same = {t for t in got if t[1] == OWL.sameAs}
    inferred_same = same - set(chain)
    assert len(inferred_same) <= 2 * 9  # the clique would be 90 ordered pairs
    assert all((U(f"a{i}"), RDF.type, U("C")) in got for i in range(10))


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_match_naive_equality(seed):
    rng = random.Random(seed)
    nodes = [U(f"n{i}") for i in range(6)]
    facts = {
        (U("f"), RDF.type, OWL.FunctionalProperty),
        (U("q"), RDF.type, OWL.SymmetricProperty),
        (U("C"), RDFS.subClassOf, U("D")),
        (U("q"), RDFS.range, U("C")),
    }
    for _ in range(9):
        facts.add((rng.choice(nodes), rng.choice([U("f"), U("q"), U("r")]), rng.choice(nodes)))
    facts.add((rng.choice(nodes), OWL.sameAs, rng.choice(nodes)))
    store, got, _ = ours(facts)
    ref = reference(facts)
    assert {t for t in got if t[1] != OWL.sameAs} == {t for t in ref if t[1] != OWL.sameAs}
    # every sameAs we state is entailed, and the classes are the same
    assert {t for t in got if t[1] == OWL.sameAs} - facts <= ref
    for n in nodes:
        cls = equivalents(store, n, inferred_graph("owl-rl"))
        assert cls == {n} | {o for s, p, o in ref if p == OWL.sameAs and s == n}


def test_different_from_violation():
    facts = [(U("a"), OWL.sameAs, U("b")), (U("a"), OWL.differentFrom, U("b"))]
    _, _, result = ours(facts)
    assert result.violation_counts.get("eq-diff1", 0) >= 1


def test_all_different_violation():
    from rdflib import BNode, Graph
    from rdflib.collection import Collection

    g = Graph()
    node, lst = BNode(), BNode()
    g.add((node, RDF.type, OWL.AllDifferent))
    g.add((node, OWL.members, lst))
    Collection(g, lst, [U("a"), U("b"), U("c")])
    g.add((U("b"), OWL.sameAs, U("x")))
    g.add((U("c"), OWL.sameAs, U("x")))
    _, _, result = ours(list(g))
    assert sum(v for k, v in result.violation_counts.items() if k.startswith("eq-diff2")) >= 1


# -- owl:sameAs across runs (issue 19 item 3): every backend --------------------------------


def _triples(store) -> set:
    return {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}


def test_fact_about_a_member_asserted_between_runs_is_shared(store):
    store.add([(U("a2"), OWL.sameAs, U("a3"))])
    RuleEngine(store, "owl-rl").materialise()
    store.add([(U("a3"), U("p0"), U("a0"))])
    RuleEngine(store, "owl-rl").materialise()
    assert (U("a2"), U("p0"), U("a0")) in _triples(store)


def test_recompute_rebuilds_the_equivalence_classes(store):
    store.add([(U("a2"), OWL.sameAs, U("a3")), (U("a3"), U("p0"), U("a0"))])
    RuleEngine(store, "owl-rl").materialise()
    RuleEngine(store, "owl-rl").materialise(recompute=True)
    got = _triples(store)
    assert (U("a3"), OWL.sameAs, U("a2")) in got
    assert (U("a2"), U("p0"), U("a0")) in got
    assert equivalents(store, U("a2"), inferred_graph("owl-rl")) == {U("a2"), U("a3")}


def test_first_same_as_added_incrementally(store):
    store.add([(U("a3"), U("p0"), U("a0")), (U("p0"), RDFS.domain, U("C"))])
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    eng.add([(U("a2"), OWL.sameAs, U("a3"))])
    got = _triples(store)
    assert {(U("a2"), U("p0"), U("a0")), (U("a2"), RDF.type, U("C")), (U("a3"), OWL.sameAs, U("a2"))} <= got
    eng.remove([(U("a2"), OWL.sameAs, U("a3"))])
    got = _triples(store)
    assert (U("a2"), U("p0"), U("a0")) not in got and (U("a2"), RDF.type, U("C")) not in got
    assert (U("a3"), RDF.type, U("C")) in got


@pytest.mark.parametrize("order", [0, 1, 2])
def test_closure_does_not_depend_on_insertion_order(order):
    facts = [(U("b"), OWL.sameAs, U("c")), (U("c"), OWL.sameAs, U("a")), (U("c"), U("p"), U("d")),
             (U("p"), RDFS.range, U("C"))]
    expected = _triples(ours(facts)[0])
    store = open_store("sqlite://")
    terms = sorted({t for f in facts for t in f})
    random.Random(order).shuffle(terms)
    for t in terms:  # term ids in another order
        store.term_ids([t], create=True)
    assert _triples(ours(random.Random(order).sample(facts, len(facts)), store)[0]) == expected
    # the representative is the first IRI: the star is around urn:ex:a
    assert (U("b"), OWL.sameAs, U("a")) in expected and (U("b"), OWL.sameAs, U("c")) in expected


def test_equal_declared_classes_and_properties_are_sub_and_equivalent(store):
    store.add([(U("C3"), OWL.sameAs, U("C4")), (U("C3"), RDF.type, OWL.Class),
               (U("p0"), OWL.sameAs, U("p3")), (U("p3"), RDF.type, OWL.ObjectProperty),
               (U("x"), RDF.type, U("C3"))])
    RuleEngine(store, "owl-rl").materialise()
    got = _triples(store)
    for a, b in ((U("C3"), U("C4")), (U("C4"), U("C3"))):
        assert {(a, RDFS.subClassOf, b), (a, OWL.equivalentClass, b)} <= got
    for a, b in ((U("p0"), U("p3")), (U("p3"), U("p0"))):
        assert {(a, RDFS.subPropertyOf, b), (a, OWL.equivalentProperty, b)} <= got
    assert (U("x"), RDF.type, U("C4")) in got
    assert not any(s == o for s, p, o in got if p in (RDFS.subClassOf, RDFS.subPropertyOf))


def test_second_run_over_equal_classes_adds_no_reflexive_triples(store):
    facts = [(U("C2"), OWL.sameAs, U("C4")), (U("C4"), RDF.type, OWL.Class), (U("x"), RDF.type, U("C2"))]
    store.add(facts)
    RuleEngine(store, "owl-rl").materialise()
    first = _triples(store)
    store.add([(U("C3"), RDF.type, OWL.Class)])
    RuleEngine(store, "owl-rl").materialise()  # a full run over the previous closure
    got = _triples(store)
    assert got == first | {(U("C3"), RDF.type, OWL.Class)}
    assert not any(s == o for s, p, o in got if p != OWL.sameAs)
