"""Property: writing rules in Jena syntax and reading them back gives the same IR."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.errors import RuleSyntaxError, UnsupportedOperationError
from kg_engine.rules.checks import check_program
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, Var
from kg_engine.rules.syntax.jena import parse_jena, to_jena

VARS = [Var(n) for n in ("x", "y", "z", "w_1", "long-name")]
IRIS = [URIRef("urn:a"), URIRef("http://example.org/p#q"), URIRef("https://example.org/x/y")]
literal_st = st.one_of(
    st.integers(-10**6, 10**6).map(lambda i: Literal(str(i), datatype=XSD.integer)),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(Literal),
    st.tuples(st.text("abc'\\ é", max_size=6), st.sampled_from(["en", "en-GB", "da"])).map(
        lambda t: Literal(t[0], lang=t[1])
    ),
    st.tuples(st.text("xyz09 ", max_size=4), st.sampled_from([XSD.string, URIRef("urn:my-datatype")])).map(
        lambda t: Literal(t[0], datatype=t[1])
    ),
    st.text("0123456789", min_size=1, max_size=4).map(lambda t: Literal(t + ".5", datatype=XSD.decimal)),
)
var_st = st.sampled_from(VARS)
subj_st = st.one_of(var_st, st.sampled_from(IRIS))
obj_st = st.one_of(var_st, st.sampled_from(IRIS), literal_st)
atom_st = st.builds(Atom, subj_st, st.one_of(var_st, st.sampled_from(IRIS)), obj_st)


@st.composite
def rule_st(draw, i: int) -> Rule:
    atoms = draw(st.lists(atom_st, min_size=1, max_size=3))
    bound = sorted(set().union(*(a.variables() for a in atoms)))
    body: list = list(atoms)
    if bound:
        v = st.sampled_from(bound)
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["cmp", "test", "not", "bind", "sum-test", "concat"]))
            if kind == "cmp":
                body.append(Builtin(draw(st.sampled_from(["eq", "ne", "lt", "gt", "le", "ge"])),
                                    (draw(v), draw(st.one_of(v, literal_st)))))
            elif kind == "test":
                test = Builtin(draw(st.sampled_from(["isLiteral", "isBlank", "isIRI"])), (draw(v),))
                body.append(Builtin("not", (test,)) if draw(st.booleans()) and test.name != "isIRI" else test)
            elif kind == "not":
                body.append(Not((draw(atom_st),)))
            elif kind == "bind":
                out = Var(f"b{len(body)}")
                body.append(Bind(out, Builtin(draw(st.sampled_from(["add", "sub", "mul", "div"])),
                                              (draw(v), draw(st.one_of(v, literal_st))))))
            elif kind == "sum-test":
                body.append(Builtin("eq", (draw(v), Builtin("add", (draw(v), draw(v))))))
            else:
                out = Var(f"c{len(body)}")
                body.append(Bind(out, Builtin("concat", tuple(Builtin("str", (draw(v),))
                                                            for _ in range(draw(st.integers(1, 3)))))))
    heads = [] if draw(st.integers(0, 5)) == 0 else draw(st.lists(atom_st, min_size=1, max_size=2))
    return Rule(f"r{i}-{draw(st.sampled_from(['a', 'b.c', 'x_y']))}", tuple(body), tuple(heads))


@st.composite
def program_st(draw) -> list[Rule]:
    rules = [draw(rule_st(i)) for i in range(draw(st.integers(1, 4)))]
    try:
        check_program(rules)
    except RuleSyntaxError:
        assume(False)
    return rules


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st())
def test_write_then_parse_is_identity(rules):
    text = to_jena(rules)
    back = parse_jena(text, source="roundtrip.rules")
    assert list(back.rules) == rules, text


@pytest.mark.parametrize(
    "item",
    [
        Not((Atom(Var("x"), IRIS[0], Var("y")), Atom(Var("y"), IRIS[0], Var("x")))),
        Aggregate("count", Var("y"), Var("n"), (Var("x"),), (Atom(Var("x"), IRIS[0], Var("y")),)),
    ],
)
def test_constructs_without_jena_form_are_refused(item):
    x, y = Var("x"), Var("y")
    rule = Rule("r", (Atom(x, IRIS[1], y), item), (Atom(x, IRIS[2], y),))
    with pytest.raises(UnsupportedOperationError, match="'r'"):
        to_jena([rule])
