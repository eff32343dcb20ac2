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


def test_error_names_file(tmp_path):
    f = tmp_path / "bad.rules"
    f.write_text("# header\n[r: (?x <urn:p> ?y) -> (?y <urn:p> ?z)]\n")
    with pytest.raises(RuleSyntaxError) as ei:
        load_rules(f)
    assert str(ei.value).startswith(f"{f}:2: rule 'r'")


def test_undetectable_text():
    with pytest.raises(RuleSyntaxError, match="cannot tell the rule syntax"):
        load_rules("hello world")
