"""Jena rule syntax → IR."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Atom, Bind, Builtin, Not, Var
from kg_engine.rules.syntax.jena import parse_jena

EX = "http://example.org/"
x, y, z = Var("x"), Var("y"), Var("z")


def ex(n: str) -> URIRef:
    return URIRef(EX + n)


def test_prefixes_names_and_forms():
    rs = parse_jena(
        """
        # a comment
        @prefix ex: <http://example.org/>.
        [r1: (?x rdf:type ex:A) -> (?x rdf:type ex:B)]
        // another comment
        [ (?x, ex:p, ?y), (?y ex:p ?z) -> (?x ex:p ?z) ]
        (?x ex:q ?y) -> (?y ex:q ?x) .
        [r4: (?x <http://example.org/r> 'a b'), (?x ex:s 'x'@en-GB), (?x ex:t '5'^^xsd:int),
             (?x ex:u 42) (?x ex:v -2.5) (?x ex:w 1e3) -> (?x rdfs:label "ok")]
        """,
        source="t.rules",
    )
    assert rs.names() == ["r1", "rule-2", "rule-3", "r4"]
    r1 = rs.rule("r1")
    assert r1.body == (Atom(x, RDF.type, ex("A")),)
    assert r1.head == (Atom(x, RDF.type, ex("B")),)
    assert r1.source == "t.rules" and r1.line == 4
    assert rs.rule("rule-2").body == (Atom(x, ex("p"), y), Atom(y, ex("p"), z))
    r4 = rs.rule("r4")
    objs = [a.o for a in r4.body]
    assert objs == [
        Literal("a b"),
        Literal("x", lang="en-GB"),
        Literal("5", datatype=XSD.int),
        Literal("42", datatype=XSD.integer),
        Literal("-2.5", datatype=XSD.decimal),
        Literal("1e3", datatype=XSD.double, normalize=False),  # as written, not "1000.0"
    ]
    assert r4.head == (Atom(x, RDFS.label, Literal("ok")),)


def test_builtins_lowered():
    rs = parse_jena(
        """@prefix ex: <http://example.org/>.
        [b: (?x ex:a ?a) (?x ex:b ?b) sum(?a, ?b, ?c) greaterThan(?c, 10) notEqual(?a, ?b)
            noValue(?x ex:flag) noValue(?x, ex:blocked, ex:yes) notLiteral(?x)
            product(?a, ?b, ?a) strConcat(?a, '-', ?b, ?s) regex(?s, '^1')
            -> (?x ex:c ?c) (?x ex:s ?s)]"""
    )
    body = rs.rules[0].body
    a, b, c, s = Var("a"), Var("b"), Var("c"), Var("s")
    assert Bind(c, Builtin("add", (a, b))) in body
    assert Builtin("gt", (c, Literal(10))) in body
    assert Builtin("ne", (a, b)) in body
    assert Not((Atom(x, ex("flag"), Var("_novalue1")),)) in body
    assert Not((Atom(x, ex("blocked"), ex("yes")),)) in body
    assert Builtin("not", (Builtin("isLiteral", (x,)),)) in body
    # ?a is already bound: product() becomes a test
    assert Builtin("eq", (a, Builtin("mul", (a, b)))) in body
    assert Bind(s, Builtin("concat", (Builtin("str", (a,)), Builtin("str", (Literal("-"),)), Builtin("str", (b,))))) in body
    assert Builtin("regex", (s, Literal("^1"))) in body


def test_constraint_rule_has_empty_head():
    rs = parse_jena("[c: (?x <urn:p> ?x) -> ]")
    assert rs.rules[0].is_constraint


@pytest.mark.parametrize(
    "text, line, col, fragment",
    [
        ("[r: (?x ex:p ?y) -> (?x ex:q ?y)]", 1, 9, "unknown prefix 'ex:'"),
        ("@prefix ex: <urn:ex#>.\n[r: (?x ex:p ?y) -> (?x ex:q ?y)", 2, 33, "expected ']'"),
        ("[r: (?x <urn:p> ?y -> (?x <urn:q> ?y)]", 1, 20, "expected ')' closing the triple pattern"),
        ("[r: (?x <urn:p> ?y) <- (?x <urn:q> ?y)]", 1, 21, "backward rules"),
        ("[r: (?x <urn:p> ?y) print(?x) -> (?x <urn:q> ?y)]", 1, 21, "unknown or unsupported built-in 'print'"),
        ("[r: (?x <urn:p> ?y) -> print(?x)]", 1, 24, "in a rule head"),
        ("[r: (?x <urn:p> ?y) notEqual(?x) -> (?x <urn:q> ?y)]", 1, 21, "takes 2 arguments"),
        ("@include <OWL>.", 1, 10, "@include <OWL> is not supported"),
        ("[r: (?x <urn:p> ?y) ~ -> (?x <urn:q> ?y)]", 1, 21, "unexpected character '~'"),
        ("[r: ('lit' <urn:p> ?y) -> (?y <urn:q> ?y)]", 1, 5, "literal cannot be the subject"),
        # a new user's noValue(?l lib:returned true): the message now shows the boolean form
        ("[r: (?l <urn:p> ?y) noValue(?l <urn:r> true) -> (?l <urn:q> ?y)]", 1, 40,
         "a boolean as 'true'^^xsd:boolean"),
    ],
)
def test_syntax_errors_name_line_and_column(text, line, col, fragment):
    with pytest.raises(RuleSyntaxError) as ei:
        parse_jena(text, source="bad.rules")
    err = ei.value
    assert fragment in err.message
    assert (err.source, err.line, err.column) == ("bad.rules", line, col)
    assert isinstance(err, SyntaxError)


def test_unsafe_rule_rejected_with_rule_and_variable():
    with pytest.raises(RuleSyntaxError) as ei:
        parse_jena("\n[uns: (?x <urn:p> ?y) noValue(?x <urn:q> ?z) -> (?x <urn:r> ?z)]", source="u.rules")
    msg = str(ei.value)
    assert "u.rules:2" in msg and "'uns'" in msg and "?z" in msg and "negation" in msg


def test_unstratifiable_rejected_with_cycle():
    text = """
    [a: (?x <urn:p> ?y) noValue(?x <urn:r> ?y) -> (?x <urn:q> ?y)]
    [b: (?x <urn:q> ?y) -> (?x <urn:r> ?y)]
    """
    with pytest.raises(RuleSyntaxError) as ei:
        parse_jena(text)
    msg = ei.value.message
    assert "not stratifiable" in msg and "'a'" in msg and "'b'" in msg


def test_include_rdfs():
    rs = parse_jena("@include <RDFS>.\n[mine: (?x <urn:p> ?y) -> (?x rdf:type <urn:C>)]")
    assert rs.names()[:2] == ["rdfs2", "rdfs3"] and rs.names()[-1] == "mine"
