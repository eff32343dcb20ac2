"""Variable-scope rules of SPARQL 1.1 (§18.2.1 BIND/SELECT AS, §18.2.4.1 aggregate projection)
are syntax errors with a position, on the fast parser and on rdflib's path (issue 17)."""

from __future__ import annotations

import pytest

from kg_engine import KnowledgeGraph
from kg_engine.errors import QuerySyntaxError
from kg_engine.sparql import parsing
from kg_engine.sparql.compiler import fastparse

INVALID = [  # (query, line:column of the error, words of the message)
    ("SELECT ?x (COUNT(?s) AS ?n) WHERE { ?s ?p ?x }", "1:8", "?x is projected in an aggregate"),
    ("SELECT ?o { ?s ?p ?o } GROUP BY ?s", "1:8", "not a GROUP BY variable"),
    ("SELECT * { ?s ?p ?o } GROUP BY ?s", "1:1", "SELECT * is not allowed"),
    ("SELECT ((?a + ?b) AS ?c) (COUNT(?a) AS ?n)\nWHERE { ?s ?p ?a, ?b } GROUP BY (?a + ?b)",
     "1:19", "uses ?a outside an aggregate"),
    ("SELECT ?s WHERE {\n  ?s ?p ?o .\n  BIND(1 AS ?o)\n}", "3:10", "?o is already in scope"),
    ("SELECT * WHERE { { ?s ?p ?o } BIND(1 AS ?o) }", "1:38", "?o is already in scope"),
    ("SELECT * WHERE { { ?s ?p ?y } UNION { ?s ?p ?z } BIND(1 AS ?y) }", "1:57", "?y"),
    ("SELECT * WHERE { VALUES ?o { 1 } BIND(2 AS ?o) }", "1:41", "?o is already in scope"),
    ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } BIND(2 AS ?g) }", "1:47", "?g is already in scope"),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER EXISTS { ?s ?p ?q BIND(1 AS ?q) } }", "1:60", "?q"),
    ("SELECT (1 AS ?s) WHERE { ?s ?p ?o }", "1:11", "in scope in the WHERE clause"),
    ("SELECT (1 AS ?X) { SELECT (2 AS ?X) {} }", "1:11", "?X"),
    ("SELECT (1 AS ?X) (1 AS ?X) {}", "1:11", "projected"),
    ("SELECT ?p (COUNT(?s) AS ?p) WHERE { ?s ?p ?o } GROUP BY ?p", "1:22", "projected"),
    ("SELECT * { { SELECT ?x (COUNT(*) AS ?c) WHERE { ?x ?p ?o } } }", "1:21", "?x"),
    ("SELECT * WHERE { VALUES (?a ?b) { (1 2 3) } }", "1:18", "3 value(s) for 2 variable(s)"),
    ("SELECT * WHERE { } VALUES (?a ?b) { (1 2) (1) }", "1:20", "1 value(s) for 2"),
]
VALID = [
    "SELECT ?p (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p",
    "SELECT (?p AS ?q) (SAMPLE(?s) AS ?x) WHERE { ?s ?p ?o } GROUP BY ?p",
    "SELECT ((?o + 1) AS ?y) (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?o",
    "SELECT ?q (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY (?p AS ?q)",
    "SELECT ?p (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY (?p)",
    "SELECT (COUNT(?s) AS ?s) WHERE { ?s ?p ?o }",  # the grouping hides ?s
    "SELECT ?s WHERE { BIND(1 AS ?o) ?s ?p ?o }",
    "SELECT ?s WHERE { ?s ?p ?o { BIND(1 AS ?o) } }",
    "SELECT ?s WHERE { ?s ?p ?o OPTIONAL { BIND(1 AS ?s) } }",
    "SELECT ?s WHERE { ?s ?p ?o MINUS { BIND(1 AS ?o) } }",
    "SELECT * WHERE { { SELECT ?x WHERE { ?x ?p ?o } } BIND(1 AS ?p) }",
    "SELECT (1 AS ?a) ((?a + 1) AS ?b) WHERE { }",
    "SELECT * WHERE { VALUES (?a ?b) { (1 UNDEF) (UNDEF 2) } VALUES (?c) { (1) } }",
]


@pytest.fixture(params=["fast parser", "rdflib parser"])
def kg(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> KnowledgeGraph:
    if request.param == "rdflib parser":
        monkeypatch.setattr(parsing, "USE_FAST_PARSER", False)
        monkeypatch.setattr(fastparse, "parse", lambda text: None)  # the SQL compiler's own use
    g = KnowledgeGraph("sqlite://")
    g.update("INSERT DATA { <urn:a> <urn:p> 1, 2 . <urn:b> <urn:p> 1 }")
    return g


@pytest.mark.parametrize("query,where,words", INVALID)
def test_scope_violations_are_syntax_errors(kg: KnowledgeGraph, query: str, where: str,
                                            words: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        list(kg.query(query))
    assert str(err.value).startswith(f"<query>:{where}: ")
    assert words in str(err.value) and "§1" in str(err.value)


@pytest.mark.parametrize("query", VALID)
def test_valid_scopes_run(kg: KnowledgeGraph, query: str) -> None:
    list(kg.query(query))


@pytest.mark.parametrize("query", [q for q, _, _ in INVALID])
def test_the_fast_parser_declines_them(query: str) -> None:
    """Declined (None), so that parse_query's check reports them — never an answer."""
    assert fastparse.parse(query) is None and fastparse.parse_for_rdflib(query) is None


def test_group_by_a_bracketed_expression_groups_by_its_value(kg: KnowledgeGraph) -> None:
    """``GROUP BY (?p)`` / ``GROUP BY (STR(?o))`` (no AS) failed with "Cannot eval thing"."""
    assert [r[1].toPython() for r in kg.query(
        "SELECT ?p (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY (?p)")] == [3]
    assert sorted(r[0].toPython() for r in kg.query(
        "SELECT (COUNT(?s) AS ?n) WHERE { ?s ?p ?o } GROUP BY (STR(?o))")) == [1, 2]
