"""The rules' ``regex`` built-in is bounded in time: a catastrophic pattern in a user rule
raises :class:`RuleTimeoutError` naming the rule, and the store is left as it was."""

from __future__ import annotations

import pytest
from rdflib import RDF, Literal, URIRef
from typer.testing import CliRunner

from kg_engine.errors import KgEngineError, RuleTimeoutError
from kg_engine.rules import regex as rule_regex
from kg_engine.rules.engine import RuleEngine, inferred_graph, reason
from kg_engine.rules.ir import Atom, Builtin, Rule, RuleSet, Var

EX = "urn:ex:"
x, n = Var("x"), Var("n")
#: catastrophic for a backtracking matcher: `(a+)+$` against "aaa…ab"
EVIL = "a" * 5000 + "b"


def U(name: str) -> URIRef:
    return URIRef(EX + name)


def program(pattern: str) -> RuleSet:
    return RuleSet("names", (
        Rule("evil-name", (Atom(x, U("name"), n), Builtin("regex", (n, Literal(pattern)))),
             (Atom(x, RDF.type, U("Flagged")),)),
    ))


def quads(store) -> set:
    return set(store.triples((None, None, None)))


@pytest.fixture
def short_bound(monkeypatch):
    monkeypatch.setattr(rule_regex, "REGEX_TIMEOUT", 0.05)


def test_kg_regex_matches_like_re_and_ignores_bad_patterns():
    assert rule_regex.kg_regex("^B.b$", "Bob") == 1
    assert rule_regex.kg_regex("^B.b$", "Bobby") == 0
    assert rule_regex.kg_regex("[", "x") is None
    assert rule_regex.kg_regex(None, "x") is None


def test_catastrophic_pattern_raises_naming_the_rule_and_store_unchanged(store, short_bound):
    store.add([(U("a"), U("name"), Literal(EVIL)), (U("b"), U("name"), Literal("aaa"))])
    before = quads(store)
    if store.dialect == "postgresql":
        # the server's regex engine does not backtrack: the run finishes (only "aaa" matches)
        r = reason(store, program("(a+)+$"))
        assert r.derived == 1
        return
    with pytest.raises(RuleTimeoutError, match=r"rule evil-name: regex '\(a\+\)\+\$' did not finish") as err:
        reason(store, program("(a+)+$"))
    assert isinstance(err.value, KgEngineError) and "nothing was changed" in str(err.value)
    assert quads(store) == before
    assert not set(store.triples((None, None, None), graph=inferred_graph("names")))
    # the same rule with a sane pattern runs on the same store ("^a+$": linear; "a+$" is
    # searched from each of the 5,001 starts, quadratic, and passed the 0.05 s bound only
    # on a quiet machine)
    assert reason(store, program("^a+$")).derived == 1


def test_incremental_add_is_rolled_back_with_the_write(store, short_bound):
    store.add([(U("b"), U("name"), Literal("aaa"))])
    eng = RuleEngine(store, program("(a+)+$"))
    assert eng.materialise().derived == 1
    before = quads(store)
    if store.dialect == "postgresql":
        assert eng.add([(U("a"), U("name"), Literal(EVIL))]).derived == 0
        return
    with pytest.raises(RuleTimeoutError, match="evil-name"):
        eng.add([(U("a"), U("name"), Literal(EVIL))])
    assert quads(store) == before  # the asserted triple went with its inferences


def test_cli_reason_exits_2(tmp_path, short_bound):
    from kg_engine.cli.app import app

    runner = CliRunner()
    data = tmp_path / "names.nt"
    data.write_text(f'<urn:ex:a> <urn:ex:name> "{EVIL}" .\n')
    rules = tmp_path / "evil.rules"
    rules.write_text("[evil: (?x <urn:ex:name> ?n) regex(?n, '(a+)+$') -> (?x rdf:type <urn:ex:Flagged>)]\n")
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert runner.invoke(app, ["load", str(data), "--db", db]).exit_code == 0
    before = runner.invoke(app, ["stats", "--json", "--db", db]).output
    res = runner.invoke(app, ["reason", "--rules", str(rules), "--db", db])
    assert res.exit_code == 2, res.output
    assert "rule evil" in res.output and "did not finish" in " ".join(res.output.split())
    assert runner.invoke(app, ["stats", "--json", "--db", db]).output == before
