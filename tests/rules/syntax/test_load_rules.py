"""load_rules: dispatch by extension and content."""

from __future__ import annotations

import pytest

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.syntax import detect_syntax, load_rules

JENA = "[r: (?x <urn:p> ?y) -> (?y <urn:p> ?x)]\n"
N3 = "{ ?x <urn:p> ?y } => { ?y <urn:p> ?x } .\n"
SPARQL = "CONSTRUCT { ?y <urn:p> ?x } WHERE { ?x <urn:p> ?y }\n"


@pytest.mark.parametrize("text, syntax", [(JENA, "jena"), (N3, "n3"), (SPARQL, "sparql")])
def test_detect_and_same_ir(text, syntax):
    assert detect_syntax(text) == syntax
    rs = load_rules(text)
    assert len(rs) == 1
    r = rs.rules[0]
    assert (r.body, r.head) == (load_rules(JENA).rules[0].body, load_rules(JENA).rules[0].head)


@pytest.mark.parametrize("ext, text", [(".rules", JENA), (".n3", N3), (".rq", SPARQL), (".txt", N3)])
def test_files_by_extension(tmp_path, ext, text):
    f = tmp_path / f"sym{ext}"
    f.write_text(text)
    rs = load_rules(f)
    assert rs.name == "sym" and rs.rules[0].source == str(f)
    assert load_rules(str(f)).rules[0].body == rs.rules[0].body


@pytest.mark.parametrize("ext, text", [(".rules", JENA), (".n3", N3), (".rq", SPARQL), (".txt", N3)])
def test_a_file_saved_with_a_byte_order_mark_and_crlf(tmp_path, ext, text):
    # Windows editors write a BOM: it was "unexpected character '\ufeff'" (Jena) or
    # "Expected {SelectQuery | …}" (SPARQL) at 1:1
    f = tmp_path / f"sym{ext}"
    f.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert load_rules(f).rules[0].body == load_rules(JENA).rules[0].body


def test_error_names_file(tmp_path):
    f = tmp_path / "bad.rules"
    f.write_text("# header\n[r: (?x <urn:p> ?y) -> (?y <urn:p> ?z)]\n")
    with pytest.raises(RuleSyntaxError) as ei:
        load_rules(f)
    assert str(ei.value).startswith(f"{f}:2: rule 'r'")


def test_undetectable_text():
    with pytest.raises(RuleSyntaxError, match="cannot tell the rule syntax"):
        load_rules("hello world")


@pytest.mark.parametrize("ext, text", [
    (".rules", ""), (".rules", "# to do\n@prefix ex: <urn:x:> .\n"), (".n3", "@prefix ex: <urn:x:> .\n"),
])
def test_a_file_without_rules_is_refused(tmp_path, ext, text):
    """An empty (unsaved, wrong) rules file ran as a rule set of nothing: `kg reason` replaced
    the store's reasoning profile and dropped its inferences, reporting success."""
    path = tmp_path / f"mine{ext}"
    path.write_text(text)
    with pytest.raises(RuleSyntaxError, match="no rules in this .* file: write at least one") as ei:
        load_rules(path)
    assert ei.value.source == str(path) and "kg reason --off" in ei.value.message


def test_kg_reason_with_an_empty_file_keeps_the_profile(tmp_path):
    from typer.testing import CliRunner

    from kg_engine.api import KnowledgeGraph
    from kg_engine.cli.app import app

    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.update("INSERT DATA { <urn:a> a <urn:C> . <urn:C> "
                  "<http://www.w3.org/2000/01/rdf-schema#subClassOf> <urn:D> }")
        kg.reason("rdfs")
        before = sorted(kg.triples())
    (tmp_path / "empty.rules").write_text("")
    result = CliRunner().invoke(app, ["reason", "--rules", str(tmp_path / "empty.rules"),
                                      "--db", db])
    assert result.exit_code == 2 and "no rules" in result.output
    with KnowledgeGraph(db) as kg:
        assert kg.store.reasoning.rules == "rdfs" and sorted(kg.triples()) == before
