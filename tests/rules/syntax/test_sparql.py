"""SPARQL CONSTRUCT / INSERT…WHERE as rules → IR."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Atom, Bind, Builtin, Not, Var
from kg_engine.rules.syntax.sparql import parse_sparql

EX = "http://example.org/"
x, y, z = Var("x"), Var("y"), Var("z")


def ex(n: str) -> URIRef:
    return URIRef(EX + n)


def test_construct_with_filter_bind_not_exists():
    rs = parse_sparql(
        """PREFIX ex: <http://example.org/>
# rule: grand
CONSTRUCT { ?x ex:grand ?z . ?x ex:score ?n }
WHERE {
  ?x ex:parent ?y . ?y ex:parent ?z .
  FILTER(?x != ?z && ?z IN (ex:a, ex:b))
  BIND(STRLEN(STR(?z)) * 2 AS ?n)
  FILTER NOT EXISTS { ?x ex:disowned ?z }
}""",
        source="g.rq",
    )
    (r,) = rs.rules
    assert r.name == "grand" and r.line == 3
    assert r.head == (Atom(x, ex("grand"), z), Atom(x, ex("score"), Var("n")))
    body = r.body
    assert Atom(x, ex("parent"), y) in body and Atom(y, ex("parent"), z) in body
    assert Builtin("ne", (x, z)) in body
    assert Builtin("or", (Builtin("eq", (z, ex("a"))), Builtin("eq", (z, ex("b"))))) in body
    assert Bind(Var("n"), Builtin("mul", (Builtin("strlen", (Builtin("str", (z,)),)), Literal(2)))) in body
    assert Not((Atom(x, ex("disowned"), z),)) in body


def test_several_constructs_and_minus():
    rs = parse_sparql(
        """PREFIX ex: <http://example.org/>
CONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y }
;
PREFIX ex: <http://example.org/>
CONSTRUCT { ?x ex:r ?y } WHERE { ?x ex:p ?y MINUS { ?x ex:q ?y } }
"""
    )
    assert rs.names() == ["construct-1", "construct-2"]
    assert [r.line for r in rs] == [2, 5]
    assert Not((Atom(x, ex("q"), y),)) in rs.rules[1].body


def test_insert_where_update():
    rs = parse_sparql(
        """PREFIX ex: <http://example.org/>
INSERT { ?x ex:q ?y } WHERE { ?x ex:p ?y } ;
INSERT { ?y ex:q ?x } WHERE { ?x ex:p [ ex:r ?y ] }"""
    )
    assert rs.names() == ["insert-1", "insert-2"]
    assert [r.line for r in rs] == [2, 3]
    assert len(rs.rules[1].body) == 2


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("CONSTRUCT { ?x <urn:q> ?y } WHERE { ?x <urn:p> ?y OPTIONAL { ?y <urn:p> ?z } }", "OPTIONAL"),
        ("CONSTRUCT { ?x <urn:q> ?y } WHERE { { ?x <urn:p> ?y } UNION { ?y <urn:p> ?x } }", "UNION"),
        ("CONSTRUCT { ?x <urn:q> [ <urn:r> ?y ] } WHERE { ?x <urn:p> ?y }", "blank nodes"),
        ("CONSTRUCT { ?x <urn:q> ?y } WHERE { ?x <urn:p> ?y FILTER(LANGMATCHES(?y, 'en')) }", "not supported"),
        ("SELECT * WHERE { ?x <urn:p> ?y }", "expected a CONSTRUCT"),
        ("CONSTRUCT { ?x <urn:q> ?w } WHERE { ?x <urn:p> ?y }", "?w"),
        ("DELETE { ?x <urn:q> ?y } WHERE { ?x <urn:p> ?y }", "only INSERT"),
    ],
)
def test_rejections(text, fragment):
    with pytest.raises(RuleSyntaxError) as ei:
        parse_sparql(text, source="bad.rq")
    assert fragment in ei.value.message and ei.value.source == "bad.rq"


def test_parse_error_has_position():
    with pytest.raises(RuleSyntaxError) as ei:
        parse_sparql("PREFIX ex: <urn:>\nCONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y ", source="bad.rq")
    assert ei.value.line == 2 and ei.value.column is not None
