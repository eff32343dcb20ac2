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


# §4.1.4: "The same blank node label cannot be used in two different basic graph patterns in the
# same query." kg-engine accepted these and answered each its own way (the label one variable
# across an EXISTS, two unrelated nodes across a sub-select); pyoxigraph refuses each of them.
# (query, line:column of the label's first use)
LABEL_REUSED = [
    ("SELECT * { _:a <urn:p> ?o OPTIONAL { _:a <urn:q> ?z } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o . OPTIONAL { ?x <urn:p> ?y } _:a <urn:q> ?z }", "1:12"),
    ("SELECT * {\n  { _:a <urn:p> ?o } UNION { _:a <urn:q> ?o } }", "2:5"),
    ("SELECT * { _:a <urn:p> ?o . GRAPH ?g { _:a <urn:p> ?z } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o . { _:a <urn:p> ?z } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o MINUS { _:a <urn:q> ?o } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o { SELECT ?z { _:a <urn:q> ?z } } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o FILTER EXISTS { _:a <urn:q> ?z } }", "1:12"),
    ("SELECT * { _:a <urn:p> ?o FILTER NOT EXISTS { ?o <urn:p> _:a } }", "1:12"),
    ("ASK { _:a <urn:p> ?o OPTIONAL { _:a <urn:q> ?z } }", "1:7"),
    ("CONSTRUCT { ?o <urn:r> 1 } WHERE { _:a <urn:p> ?o OPTIONAL { _:a <urn:q> ?z } }", "1:36"),
    ("DESCRIBE ?o WHERE { _:a <urn:p> ?o OPTIONAL { _:a <urn:q> ?z } }", "1:21"),
]
LABEL_VALID = [  # one basic graph pattern each (FILTER, BIND, VALUES and paths do not end one)
    "SELECT * { _:a <urn:p> ?o . _:a <urn:p> ?z }",
    "SELECT * { _:a <urn:p> ?o . FILTER(true) _:a <urn:p> ?z }",
    "SELECT * { _:a <urn:p> ?v . FILTER(true) . [] <urn:q> _:a }",  # W3C syntax-sparql4 syn-11
    "SELECT * { _:a <urn:p> ?o FILTER EXISTS { ?x ?y ?z } _:a <urn:p> ?z }",  # pyoxigraph: refused
    "SELECT * { _:a <urn:p> ?o . BIND(1 AS ?k) _:a <urn:p> ?z }",
    "SELECT * { _:a <urn:p> ?o . VALUES ?k { 1 } _:a <urn:p> ?z }",
    "SELECT * { _:a <urn:p> ?o . _:a <urn:p>/<urn:p> ?z }",
    "SELECT * { _:a <urn:p> ?o FILTER EXISTS { _:b <urn:p> ?z . _:b <urn:p> 1 } }",
    "SELECT * { { _:a <urn:p> ?o } UNION { _:b <urn:p> ?o } }",
    "SELECT * { GRAPH ?g { _:a <urn:p> ?o . _:a <urn:p> ?z } }",
    "SELECT * { [] <urn:p> ?o OPTIONAL { [] <urn:p> ?z } }",
    "CONSTRUCT { _:a <urn:r> ?o } WHERE { _:a <urn:p> ?o }",  # a template's labels are its own
    "CONSTRUCT { _:a <urn:r> ?o } WHERE { ?s <urn:p> ?o OPTIONAL { _:a <urn:p> ?z } }",
]


@pytest.mark.parametrize("query,where", LABEL_REUSED)
def test_a_blank_node_label_in_two_graph_patterns_is_an_error(kg: KnowledgeGraph, query: str,
                                                               where: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        kg.query(query)
    assert str(err.value).startswith(f"<query>:{where}: ")
    assert "_:a" in str(err.value) and "§4.1.4" in str(err.value)
    if parsing.USE_FAST_PARSER:
        assert fastparse.parse(query) is None  # declined: never an answer of its own


@pytest.mark.parametrize("query", LABEL_VALID)
def test_a_blank_node_label_in_one_graph_pattern_runs(kg: KnowledgeGraph, query: str) -> None:
    list(kg.query(query))


def test_a_blank_node_label_in_two_graph_patterns_of_an_update_is_an_error(
        kg: KnowledgeGraph) -> None:
    with pytest.raises(QuerySyntaxError, match=r"<update>:1:48: .*_:a.*§4\.1\.4"):
        kg.update("INSERT { ?o <urn:r> 1 } WHERE { ?o <urn:p> 1 . _:a <urn:p> ?o "
                  "OPTIONAL { _:a <urn:q> ?z } }")
    assert len(list(kg.query("SELECT * { ?s <urn:r> ?o }"))) == 0
    # each operation of a request has its own labels; a template's are fresh nodes
    kg.update("INSERT { _:a <urn:r> ?o } WHERE { _:a <urn:p> ?o } ;\n"
              "INSERT { _:a <urn:r> ?o } WHERE { _:a <urn:p> ?o }")
    assert len(list(kg.query("SELECT * { ?s <urn:r> ?o }"))) == 6  # one node a solution
