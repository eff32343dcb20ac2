"""Safety and stratification checks."""

from __future__ import annotations

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.checks import check_program, check_rule, stratify
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, Var

P, Q, R, S = (URIRef(f"urn:{n}") for n in "pqrs")
A, B = URIRef("urn:A"), URIRef("urn:B")
x, y, z, n = Var("x"), Var("y"), Var("z"), Var("n")


def test_safe_rules_pass():
    check_rule(Rule("ok", (Atom(x, P, y), Bind(z, Builtin("add", (y, y))), Builtin("gt", (z, y))), (Atom(x, Q, z),)))
    # existential variable local to a negation is fine
    check_rule(Rule("neg", (Atom(x, P, y), Not((Atom(x, Q, z),))), (Atom(x, R, y),)))
    # binds may appear before the atoms that feed them
    check_rule(Rule("late", (Bind(z, Builtin("neg", (y,))), Atom(x, P, y)), (Atom(x, Q, z),)))


@pytest.mark.parametrize(
    "rule, fragment",
    [
        (Rule("h", (Atom(x, P, y),), (Atom(x, Q, z),)), "variable ?z of the head"),
        (Rule("hn", (Atom(x, P, y), Not((Atom(x, Q, z),))), (Atom(x, Q, z),)), "inside a negation"),
        (Rule("b", (Atom(x, P, y), Builtin("gt", (z, y))), (Atom(x, Q, y),)), "variable ?z of built-in gt()"),
        (Rule("bi", (Atom(x, P, y), Bind(n, Builtin("add", (z, y)))), (Atom(x, Q, n),)), "?z used in bind"),
        (Rule("rebind", (Atom(x, P, y), Bind(y, Builtin("add", (x, x)))), (Atom(x, Q, y),)), "already bound"),
        (Rule("ng", (Atom(x, P, y), Not((Builtin("gt", (z, y)),))), (Atom(x, Q, y),)), "inside a negation"),
        (
            Rule("agg", (Aggregate("count", z, n, (x,), (Atom(y, P, z),)),), (Atom(y, Q, n),)),
            "group-by variable ?x",
        ),
    ],
)
def test_unsafe_rules_named(rule, fragment):
    with pytest.raises(RuleSyntaxError) as ei:
        check_rule(rule)
    assert fragment in ei.value.message and repr(rule.name) in ei.value.message


def test_strata_order_and_positive_recursion_shares_stratum():
    base = Rule("base", (Atom(x, P, y),), (Atom(x, Q, y),))
    trans = Rule("trans", (Atom(x, Q, y), Atom(y, Q, z)), (Atom(x, Q, z),))
    neg = Rule("neg", (Atom(x, P, y), Not((Atom(x, Q, y),))), (Atom(x, R, y),))
    cnt = Rule("cnt", (Aggregate("count", y, n, (x,), (Atom(x, R, y),)),), (Atom(x, S, n),))
    strata = stratify([cnt, neg, trans, base])
    assert [[r.name for r in s] for s in strata] == [["trans", "base"], ["neg"], ["cnt"]]


def test_type_constants_separate_dependencies():
    # negating (?x a B) while deriving (?x a A) is not a cycle
    r1 = Rule("r1", (Atom(x, P, y), Not((Atom(x, RDF.type, B),))), (Atom(x, RDF.type, A),))
    r2 = Rule("r2", (Atom(x, RDF.type, A),), (Atom(x, Q, x),))
    assert len(stratify([r1, r2])) == 1
    # but a variable class unifies with everything
    r3 = Rule("r3", (Atom(x, P, y), Not((Atom(x, RDF.type, y),))), (Atom(x, RDF.type, A),))
    with pytest.raises(RuleSyntaxError, match="not stratifiable"):
        stratify([r3])


def test_cycle_through_aggregate_and_duplicate_names():
    r = Rule("self", (Aggregate("count", y, n, (x,), (Atom(x, S, y),)),), (Atom(x, S, n),))
    with pytest.raises(RuleSyntaxError, match="'self'"):
        stratify([r])
    a = Rule("same", (Atom(x, P, y),), (Atom(x, Q, y),))
    with pytest.raises(RuleSyntaxError, match="duplicate rule name"):
        check_program([a, a])


def test_long_cycle_lists_every_rule():
    r1 = Rule("r1", (Atom(x, P, y), Not((Atom(x, S, y),))), (Atom(x, Q, y),))
    r2 = Rule("r2", (Atom(x, Q, y),), (Atom(x, R, y),))
    r3 = Rule("r3", (Atom(x, R, y),), (Atom(x, S, y),))
    with pytest.raises(RuleSyntaxError) as ei:
        stratify([r1, r2, r3])
    msg = ei.value.message
    assert "'r3' -> 'r2' -> 'r1'" in msg


def test_recursion_through_an_aggregate_is_named_as_such():
    """An aggregate over the rule's own conclusion is refused as recursion through
    aggregation, not "negation" (found by the rules differential session, 2026-12-07)."""
    from kg_engine.rules.syntax import parse_rules

    text = """PREFIX ex: <urn:ex:>
# rule: deg
CONSTRUCT { ?x ex:p ?n } WHERE { ?x ex:p ?w . { SELECT ?x (COUNT(?y) AS ?n) WHERE { ?x ex:p ?y } GROUP BY ?x } }"""
    with pytest.raises(RuleSyntaxError) as err:
        parse_rules(text, "sparql", "agg.rq")
    msg = str(err.value)
    assert "aggregates over (?x <urn:ex:p> ?y)" in msg and "recursion through aggregation" in msg
    assert "negat" not in msg and msg.startswith("agg.rq:3:")
