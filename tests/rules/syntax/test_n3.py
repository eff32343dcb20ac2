"""N3 rule syntax → IR."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Atom, Bind, Builtin, Not, Var
from kg_engine.rules.syntax.n3 import parse_n3

EX = "http://example.org/"
x, y = Var("x"), Var("y")


def ex(n: str) -> URIRef:
    return URIRef(EX + n)


def test_rules_in_file_order_with_lines():
    rs = parse_n3(
        """@prefix ex: <http://example.org/> .
# { not a formula }
{ ?x ex:parent ?y } => { ?y ex:child ?x } .

{ ?x a ex:Person ; ex:age ?a . ?a math:notLessThan 18 }
    => { ?x a ex:Adult } .
{ ?x ex:a ?a . ?x ex:b ?b . (?a ?b) math:sum ?c . ?s log:notIncludes { ?x ex:c ?c } }
    => { ?x ex:d ?c } .
{ ?x ex:p [ ex:q ?y ] } => { ?x ex:pq ?y } .
{ ?x a ex:Bad } => false .
{ ?y ex:brother ?x } <= { ?x ex:brother ?y } .
""",
        source="f.n3",
    )
    assert rs.names() == [f"rule-{i}" for i in range(1, 7)]
    assert [r.line for r in rs] == [3, 5, 7, 9, 10, 11]
    r1, r2, r3, r4, r5, r6 = rs.rules
    assert r1.body == (Atom(x, ex("parent"), y),) and r1.head == (Atom(y, ex("child"), x),)
    a, b, c = Var("a"), Var("b"), Var("c")
    assert set(r2.body) == {
        Atom(x, RDF.type, ex("Person")),
        Atom(x, ex("age"), a),
        Builtin("ge", (a, Literal(18))),
    }
    assert Bind(c, Builtin("add", (a, b))) in r3.body
    assert Not((Atom(x, ex("c"), c),)) in r3.body
    assert not any(isinstance(i, Atom) and i.p in (RDF.first, RDF.rest) for i in r3.body)
    # the blank node of the body became a variable joining the two atoms
    (b1, b2) = r4.body
    link = b1.o if b1.p == ex("p") else b2.o
    assert isinstance(link, Var)
    assert r5.is_constraint
    assert r6.body == (Atom(x, ex("brother"), y),) and r6.head == (Atom(y, ex("brother"), x),)


@pytest.mark.parametrize(
    "text, fragment, line",
    [
        ("@prefix ex: <urn:ex#> .\n{ ?x ex:p ?y } => { ?x ex:q ", "invalid N3", 2),
        ("@prefix ex: <urn:ex#> .\n{ ?x ex:p ?y } => { ?x ex:q [ ex:r ?y ] } .", "blank nodes in a rule head", 2),
        ("@prefix ex: <urn:ex#> .\nex:a ex:b ex:c .", "outside a rule", None),
        ("@prefix ex: <urn:ex#> .\n{ ?x ex:p ?y . ?y math:cos ?z } => { ?x ex:q ?z } .", "unsupported built-in", 2),
        ("@prefix ex: <urn:ex#> .\n\n{ ?x ex:p ?y } => { ?x ex:q ?z } .", "?z", 3),
    ],
)
def test_errors(text, fragment, line):
    with pytest.raises(RuleSyntaxError) as ei:
        parse_n3(text, source="bad.n3")
    assert fragment in ei.value.message
    assert ei.value.source == "bad.n3"
    assert ei.value.line == line


def test_syntax_error_column():
    with pytest.raises(RuleSyntaxError) as ei:
        parse_n3("{ ?x <urn:p> ?y } => { ?x <urn:q> ?y } \n{ ?x <urn:p> ?y } => { ?x <urn:q> ?y } .")
    assert ei.value.line is not None and ei.value.column is not None
