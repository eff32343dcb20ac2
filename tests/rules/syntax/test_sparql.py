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


def test_regex_filter():
    """REGEX without flags is a rule built-in; every REGEX was once refused as having flags
    (rdflib's CompValue.get returns the key when it is absent)."""
    (r,) = parse_sparql('CONSTRUCT { ?x a <urn:C> } WHERE { ?x <urn:p> ?y FILTER(REGEX(?y, "^a")) }').rules
    assert Builtin("regex", (y, Literal("^a"))) in r.body
    with pytest.raises(RuleSyntaxError, match="flags"):
        parse_sparql('CONSTRUCT { ?x a <urn:C> } WHERE { ?x <urn:p> ?y FILTER(REGEX(?y, "^a", "i")) }')


def test_parse_error_has_position():
    with pytest.raises(RuleSyntaxError) as ei:
        parse_sparql("PREFIX ex: <urn:>\nCONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y ", source="bad.rq")
    assert ei.value.line == 2 and ei.value.column is not None


def test_aggregate_subquery():
    from kg_engine.rules.ir import Aggregate

    rs = parse_sparql(
        """PREFIX ex: <http://example.org/>
CONSTRUCT { ?d ex:size ?n } WHERE {
  ?d a ex:Dept .
  { SELECT ?d (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ex:memberOf ?d } GROUP BY ?d }
  FILTER(?n > 1) }"""
    )
    body = rs.rules[0].body
    d, s, n = Var("d"), Var("s"), Var("n")
    assert Aggregate("count", s, n, (d,), (Atom(s, ex("memberOf"), d),), distinct=True) in body
    assert Builtin("gt", (n, Literal(1))) in body


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("{ SELECT ?d (SAMPLE(?s) AS ?n) WHERE { ?s ex:m ?d } GROUP BY ?d }", "SAMPLE (projecting a variable that is not grouped) is not supported"),
        ("{ SELECT ?d (COUNT(?s) AS ?n) WHERE { ?s ex:m ?d } GROUP BY ?d HAVING (COUNT(?s) > 1) }", "HAVING"),
        ("{ SELECT ?d ?s WHERE { ?s ex:m ?d } }", "must be an aggregate"),
    ],
)
def test_bad_subqueries(query, fragment):
    with pytest.raises(RuleSyntaxError) as ei:
        parse_sparql(f"PREFIX ex: <http://example.org/>\nCONSTRUCT {{ ?d ex:size ?n }} WHERE {{ ?d a ex:D . {query} }}")
    assert fragment in ei.value.message


def test_recursive_aggregate_rejected():
    with pytest.raises(RuleSyntaxError, match="not stratifiable"):
        parse_sparql(
            """PREFIX ex: <http://example.org/>
CONSTRUCT { ?d ex:m ?n } WHERE { ?d a ex:D . { SELECT ?d (COUNT(?s) AS ?n) WHERE { ?s ex:m ?d } GROUP BY ?d } }"""
        )


def test_prefixes_carry_forward_to_later_constructs():
    """A PREFIX declared once at the top serves every ';'-separated CONSTRUCT, as in a SPARQL
    Update request (each later query used to fail 'Unknown namespace prefix : ex')."""
    rs = parse_sparql(
        """PREFIX ex: <http://example.org/#>
# rule: q
CONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y }
;
# rule: count
CONSTRUCT { ?x ex:n ?n } WHERE { { SELECT ?x (COUNT(?y) AS ?n) WHERE { ?x ex:p ?y } GROUP BY ?x } }
;
PREFIX ex: <urn:other:>
CONSTRUCT { ?x ex:r ?y } WHERE { ?x ex:p ?y }
"""
    )
    assert rs.names() == ["q", "count", "construct-3"]
    assert rs.rules[1].head[0].p == URIRef("http://example.org/#n")
    assert rs.rules[2].head[0].p == URIRef("urn:other:r")  # a later PREFIX redefines it


def test_unknown_prefix_names_line_column_and_fix():
    text = "PREFIX ex: <urn:ex:>\nCONSTRUCT { ?x ex:q ?y } WHERE { ?x ex:p ?y }\n;\n\nCONSTRUCT { ?x fam:q ?y } WHERE { ?x ex:p ?y }\n"
    with pytest.raises(RuleSyntaxError) as ei:
        parse_sparql(text, source="fam.rq")
    err = ei.value
    assert (err.source, err.line, err.column) == ("fam.rq", 5, 16)
    assert "unknown prefix 'fam:'" in err.message and "PREFIX fam: <" in err.message
