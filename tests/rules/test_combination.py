"""A built-in rule set combined with user rules: one program, one reasoning profile.

The differential against owlrl + a Python evaluator is in ``tests/rules/differential``; these
are the cases it found and the parts it does not reach (refusals, reopening, TBox changes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, BNode, URIRef
from rdflib.collection import Collection

from kg_engine.api import KnowledgeGraph
from kg_engine.errors import ConfigError, RuleSyntaxError
from kg_engine.rules.engine import RuleEngine, reason
from kg_engine.rules.ir import RuleSet
from kg_engine.rules.rulesets import Combination, combine
from kg_engine.rules.rulesets.owl_rl import owl_rl_rules
from kg_engine.rules.syntax import load_rules

EX = "http://example.org/"
RULES = f"@prefix ex: <{EX}> .\n[mine: (?x ex:worksWith ?y) -> (?x ex:knows ?y)]\n"


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


def triples(store) -> set[tuple]:
    return {q[:3] for q in store.triples((None, None, None))}


def test_owl_rl_rules_plus_user_rules_give_sameas_its_meaning(store):  # every backend
    """A program made of OWL 2 RL's rules and a user rule (a RuleSet built in Python, under
    its own name) gives owl:sameAs its OWL meaning. Equality was on only for a program named
    ``owl-rl``: ann's facts were not copied to her equal, the rule's conclusion neither
    (found by the combined differential, 11 of 40 seeds)."""
    store.add([(ex("ann"), OWL.sameAs, ex("anne")), (ex("anne"), ex("worksWith"), ex("bob")),
               (ex("knows"), RDFS.domain, ex("Person"))])
    user = load_rules(RULES)
    program = RuleSet("mine-and-owl", owl_rl_rules(store).rules + user.rules)
    reason(store, program)
    got = triples(store)
    for who in ("ann", "anne"):
        assert (ex(who), ex("knows"), ex("bob")) in got
        assert (ex(who), RDF.type, ex("Person")) in got
    assert (ex("ann"), ex("worksWith"), ex("bob")) in got


def test_parts_run_as_one_program_and_are_recorded(tmp_path: Path):
    """kg.reason(["owl-rl", FILE]) derives through both parts; the profile records both, so
    a reopened store maintains the closure, TBox changes included (the OWL 2 RL part is
    specialised to the TBox again)."""
    rules = tmp_path / "mine.rules"
    rules.write_text(RULES)
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(url) as kg:
        kg.add([(ex("knows"), RDFS.domain, ex("Person")), (ex("ann"), ex("worksWith"), ex("bob"))])
        result = kg.reason(["owl-rl", str(rules)])
        assert result.program == "owl-rl+mine"
        assert kg.reasoning == "owl-rl+program"
        assert kg.query(f"ASK {{ <{EX}ann> a <{EX}Person> }}").askAnswer
    with KnowledgeGraph(url) as kg:  # reopened: maintained from the recorded parts
        kg.add([(ex("cat"), ex("worksWith"), ex("dan"))])
        assert kg.query(f"ASK {{ <{EX}cat> a <{EX}Person> }}").askAnswer
        # a TBox axiom the OWL 2 RL part is specialised to: Person ⊓ Busy ≡ Worker
        g_items = BNode()
        kg.add([(ex("cat"), RDF.type, ex("Busy"))])
        lst = [(ex("Worker"), OWL.intersectionOf, g_items)]
        from rdflib import Graph

        g = Graph()
        Collection(g, g_items, [ex("Person"), ex("Busy")])
        kg.add(lst + list(g))
        assert kg.query(f"ASK {{ <{EX}cat> a <{EX}Worker> }}").askAnswer
        tree = kg.explain(f"<{EX}cat> a <{EX}Person>").tree
        assert tree.rule == "prp-dom" and tree.premises[1].rule == "mine"
        assert kg.check().sound
        kg.remove((ex("cat"), ex("worksWith"), ex("dan")))
        assert not kg.query(f"ASK {{ <{EX}cat> a <{EX}Worker> }}").askAnswer


def test_combination_refusals(tmp_path: Path):
    user = load_rules(RULES)
    with pytest.raises(ConfigError, match="one built-in rule set"):
        combine(["rdfs", "owl-rl", user])
    with pytest.raises(ConfigError, match="unknown rule set"):
        combine(["owl-r", user])
    with pytest.raises(RuleSyntaxError, match="'prp-dom' of mine has the name of a rule of owl-rl"):
        combine(["owl-rl", load_rules(RULES.replace("mine:", "prp-dom:"), name="mine")])
    with pytest.raises(RuleSyntaxError, match="rule 'r' of b has the name of a rule of a"):
        combine([load_rules("[r: (?x <urn:p> ?y) -> (?y <urn:p> ?x)]", name="a"),
                 load_rules("[r: (?x <urn:q> ?y) -> (?y <urn:q> ?x)]", name="b")])
    negation = load_rules(f"@prefix ex: <{EX}> .\n[neg: (?x rdf:type ex:C) noValue(?x ex:p) -> (?x rdf:type ex:D)]\n")
    kg = KnowledgeGraph("sqlite://")
    kg.add([(ex("a"), RDF.type, ex("C"))])
    with pytest.raises(RuleSyntaxError, match="not stratifiable"):
        kg.reason(["owl-rl", negation])
    assert kg.reasoning is None and len(kg.store) == 1


def test_combination_is_a_builder():
    user = load_rules(RULES, name="mine")
    combo = combine(["owl2rl", user])
    assert combo == Combination("owl-rl", user)
    assert Combination.from_dict(combo.to_dict()) == combo
    kg = KnowledgeGraph("sqlite://")
    engine = RuleEngine(kg.store, combo)
    assert engine.equality and engine.program.name == "owl-rl+mine"
    assert engine.program.names()[-1] == "mine"
