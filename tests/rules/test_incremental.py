"""Incremental add (semi-naive continuation) and remove (DRed) equal a full recompute."""

from __future__ import annotations

import itertools
import random

import pytest
from rdflib import OWL, RDF, RDFS, URIRef

from kg_engine.rules.engine import RuleEngine, inferred_graph
from kg_engine.rules.ir import Atom, Builtin, Rule, RuleSet, Var
from kg_engine.store import open_store

EX = "urn:ex:"
x, y, z = Var("x"), Var("y"), Var("z")


def U(name: str) -> URIRef:
    return URIRef(EX + name)


RULES = RuleSet("t", (
    Rule("tc", (Atom(x, U("p"), y), Atom(y, U("p"), z)), (Atom(x, U("p"), z),)),
    Rule("sym", (Atom(x, U("q"), y),), (Atom(y, U("q"), x),)),
    Rule("mix", (Atom(x, U("p"), y), Atom(y, U("q"), z), Builtin("not", (Builtin("sameTerm", (x, z)),))),
         (Atom(x, U("r"), z),)),
    Rule("back", (Atom(x, U("r"), y),), (Atom(y, U("p"), x),)),
))


def closure(facts, rules) -> set:
    store = open_store("sqlite://")
    store.add(facts)
    RuleEngine(store, rules).materialise()
    out = {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}
    store.db.close()
    return out


def state(store) -> set:
    return {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}


@pytest.mark.parametrize("seed", range(8))
def test_add_and_remove_equal_recompute(seed):
    rng = random.Random(seed)
    nodes = [U(f"n{i}") for i in range(6)]

    def rand_facts(k):
        return {(rng.choice(nodes), rng.choice([U("p"), U("q")]), rng.choice(nodes)) for _ in range(k)}

    base = rand_facts(8)
    extra = rand_facts(4) - base
    store = open_store("sqlite://")
    store.add(base)
    eng = RuleEngine(store, RULES)
    eng.materialise()
    eng.add(extra)
    assert state(store) == closure(base | extra, RULES)
    gone = set(rng.sample(sorted(base | extra), 5))
    r = eng.remove(gone)
    assert state(store) == closure((base | extra) - gone, RULES)
    assert r.removed >= 0
    store.db.close()


def test_remove_keeps_triples_still_derivable():
    store = open_store("sqlite://")
    store.add([
        (U("A"), RDFS.subClassOf, U("B")), (U("A2"), RDFS.subClassOf, U("B")),
        (U("i"), RDF.type, U("A")), (U("i"), RDF.type, U("A2")),
    ])
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    eng.remove([(U("i"), RDF.type, U("A"))])
    assert (U("i"), RDF.type, U("B"), inferred_graph("owl-rl")) in set(store.triples((U("i"), None, None)))
    eng.remove([(U("i"), RDF.type, U("A2"))])
    assert not list(store.triples((U("i"), None, None)))


def test_removing_an_asserted_triple_that_is_also_derivable_keeps_it_inferred():
    store = open_store("sqlite://")
    store.add([(U("A"), RDFS.subClassOf, U("B")), (U("i"), RDF.type, U("A")), (U("i"), RDF.type, U("B"))])
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    eng.remove([(U("i"), RDF.type, U("B"))])
    assert set(store.triples((U("i"), RDF.type, U("B")))) == {
        (U("i"), RDF.type, U("B"), inferred_graph("owl-rl"))
    }


def test_asserting_inferred_triples_takes_them_out_of_the_inferred_graph(store, monkeypatch):
    """Adding triples the closure holds moves them from the inferred graph to the asserted
    one (every backend). On PostgreSQL that is one DELETE per table, not one per triple: each
    per-row DELETE was planned anew (force_custom_plan) against kg_quads' fine-grained
    statistics — 2.9 s of planning to add a LUBM(10) department of 8,281 triples."""
    classes = [U(f"C{i}") for i in range(3)]
    people = [U(f"i{k}") for k in range(40)]
    store.add([(classes[0], RDFS.subClassOf, classes[1]), (classes[1], RDFS.subClassOf, classes[2])]
              + [(x, RDF.type, classes[0]) for x in people])
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    inf = inferred_graph("owl-rl")
    now_asserted = [(x, RDF.type, classes[2]) for x in people]
    assert all((*t, inf) in set(store.triples(t)) for t in now_asserted)
    calls: list[str] = []
    many = store.db.executemany

    def recording(sql, rows):
        calls.append(sql)
        return many(sql, rows)

    monkeypatch.setattr(store.db, "executemany", recording)
    new = [(x, RDF.type, U("Other")) for x in people]  # new to the store: nothing to take out
    eng.add(now_asserted + new)
    graphs = {q[3] for t in now_asserted for q in store.triples(t)}
    assert inf not in graphs and len(graphs) == 1
    assert {q[3] for t in new for q in store.triples(t)} == graphs
    ids = store.term_ids([RDF.type, classes[2]])
    assert not store.db.scalar("SELECT COUNT(*) FROM kg_rules_derivations WHERE p = ? AND o = ?",
                               (ids[RDF.type], ids[classes[2]]))
    if store.dialect == "postgresql":
        # nor one INSERT per triple: the triples go to the seed and the staging table by COPY
        # (8,281 statements each for a LUBM department, ~0.3 of the client's 0.55 CPU-s)
        assert calls == []


def test_a_small_delta_runs_a_specialised_rule_once_per_round(store, monkeypatch):
    """Adding facts to a closure (every backend) equals a full recompute; on PostgreSQL a
    rule's schema-specialised variants that read a small delta run as one generic statement
    per round, not one per variant (each costs ~1-2 ms of planning and probing however little
    it reads: adding a LUBM(10) department issued 59 cax-sco statements, now 3)."""
    pairs = [(U(f"D{i}"), U(f"E{i}")) for i in range(12)]
    chain = [U(f"C{i}") for i in range(4)]
    tbox = [(a, RDFS.subClassOf, b) for a, b in pairs] + [
        (a, RDFS.subClassOf, b) for a, b in itertools.pairwise(chain)]
    people = [U(f"i{k}") for k in range(30)]
    base = [(people[0], RDF.type, chain[0])]
    store.add(tbox + base)
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    run = store.db.execute
    rules: list[str] = []

    def recording(sql, params=()):
        if sql.startswith("INSERT INTO kg_rules_d"):
            rules.append(params[0])
        return run(sql, params)

    monkeypatch.setattr(store.db, "execute", recording)
    new = [(x, RDF.type, pairs[k % len(pairs)][0]) for k, x in enumerate(people[1:])] + [
        (people[k], RDF.type, chain[0]) for k in range(1, 5)]
    result = eng.add(new)
    monkeypatch.undo()
    assert state(store) == closure(tbox + base + new, "owl-rl")
    assert result.derived == len(people[1:]) + 4 * 3
    # the delta of the first round has 13 classes with a subclass axiom: 13+ variants
    if store.dialect == "postgresql":
        assert 1 <= rules.count("cax-sco") <= result.rounds
    else:
        assert rules.count("cax-sco") >= len(pairs) + 1


def test_rederivation_runs_from_the_marked_triples_in_a_fixed_order(store):
    """DRed's re-derivation reads the marked triples first; on PostgreSQL as index nested loops
    in that order (its own plan sorted 705k rows to rederive cax-sco after removing a LUBM(10)
    department), the session's planner settings put back after."""
    classes = [U(f"C{i}") for i in range(4)]
    people = [U(f"i{k}") for k in range(30)]
    store.add([(classes[i], RDFS.subClassOf, classes[i + 1]) for i in range(3)]
              + [(x, RDF.type, classes[0]) for x in people]
              + [(x, RDF.type, classes[1]) for x in people[:10]])
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    seen: list[str] = []
    execute = store.db.execute

    def recording(sql, params=()):
        seen.append(sql)
        return execute(sql, params)

    gone = [(x, RDF.type, classes[0]) for x in people]
    names = ("join_collapse_limit", "enable_hashjoin", "enable_mergejoin", "enable_memoize")

    def settings() -> dict:
        if store.dialect != "postgresql":
            return {}
        return {n: store.db.scalar(f"SELECT current_setting('{n}')") for n in names}

    with store.db.transaction():
        before = settings()
        store.db.execute = recording  # type: ignore[method-assign]
        try:
            eng.remove(gone)
        finally:
            store.db.execute = execute  # type: ignore[method-assign]
        assert settings() == before
    rederive = [q for q in seen if " h.s = " in q and q.startswith("INSERT")]
    assert rederive
    if store.dialect == "postgresql":
        assert all(" FROM kg_rules_od h CROSS JOIN " in q for q in rederive)
    # the ten still asserted in C1 keep C2 and C3; the others keep nothing
    assert state(store) == closure(
        [(classes[i], RDFS.subClassOf, classes[i + 1]) for i in range(3)]
        + [(x, RDF.type, classes[1]) for x in people[:10]], "owl-rl")


def test_owl_rl_incremental_matches_recompute(store):  # every backend
    tbox = [
        (U("Student"), OWL.equivalentClass, U("StudentDef")),
        (U("takes"), RDFS.domain, U("Person")),
        (U("hasAdvisor"), OWL.inverseOf, U("advises")),
        (U("subOrg"), RDF.type, OWL.TransitiveProperty),
        (U("StudentDef"), OWL.someValuesFrom, U("Course")),
        (U("StudentDef"), OWL.onProperty, U("takes")),
    ]
    abox = [
        (U("s1"), U("takes"), U("c1")), (U("c1"), RDF.type, U("Course")),
        (U("s1"), U("hasAdvisor"), U("prof")),
        (U("g1"), U("subOrg"), U("d1")), (U("d1"), U("subOrg"), U("u1")),
    ]
    dept = [
        (U("s2"), U("takes"), U("c2")), (U("c2"), RDF.type, U("Course")),
        (U("u1"), U("subOrg"), U("top")), (U("s2"), U("hasAdvisor"), U("prof")),
    ]
    store.add(tbox + abox)
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    eng.add(dept)
    full = open_store("sqlite://")
    full.add(tbox + abox + dept)
    RuleEngine(full, "owl-rl").materialise()
    assert state(store) == state(full)
    assert (U("s2"), RDF.type, U("Student")) in state(store)
    eng.remove(dept)
    again = open_store("sqlite://")
    again.add(tbox + abox)
    RuleEngine(again, "owl-rl").materialise()
    assert state(store) == state(again)


def test_engine_adopts_the_program_another_engine_materialised(store):  # every backend
    """A TBox change reasoned by another engine: this engine's specialised program is stale."""
    from rdflib import BNode, Graph
    from rdflib.collection import Collection

    ex = "urn:ex:"
    eng = RuleEngine(store, "owl-rl")
    eng.materialise()
    g = Graph()
    key = BNode()
    Collection(g, key, [URIRef(ex + "p")])
    g.add((URIRef(ex + "C"), OWL.hasKey, key))
    store.add(list(g))
    RuleEngine(store, "owl-rl").materialise()
    x, y = URIRef(ex + "x"), URIRef(ex + "y")
    eng.add([(x, RDF.type, URIRef(ex + "C")), (x, URIRef(ex + "p"), URIRef(ex + "v")),
             (y, RDF.type, URIRef(ex + "C")), (y, URIRef(ex + "p"), URIRef(ex + "v"))])
    assert (x, OWL.sameAs, y) in {(s, p, o) for s, p, o, _ in store.triples((None, OWL.sameAs, None))}


@pytest.mark.parametrize("graph", [None, U("g")])
def test_adding_an_inferred_statement_takes_it_out_of_the_inferred_graph(store, graph):
    """Found by benchmarks/rules_differential.py: RuleEngine.add of a statement the rules
    had inferred kept its inferred copy, where a full run leaves it out (it is asserted).
    Asserted in a named graph only, it stays inferred, as in a full run: the default graph
    answers with it (found by kg_engine.testing.apimodel)."""
    store.add([(U("C"), RDFS.subClassOf, U("D")), (U("a"), RDF.type, U("C"))])
    eng = RuleEngine(store, "rdfs")
    eng.materialise()
    inf = inferred_graph("rdfs")
    t = (U("a"), RDF.type, U("D"))
    assert (*t, inf) in store
    eng.add([t], graph)
    assert ((*t, inf) in store) == (graph is not None)
    assert t in {q[:3] for q in store.triples((None, None, None))}
    # retracted again, it still follows: back in the inferred graph
    eng.remove([t])
    assert (*t, inf) in store


@pytest.mark.parametrize("path", ["engine", "live"])
@pytest.mark.parametrize("qualified", [False, True])
def test_on_property_of_a_max_cardinality_restriction_added_later(path, qualified):
    """The built-in program is specialised to max-cardinality restrictions (cls-maxc2,
    cls-maxqc4 name the property): adding their ``owl:onProperty`` afterwards must rebuild it
    (found by the rules differential, 2026-12-07: ``b sameAs c`` was missing)."""
    from rdflib import OWL, RDF, RDFS, XSD, Literal, URIRef

    from kg_engine.rules.live import set_profile

    def u(n: str) -> URIRef:
        return URIRef("urn:ex:" + n)

    r = u("R")
    one = Literal(1, datatype=XSD.nonNegativeInteger)
    card = [(r, OWL.maxQualifiedCardinality, one), (r, OWL.onClass, OWL.Thing)] if qualified else \
        [(r, OWL.maxCardinality, one)]
    base = card + [(u("C"), RDFS.subClassOf, r), (u("a"), RDF.type, u("C")), (u("a"), u("p"), u("b")),
                   (u("a"), u("p"), u("c")), (u("b"), u("q"), u("z"))]
    late = [(r, OWL.onProperty, u("p"))]
    store = open_store("sqlite://")
    store.add(base)
    if path == "engine":
        eng = RuleEngine(store, "owl-rl")
        eng.materialise()
        eng.add(late)
    else:
        set_profile(store, "owl-rl")
        store.add(late)
    got = {t[:3] for t in store.triples((None, None, None))}
    assert (u("c"), u("q"), u("z")) in got
    if path == "engine":
        eng.remove(late)
    else:
        store.remove(late[0])
    got = {t[:3] for t in store.triples((None, None, None))}
    assert (u("c"), u("q"), u("z")) not in got
    store.close()
