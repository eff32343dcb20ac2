"""``kg_engine.sparql.parsing``: SPARQL Update syntax errors name the line:column of the token
that broke and what was expected there (not the start of the operation it is in), and a
request with one leaves the store exactly as it was."""

from __future__ import annotations

import pytest

from kg_engine import KnowledgeGraph
from kg_engine.errors import QuerySyntaxError
from kg_engine.sparql.parsing import parse_query, parse_update

EX = "http://e/"
OPS = "Expected an update operation (INSERT DATA, DELETE DATA"

# (request, line, column, what the message says was expected)
BAD_UPDATES = [
    # "1.2 ." is a triple; "3" starts the next one (a literal subject parses) and its
    # predicate is missing at the "}"
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1.2.3 }}", 1, 47,
                 "near '}': Expected a predicate", id="bad-literal-in-insert-data"),
    pytest.param("DELETE WHERE { ?s ?p ?o ", 1, 25, "at the end of the text: Expected '}'",
                 id="missing-brace-in-delete-where"),
    pytest.param(f"INSRT DATA {{ <{EX}a> <{EX}p> 1 }}", 1, 1, OPS, id="typo-keyword"),
    pytest.param(f"INSERT DATA {{ <{EX}a b> <{EX}p> 1 }}", 1, 26, "near ' b> <http://e/p> 1 }': "
                 "Expected '>'", id="bad-iri"),  # the space inside the IRI
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} ;\n  INSERT DATA {{ <{EX}a> <{EX}p> }}",
                 2, 43, "near '}': Expected a variable, an IRI, a literal or a blank node",
                 id="second-operation-malformed"),  # the object of the incomplete triple
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} # note\n ; INSRT DATA {{ }}", 2, 4, OPS,
                 id="second-operation-typo-after-comment"),
    pytest.param(f"PREFIX e: <{EX}>\nINSERT DATA {{ e:a e:p e:b }} junk", 2, 29,
                 "near 'junk': Expected ';' or the end of the request", id="trailing-junk"),
    pytest.param(f"INSERT {{ ?s <{EX}q> 1 }}\nWHERE {{ ?s ?p 1.2.3 }}", 2, 21,
                 "near '}': Expected a predicate", id="bad-literal-in-where"),
    pytest.param("CLEAR GRAPH", 1, 12, "at the end of the text: Expected an IRI",
                 id="clear-without-graph"),
    pytest.param(f"INSERT DATA {{ ?s <{EX}p> 1 }}", 1, 16, "variable ?s",
                 id="variable-in-insert-data"),
    # a triple cut short: where it stops, not where it starts
    pytest.param(f"PREFIX e: <{EX}>\nINSERT DATA {{\n  e:a e:b e:c .\n  e:d e:e\n}}", 5, 1,
                 "near '}': Expected a variable, an IRI, a literal or a blank node",
                 id="triple-cut-short"),
    pytest.param("INSERT DATA { <urn:a>\t<urn:p> }", 1, 31, "near '}': Expected a variable",
                 id="triple-cut-short-after-a-tab"),
    # an error inside an update's WHERE: the token, and what was expected ("Expected where")
    pytest.param("DELETE { ?s ?p ?o } WHERE { ?s ?p }", 1, 35,
                 "near '}': Expected a variable, an IRI, a literal or a blank node",
                 id="where-triple-cut-short"),
    pytest.param("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?o = ) }", 1, 50,
                 "near ') }': Expected an expression", id="where-filter-without-operand"),
    pytest.param("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o BIND(1 AS ) }", 1, 48,
                 "near ') }': Expected a variable", id="where-bind-without-variable"),
    pytest.param("INSERT { ?s ?p ?o } WHERE { ?s ?p ?o OPTIONAL { ?s } }", 1, 52,
                 "near '} }': Expected a predicate (an IRI, a variable or a property path)",
                 id="where-optional-cut-short"),
    pytest.param("INSERT DATA { <urn:a> <urn:p> 1 } ; CLEAR FOO", 1, 43,
                 "near 'FOO': Expected SILENT, GRAPH, DEFAULT, NAMED or ALL", id="clear-what"),
]


@pytest.mark.parametrize(("text", "line", "column", "expected"), BAD_UPDATES)
def test_update_syntax_error_names_the_bad_token(text: str, line: int, column: int,
                                                 expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_update(text, source="u.ru")
    err = info.value
    assert (err.source, err.line, err.column) == ("u.ru", line, column), str(err)
    assert str(err).startswith(f"u.ru:{line}:{column}: invalid SPARQL update")
    assert expected in str(err)
    assert "Expected end of text" not in str(err)


def test_update_syntax_error_position_matches_the_query_one() -> None:
    """The same malformed pattern is located alike in a query and in an update's WHERE."""
    pattern = f"{{ ?s <{EX}p> 1.2.3 }}"
    with pytest.raises(QuerySyntaxError) as q:
        parse_query("SELECT * WHERE " + pattern)
    with pytest.raises(QuerySyntaxError) as u:
        parse_update("DELETE WHERE " + pattern)
    offset = len("SELECT * WHERE ") - len("DELETE WHERE ")
    # the "}" where the triple "3" starts needs its predicate
    assert q.value.column - offset == u.value.column == 38
    assert "Expected a predicate" in str(q.value) and "Expected a predicate" in str(u.value)


def test_query_syntax_error_names_where_the_text_stops() -> None:
    """A triple cut short, or an operand missing, is reported where the text stops making
    sense and with what was expected there (not "Expected SelectQuery" at the triple's start)."""
    cases = {"SELECT * WHERE { ?s ?p }": (24, "Expected a variable, an IRI, a literal or a blank node"),
             "SELECT * WHERE { ?s ?p ?o FILTER(?o = ) }": (39, "Expected an expression"),
             "SELEC * WHERE {}": (1, "Expected BASE, PREFIX, SELECT, CONSTRUCT, DESCRIBE or ASK")}
    for text, (column, expected) in cases.items():
        with pytest.raises(QuerySyntaxError) as err:
            parse_query(text)
        assert (err.value.line, err.value.column) == (1, column), str(err.value)
        assert expected in str(err.value), str(err.value)


def test_valid_requests_still_parse() -> None:
    for text in ["", f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} ;", "CLEAR ALL ; # done\n",
                 f"PREFIX e: <{EX}> INSERT DATA {{ e:a e:p 1 }} ; PREFIX f: <{EX}>",
                 f"DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }} ; LOAD SILENT <{EX}x> INTO GRAPH <{EX}g>"]:
        parse_update(text)


@pytest.mark.parametrize(("text", "line", "column", "expected"), BAD_UPDATES)
def test_api_update_error_leaves_the_store_unchanged(tmp_path, text: str, line: int,
                                                     column: int, expected: str) -> None:
    with KnowledgeGraph(f"sqlite:///{tmp_path / 'kg.sqlite'}") as kg:
        kg.update(f"INSERT DATA {{ <{EX}k> <{EX}p> 'kept' }}")
        before = sorted(kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"), key=str)
        with pytest.raises(QuerySyntaxError) as info:
            kg.update(text)
        assert (info.value.line, info.value.column) == (line, column)
        assert sorted(kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"), key=str) == before


@pytest.mark.parametrize("parse", [parse_query, parse_update], ids=["query", "update"])
@pytest.mark.parametrize("before", ["\t", "\t\t ", '"\\u00e9" , ', '"\\U0001F600"\t, ',
                                    "\n\t<urn:x> , "], ids=["tab", "tabs", "u-escape",
                                                            "U-escape-tab", "newline-tab"])
def test_error_column_counts_tabs_and_escapes_as_written(parse, before: str) -> None:
    """rdflib parses the text with \\u escapes and tabs expanded: the reported line:column and
    the "near" excerpt are those of the text as written."""
    head = "SELECT * { " if parse is parse_query else "INSERT DATA { "
    text = head + "<urn:a> <urn:p> " + before + "1.2.3 }"
    bad = text.index("}", text.index("3 }"))  # "3" starts a triple: its predicate is missing
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    line = text.count("\n", 0, bad) + 1
    column = bad - (text.rfind("\n", 0, bad) + 1) + 1
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert "near '}'" in str(info.value)


@pytest.mark.parametrize("parse, text, where", [
    (parse_query, "SELECT ?s\nWHERE { ?s foo:bar '# foo:' }", (2, 12)),
    (parse_query, "PREFIX : <urn:x>\nSELECT * { ?s <urn:a#foo:b> ?o . ?o foo:p ?z }", (2, 37)),
    (parse_update, "PREFIX a: <urn:a>\nINSERT DATA { a:x foo:y 1 }", (2, 19)),
    (parse_update, "DELETE { ?s foo:y 1 } WHERE { ?s ?p ?o }", (1, 13)),
])
def test_unknown_prefix_names_line_column_and_fix(parse, text: str, where) -> None:
    """rdflib's 'Unknown namespace prefix : foo' had no position and no fix."""
    with pytest.raises(QuerySyntaxError) as ei:
        parse(text)
    err = ei.value
    assert (err.line, err.column) == where
    assert "unknown prefix 'foo:'" in str(err) and "PREFIX foo: <" in str(err)


@pytest.mark.parametrize("text, where, iri", [
    ("SELECT * WHERE { <a> ?p ?o }", (1, 18), "a"),
    ("SELECT * FROM <g> WHERE { ?s ?p ?o }", (1, 15), "g"),
    ("PREFIX e: <rel/>\nASK { e:a ?p ?o }", (1, 11), "rel/a"),
    ('SELECT ("x"^^<dt> AS ?x) {}', (1, 14), "dt"),
    ("CONSTRUCT { ?s <p> ?o } WHERE { ?s ?q ?o }", (1, 16), "p"),
])
def test_a_query_refuses_relative_iris_without_a_base(text: str, where: tuple[int, int],
                                                      iri: str) -> None:
    """A relative IRI in a query without BASE matched nothing, silently (the store holds
    absolute IRIs); pyoxigraph refuses it, as kg-engine refuses it in updates and Turtle."""
    for parse in (parse_query, _rdflib_parser_query):
        with pytest.raises(QuerySyntaxError) as err:
            parse(text)
        assert (err.value.line, err.value.column) == where, parse
        assert f"relative IRI <{iri}> and no base IRI" in str(err.value)
    assert parse_query("BASE <http://x/> " + text) is not None
    assert parse_query(text, base="http://x/") is not None
    parse_query("SELECT * { ?s ?p ?o FILTER(?o<3&&?o>1) }")  # '<' as less-than


def _rdflib_parser_query(text: str):
    """parse_query through rdflib's grammar (the fast parser off)."""
    from kg_engine.sparql import parsing

    old, parsing.USE_FAST_PARSER = parsing.USE_FAST_PARSER, False
    try:
        return parse_query(text)
    finally:
        parsing.USE_FAST_PARSER = old


def test_declared_prefixes_keep_the_fast_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    """kg.query/kg.update declare the store's prefixes (init_ns, 06fe535), and any init_ns
    sent every request to rdflib's pyparsing grammar: a 20,000-statement INSERT DATA went
    past 120 s (tests/sparql/test_limits.py), every new query paid ~30 ms. The fast parsers
    take the declared prefixes now; the text's PREFIX lines still win."""
    from kg_engine.sparql import parsing

    def no_pyparsing(*args, **kwargs):
        raise AssertionError("rdflib's grammar was used")

    monkeypatch.setattr(parsing, "parseQuery", no_pyparsing)
    monkeypatch.setattr(parsing, "parseUpdate", no_pyparsing)
    ns = {"ex": "http://example.org/", "foaf": "http://xmlns.com/foaf/0.1/"}
    q = parse_query("SELECT ?n WHERE { ex:a foaf:name ?n }", init_ns=ns)
    assert "http://xmlns.com/foaf/0.1/name" in str(q.algebra)
    q = parse_query("PREFIX foaf: <urn:f#> SELECT ?n WHERE { ex:a foaf:name ?n }", init_ns=ns)
    assert "urn:f#name" in str(q.algebra) and "0.1/name" not in str(q.algebra)
    u = parse_update('INSERT DATA { ex:a foaf:name "A" }', init_ns=ns)
    assert str(u.algebra[0].triples[0][1]) == "http://xmlns.com/foaf/0.1/name"
