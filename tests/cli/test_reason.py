"""``kg reason``: built-in and file rule sets, profile, violations, exit 2 on bad rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["load", str(SAMPLE / "university.ttl"), "--db", url])
    assert res.exit_code == 0, res.output
    return url


def test_reason_builtin_and_json(db):
    res = runner.invoke(app, ["reason", "--rules", "rdfs", "--db", db])
    assert res.exit_code == 0, res.output
    assert "rdfs: derived" in res.output and "rounds" in res.output
    res = runner.invoke(app, ["reason", "--rules", "owl-rl", "--json", "--db", db])
    data = json.loads(res.output)
    assert data["program"] == "owl-rl" and data["rounds"] >= 1


def test_reason_file_with_profile(db):
    res = runner.invoke(app, ["reason", "--rules", str(SAMPLE / "university.rules"), "--profile", "--db", db])
    assert res.exit_code == 0, res.output
    assert "university: derived 27 triples" in res.output
    assert "works-for-parent" in res.output and "per-rule profile" in res.output
    assert "no violations" in res.output
    # the last column counts SQL statements run, not RDF statements (a new user read
    # "rdfs2 │ 30 │ 7" as 7 triples)
    assert "SQL" in res.output, res.output  # the header may wrap: "SQL" / "statements"


def test_user_rules_profile_is_named_by_its_graph_not_program(db):
    res = runner.invoke(app, ["reason", "--rules", str(SAMPLE / "university.rules"), "--db", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["stats", "--db", db])
    assert "reasoning: user rules → <urn:kg-engine:inferred:university>" in res.output
    assert "program" not in res.output
    res = runner.invoke(app, ["reason", "--off", "--db", db])
    assert res.output.strip() == ("reasoning off (was: user rules → "
                                  "<urn:kg-engine:inferred:university>)")
    res = runner.invoke(app, ["stats", "--db", db])
    assert "reasoning: off" in res.output


def test_violations_listed(db, tmp_path):
    rules = tmp_path / "check.rules"
    rules.write_text(
        "@prefix ex: <https://example.org/kg/>.\n"
        "[no-publications: (?p rdf:type ex:Professor) noValue(?p ex:worksFor) -> ]\n"
    )
    res = runner.invoke(app, ["reason", "--rules", str(rules), "--db", db])
    assert res.exit_code == 0, res.output
    assert "1 violation(s)" in res.output and "no-publications" in res.output and "ada" in res.output


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("[r: (?x <urn:p> ?y) -> (?x <urn:q> ?z)]\n", "bad.rules:1: rule 'r': variable ?z"),
        ("[r: (?x <urn:p> ?y) -> (?x <urn:q> ?y)\n", "bad.rules:2:1: expected ']'"),
    ],
)
def test_bad_rules_exit_2_and_store_unchanged(db, tmp_path, content, fragment):
    bad = tmp_path / "bad.rules"
    bad.write_text(content)
    before = runner.invoke(app, ["stats", "--json", "--db", db]).output
    res = runner.invoke(app, ["reason", "--rules", str(bad), "--db", db])
    assert res.exit_code == 2
    assert fragment in " ".join(res.output.split())
    assert runner.invoke(app, ["stats", "--json", "--db", db]).output == before


def test_unknown_ruleset_and_missing_file(db):
    res = runner.invoke(app, ["reason", "--rules", "owl-dl", "--db", db])
    assert res.exit_code == 2 and "owl-rl, rdfs" in res.output
    res = runner.invoke(app, ["reason", "--rules", "nowhere/my.rules", "--db", db])
    assert res.exit_code == 2 and "not found" in res.output


def test_a_new_profile_says_which_one_it_replaces(db):
    """``kg reason --rules owl-rl`` then ``--rules FILE``: the OWL 2 RL inferences silently
    stopped answering queries (a store has one profile); the second command now says so."""
    res = runner.invoke(app, ["reason", "--rules", "owl-rl", "--db", db])
    assert res.exit_code == 0 and "replaces" not in res.output, res.output
    res = runner.invoke(app, ["reason", "--rules", "owl-rl", "--db", db])
    assert "replaces" not in res.output, res.output  # the same profile again: nothing replaced
    res = runner.invoke(app, ["reason", "--rules", str(SAMPLE / "university.rules"), "--db", db])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "replaces the profile owl-rl" in text, text
    assert "<urn:kg-engine:inferred:owl-rl> no longer answer queries" in text, text
    res = runner.invoke(app, ["reason", "--rules", "rdfs", "--db", db])
    assert ("replaces the profile user rules → <urn:kg-engine:inferred:university>"
            in " ".join(res.output.split())), res.output


def test_the_rule_set_as_an_argument(db):
    """``kg reason rdfs`` (as ``kg.reason("rdfs")`` reads) was refused: "unexpected extra
    argument"; it is ``--rules rdfs``. Two built-in rule sets are one line, exit 2."""
    res = runner.invoke(app, ["reason", "rdfs", "--db", db])
    assert res.exit_code == 0 and "rdfs: derived" in res.output, res.output
    res = runner.invoke(app, ["reason", str(SAMPLE / "university.rules"), "--rules",
                              str(SAMPLE / "university.rules"), "--db", db])
    assert res.exit_code == 0 and "university: derived" in res.output, res.output
    res = runner.invoke(app, ["reason", "owl-rl", "--rules", "rdfs", "--db", db])
    assert res.exit_code == 2 and "combine one built-in rule set with your rules" in res.output, res.output
    res = runner.invoke(app, ["stats", "--db", db])  # the refused call changed nothing
    assert "reasoning: user rules → <urn:kg-engine:inferred:university>" in res.output, res.output
    res = runner.invoke(app, ["reason", "--db", db])  # neither: OWL 2 RL, as before
    assert res.exit_code == 0 and "owl-rl: derived" in res.output, res.output


def test_a_built_in_rule_set_and_a_rules_file_together(db, tmp_path):
    """``kg reason owl-rl FILE`` / ``--rules owl-rl --rules FILE``: one program, one profile
    recording both (it replaced the first before: a store had one rule set). Rules with
    negation are refused with OWL 2 RL (not stratifiable), the store unchanged."""
    sample = (SAMPLE / "university.rules").read_text()
    res = runner.invoke(app, ["reason", "owl-rl", str(SAMPLE / "university.rules"), "--db", db])
    assert res.exit_code == 2, res.output
    assert "university.rules:25: rule 'unaffiliated' is not stratifiable with owl-rl" in res.output, res.output
    assert "reasoning: off" in runner.invoke(app, ["stats", "--db", db]).output
    rules = tmp_path / "university.rules"
    rules.write_text("\n".join(line for line in sample.splitlines() if not line.startswith("[unaffiliated")))
    rules = str(rules)
    res = runner.invoke(app, ["reason", "--rules", "owl-rl", "--rules", rules, "--db", db])
    assert res.exit_code == 0 and "owl-rl+university: derived" in res.output, res.output
    assert "reasoning profile: owl-rl + " in res.output and "replaces" not in res.output, res.output
    res = runner.invoke(app, ["stats", "--db", db])
    assert "reasoning: owl-rl + user rules → <urn:kg-engine:inferred:owl-rl+university>" in res.output, res.output
    res = runner.invoke(app, ["reason", "owl-rl", rules, "--db", db])  # the same again
    assert res.exit_code == 0 and "replaces" not in res.output, res.output
    res = runner.invoke(app, ["reason", "rdfs", "--db", db])
    assert "replaces the profile owl-rl + user rules" in " ".join(res.output.split()), res.output
    res = runner.invoke(app, ["reason", "owl-rl", "rdfs", rules, "--db", db])
    assert res.exit_code == 2 and "not 'owl-rl' and 'rdfs'" in res.output, res.output
