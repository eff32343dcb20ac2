"""KnowledgeGraph.reason / KnowledgeGraph.explain delegate to kg_engine.rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF

from kg_engine.api import KnowledgeGraph
from kg_engine.core.provenance import Provenance
from kg_engine.errors import InputNotFoundError, RuleSyntaxError
from kg_engine.rules.explain import NotInStoreError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
EX = "https://example.org/kg/"


def ex(n: str) -> URIRef:
    return URIRef(EX + n)


@pytest.fixture
def kg():
    kg = KnowledgeGraph("sqlite://")
    kg.load(SAMPLE / "university.ttl")
    return kg


def test_reason_builtin_file_and_text(kg):
    r = kg.reason("rdfs")
    assert r.derived > 0 and r.profile == []
    r2 = kg.reason(SAMPLE / "university.n3", profile=True)
    assert r2.program == "university" and r2.derived > 0 and r2.profile
    r3 = kg.reason("[r: (?a <https://example.org/kg/advisor> ?b) -> (?b <https://example.org/kg/mentors> ?a)]")
    assert r3.derived == 3
    assert (ex("ada"), ex("mentors"), ex("dana")) in {t[:3] for t in kg.triples((None, ex("mentors"), None))}


def test_reason_errors_leave_store_unchanged(kg):
    n = len(kg)
    with pytest.raises(RuleSyntaxError):
        kg.reason("[r: (?a <urn:p> ?b) -> (?a <urn:q> ?c)]")
    with pytest.raises(InputNotFoundError):
        kg.reason("no/such.rules")
    assert len(kg) == n


def test_explain_text_and_terms(kg):
    kg.reason(SAMPLE / "university.rules")
    e = kg.explain(f"<{EX}chen> <{EX}worksFor> <{EX}Northfield>")
    assert e.kind == "inferred" and e.tree.rule == "works-for-parent"
    assert kg.explain((ex("chen"), RDF.type, ex("Researcher"))).kind == "asserted"
    with pytest.raises(NotInStoreError):
        kg.explain((ex("chen"), RDF.type, ex("Student")))


def test_predicted_triples_dispatch_to_the_gnn_package(kg):
    prov = Provenance(kind="predicted", source="missing-rgcn.pt", agent="R-GCN", version="1", confidence=0.8)
    kg.add([(ex("emil"), ex("worksFor"), ex("Eastmoor"))], provenance=prov)
    e = kg.explain((ex("emil"), ex("worksFor"), ex("Eastmoor")))
    assert e.kind == "predicted"
    text = str(e)
    assert "R-GCN" in text and "missing-rgcn.pt" in text
    # the rule engine's own view of the same triple: an asserted leaf carrying the record
    from kg_engine.rules.explain import explain

    rec = explain(kg.store, (ex("emil"), ex("worksFor"), ex("Eastmoor")))
    assert rec.kind == "asserted" and rec.tree.sources == [prov]
    assert "predicted missing-rgcn.pt by R-GCN 1 confidence 0.8" in str(rec)
