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
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1.2.3 }}", 1, 45, "near '3 }': Expected '}'",
                 id="bad-literal-in-insert-data"),  # "1.2 ." is a triple: "3" cannot start one
    pytest.param("DELETE WHERE { ?s ?p ?o ", 1, 25, "at the end of the text: Expected '}'",
                 id="missing-brace-in-delete-where"),
    pytest.param(f"INSRT DATA {{ <{EX}a> <{EX}p> 1 }}", 1, 1, OPS, id="typo-keyword"),
    pytest.param(f"INSERT DATA {{ <{EX}a b> <{EX}p> 1 }}", 1, 15, "near '<http://e/a b>",
                 id="bad-iri"),
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} ;\n  INSERT DATA {{ <{EX}a> <{EX}p> }}",
                 2, 17, "near '<http://e/a> <http:/': Expected '}'",  # the incomplete triple
                 id="second-operation-malformed"),
    pytest.param(f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} # note\n ; INSRT DATA {{ }}", 2, 4, OPS,
                 id="second-operation-typo-after-comment"),
    pytest.param(f"PREFIX e: <{EX}>\nINSERT DATA {{ e:a e:p e:b }} junk", 2, 29,
                 "near 'junk': Expected ';' or the end of the request", id="trailing-junk"),
    pytest.param(f"INSERT {{ ?s <{EX}q> 1 }}\nWHERE {{ ?s ?p 1.2.3 }}", 2, 19, "near '3 }'",
                 id="bad-literal-in-where"),
    pytest.param("CLEAR GRAPH", 1, 12, "at the end of the text: Expected graphiri",
                 id="clear-without-graph"),
    pytest.param(f"INSERT DATA {{ ?s <{EX}p> 1 }}", 1, 16, "variable ?s",
                 id="variable-in-insert-data"),
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
    assert q.value.column - offset == u.value.column == 36  # the "3" after "1.2 ."


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
    bad = text.index("3 }")
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    line = text.count("\n", 0, bad) + 1
    column = bad - (text.rfind("\n", 0, bad) + 1) + 1
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert "near '3 }'" in str(info.value)


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
