"""A literal constant in a rule is the RDF term as written, in every rule syntax.

``"01"^^xsd:integer`` in a rule body matches the stored term ``"01"`` and not ``"1"`` (as a
SPARQL triple pattern does), a head constant is derived exactly as written, and builtins still
compare by value. rdflib canonicalises literals when it builds them (``"01"`` → ``"1"``,
``Z`` → ``+00:00``); the parsers and the stored program of a user-rules profile must not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from kg_engine import KnowledgeGraph
from kg_engine.rules.ir import RuleSet
from kg_engine.rules.syntax import load_rules

X = str(XSD)
ONE = f'"01"^^<{X}integer>'  # rdflib alone would read it as "1"
WHEN = f'"2020-01-01T00:00:00Z"^^<{X}dateTime>'  # ... and this one as ...+00:00
WHEN_TERM = Literal("2020-01-01T00:00:00Z", datatype=XSD.dateTime, normalize=False)

RULES = {
    "jena": f"""[flag: (?x <urn:code> {ONE}) -> (?x <urn:flag> {WHEN})]
[same: (?x <urn:code> ?v) equal(?v, {ONE}) -> (?x <urn:same> <urn:yes>)]
[more: (?x <urn:code> ?v) greaterThan(?v, {ONE}) -> (?x <urn:more> <urn:yes>)]
""",
    "n3": f"""{{ ?x <urn:code> {ONE} }} => {{ ?x <urn:flag> {WHEN} }} .
{{ ?x <urn:code> ?v . ?v math:equalTo {ONE} }} => {{ ?x <urn:same> <urn:yes> }} .
{{ ?x <urn:code> ?v . ?v math:greaterThan {ONE} }} => {{ ?x <urn:more> <urn:yes> }} .
""",
    "sparql": f"""CONSTRUCT {{ ?x <urn:flag> {WHEN} }} WHERE {{ ?x <urn:code> {ONE} }}
;
CONSTRUCT {{ ?x <urn:same> <urn:yes> }} WHERE {{ ?x <urn:code> ?v FILTER(?v = {ONE}) }}
;
CONSTRUCT {{ ?x <urn:more> <urn:yes> }} WHERE {{ ?x <urn:code> ?v FILTER(?v > {ONE}) }}
""",
}
SUFFIX = {"jena": ".rules", "n3": ".n3", "sparql": ".rq"}


def codes(kg: KnowledgeGraph, *pairs: tuple[str, str]) -> None:
    kg.update("INSERT DATA { " + " ".join(
        f'<urn:{s}> <urn:code> "{lex}"^^<{X}integer> .' for s, lex in pairs) + " }")


def subjects(kg: KnowledgeGraph, p: str) -> list[str]:
    return sorted(str(r[0]) for r in kg.query(f"SELECT ?x WHERE {{ ?x <urn:{p}> ?o }}"))


def check(kg: KnowledgeGraph, flagged: list[str], same: list[str], more: list[str]) -> None:
    assert subjects(kg, "flag") == flagged  # by RDF term: "01", never "1"
    assert subjects(kg, "same") == same  # builtins by value: "01" and "1"
    assert subjects(kg, "more") == more
    derived = {r[0] for r in kg.query("SELECT ?w WHERE { ?x <urn:flag> ?w }")}
    assert all(w.n3() == WHEN_TERM.n3() for w in derived), derived  # the head term as written


@pytest.mark.parametrize("syntax", sorted(RULES))
def test_body_constants_match_the_term_written(syntax: str, store_url: str, tmp_path: Path) -> None:
    rules = tmp_path / f"r{SUFFIX[syntax]}"
    rules.write_text(RULES[syntax])
    with KnowledgeGraph(store_url) as kg:
        codes(kg, ("a", "01"), ("b", "1"), ("c", "2"))
        kg.reason(rules)
        check(kg, ["urn:a"], ["urn:a", "urn:b"], ["urn:c"])
        assert '"01"^^xsd:integer' in str(kg.explain(f"<urn:a> <urn:flag> {WHEN}"))


@pytest.mark.parametrize("syntax", sorted(RULES))
def test_live_maintenance_after_reopening_keeps_the_constants(syntax: str, tmp_path: Path) -> None:
    """The profile's program is read back from the store: its constants stay as written."""
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    rules = tmp_path / f"r{SUFFIX[syntax]}"
    rules.write_text(RULES[syntax])
    with KnowledgeGraph(url) as kg:
        kg.reason(rules)
    with KnowledgeGraph(url) as kg:
        assert kg.reasoning == "program"
        codes(kg, ("a", "01"), ("b", "1"), ("c", "2"))  # maintained live, by the stored program
        check(kg, ["urn:a"], ["urn:a", "urn:b"], ["urn:c"])
        kg.remove((URIRef("urn:a"), None, None))
        check(kg, [], ["urn:b"], ["urn:c"])


@pytest.mark.parametrize("syntax", sorted(RULES))
def test_parsed_and_stored_programs_keep_lexical_forms(syntax: str) -> None:
    rules = load_rules(RULES[syntax], syntax=syntax)
    again = RuleSet.from_dict(rules.to_dict())
    for rs in (rules, again):
        text = "\n".join(str(r) for r in rs)
        assert '"01"^^xsd:integer' in text and '"2020-01-01T00:00:00Z"^^xsd:dateTime' in text, text
        assert '"1"^^xsd:integer' not in text and "+00:00" not in text, text


def test_jena_bare_numbers_are_the_term_written() -> None:
    """As in Turtle and SPARQL, ``01`` is ``"01"^^xsd:integer`` and ``1.0e0`` keeps its form."""
    rule = load_rules("[r: (?x <urn:p> 01) (?x <urn:q> 1.0e0) (?x <urn:r> 1.50) -> (?x <urn:s> 01)]").rules[0]
    assert [a.o for a in rule.body] == [
        Literal("01", datatype=XSD.integer, normalize=False),
        Literal("1.0e0", datatype=XSD.double, normalize=False),
        Literal("1.50", datatype=XSD.decimal, normalize=False),
    ]
    assert rule.head[0].o.n3() == f'"01"^^<{X}integer>'


def test_owl_rl_rules_specialised_to_tbox_literals_keep_them(tmp_path: Path) -> None:
    """``owl:hasValue "01"`` specialises cls-hv1/cls-hv2 to the stored term, also when the
    closure is maintained live after reopening (a guard: the TBox literal comes from the store)."""
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    (tmp_path / "o.ttl").write_text(f"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
<urn:One> owl:equivalentClass [ a owl:Restriction ; owl:onProperty <urn:code> ; owl:hasValue {ONE} ] .
<urn:m> a <urn:One> .
""")
    with KnowledgeGraph(url, reasoning="owl-rl") as kg:
        kg.load(tmp_path / "o.ttl")
        codes(kg, ("a", "01"), ("b", "1"))
    with KnowledgeGraph(url) as kg:
        codes(kg, ("c", "01"), ("d", "1"))
        kg.add([(URIRef("urn:n"), RDF.type, URIRef("urn:One"))])
        members = sorted(str(r[0]) for r in kg.query("SELECT ?x WHERE { ?x a <urn:One> }"))
        assert members == ["urn:a", "urn:c", "urn:m", "urn:n"]
        values = {r[0].n3() for r in kg.query("SELECT ?v WHERE { <urn:n> <urn:code> ?v }")}
        assert values == {f'"01"^^<{X}integer>'}
