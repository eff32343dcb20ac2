"""Tests of kg_engine.extraction.to_rdf: every extracted triple carries provenance."""

from __future__ import annotations

import json

import pytest
import spacy
from rdflib import RDF, RDFS, SKOS, URIRef
from spacy.tokens import Doc, Span

from kg_engine.core import DEFAULT_GRAPH
from kg_engine.errors import ConfigError
from kg_engine.extraction.to_rdf import DocConverter, RDFMapping, doc_to_batch

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)
if not Doc.has_extension("rel"):
    Doc.set_extension("rel", default=None)


@pytest.fixture
def doc():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    d = nlp("Intro sentence here. Ada Lovelace worked with Charles Babbage in London.")
    d.ents = [Span(d, 4, 6, "Person"), Span(d, 8, 10, "Person"), Span(d, 11, 12, "Location")]
    return d


def test_entities_become_typed_labelled_nodes_with_provenance(doc) -> None:
    batch = doc_to_batch(doc, "doc-1")
    assert len(batch) == 6
    types = {(str(s), str(o)) for (s, p, o, g), _ in batch if p == RDF.type}
    assert ("urn:kg-engine:entity/Person/ada_lovelace", "urn:kg-engine:class/Person") in types
    for (s, p, o, g), prov in batch:
        assert g == DEFAULT_GRAPH
        assert prov is not None and prov.kind == "extracted" and prov.source == "doc-1"
        assert prov.sentence == 1
        assert prov.text == "Ada Lovelace worked with Charles Babbage in London."
        # offsets index the evidence in the document
        if p == RDFS.label:
            assert doc.text[prov.start:prov.end] == str(o)
        assert json.loads(prov.detail)["sentence_start"] == doc.text.index("Ada")


def test_relations_from_component_output(doc) -> None:
    ada, charles, london = doc.ents
    doc._.relations = [(ada, "colleague_of", charles, 0.9), (ada, "no_relation", london, 0.99),
                       (charles, "Entity-Origin(e2,e1)", london, 0.7)]
    mapping = RDFMapping(relation_iris={"colleague_of": "http://ex.org/colleague"})
    batch = DocConverter(mapping, ner_agent="ner", rel_agent="re", rel_version="2").convert(
        doc, "d", offset=100)
    rels = [(q, p) for q, p in batch if q[1] not in (RDF.type, RDFS.label)]
    assert len(rels) == 2
    (q1, p1), (q2, _p2) = rels
    assert q1[1] == URIRef("http://ex.org/colleague") and p1.confidence == 0.9
    assert p1.agent == "re" and p1.version == "2"
    assert (p1.start, p1.end) == (100 + ada.start_char, 100 + charles.end_char)
    assert json.loads(p1.detail)["head"] == [100 + ada.start_char, 100 + ada.end_char]
    # (e2,e1) label: London is the head
    assert str(q2[0]).endswith("/london") and str(q2[1]).endswith("/Entity-Origin")
    assert all(p is not None for _, p in batch)


def test_rel_scores_threshold_and_dropped_labels(doc) -> None:
    ada, charles, london = doc.ents
    doc._.relations = None
    doc._.rel = {(ada.start, charles.start): {"knows": 0.8, "None": 0.2},
                 (ada.start, london.start): {"born_in": 0.4, "None": 0.6},
                 (charles.start, london.start): {"lives_in": 0.7, "None": 0.3}}
    mapping = RDFMapping(relation_iris={"lives_in": None}, threshold=0.5)
    batch = doc_to_batch(doc, "d", mapping)
    preds = {str(q[1]) for q, _ in batch if q[1] not in (RDF.type, RDFS.label)}
    assert preds == {"urn:kg-engine:relation/knows"}


def test_rdf_threshold_filters_the_models_decisions(doc) -> None:
    ada, charles, london = doc.ents
    doc._.relations = [(ada, "knows", charles, 0.95), (charles, "lives_in", london, 0.45)]

    def preds(mapping: RDFMapping) -> set[str]:
        batch = doc_to_batch(doc, "d", mapping)
        return {str(q[1]).rsplit("/", 1)[1] for q, _ in batch if q[1] not in (RDF.type, RDFS.label)}

    # default: the model's own (possibly dev-tuned, < 0.5) decision stands
    assert preds(RDFMapping()) == {"knows", "lives_in"}
    # a stricter floor for open-domain text drops the weak relation
    assert preds(RDFMapping(threshold=0.9)) == {"knows"}


def test_named_graph_and_no_labels(doc) -> None:
    batch = doc_to_batch(doc, "d", RDFMapping(graph="urn:g", label_triples=False,
                                              class_iris={"Person": "http://schema.org/Person"}))
    assert {q[3] for q in batch.quads} == {URIRef("urn:g")}
    assert all(q[1] == RDF.type for q in batch.quads)
    assert URIRef("http://schema.org/Person") in {q[2] for q in batch.quads}


def test_doc_without_sentences_or_entities() -> None:
    d = spacy.blank("en")("Nothing here.")
    assert len(doc_to_batch(d, "x")) == 0
    d.ents = [Span(d, 0, 1, "Thing")]
    (_, prov), *_ = list(doc_to_batch(d, "x"))
    assert prov.sentence == 0 and prov.text == "Nothing here."


def test_mapping_from_config() -> None:
    assert RDFMapping.from_config({"threshold": 0.7}).threshold == 0.7
    with pytest.raises(ConfigError, match="thresold"):
        RDFMapping.from_config({"thresold": 0.7})


def _mixed_label_doc(labels: list[str]) -> Doc:
    """A fake NER: one name mentioned once per sentence, labelled from ``labels`` in order."""
    nlp = spacy.blank("en")
    words, spaces, starts, ents = [], [], [], []
    for label in labels:
        start = len(words)
        words += ["Halvorsen", "Robotics", "builds", "drones", "."]
        spaces += [True, True, True, False, True]
        starts += [True, False, False, False, False]
        ents.append((start, label))
    doc = Doc(nlp.vocab, words=words, spaces=spaces, sent_starts=starts)
    doc.ents = [Span(doc, s, s + 2, label) for s, label in ents]
    return doc


@pytest.mark.parametrize("labels, winner", [
    (["Organization", "Person", "Organization"], "Organization"),
    (["Person", "Organization", "Organization"], "Organization"),
    (["Person", "Organization", "Person", "Organization"], "Person"),  # tie: first mention's
    (["Organization", "Person", "Person", "Organization"], "Organization"),
])
def test_one_name_is_one_entity_with_the_majority_type(labels, winner) -> None:
    batch = doc_to_batch(_mixed_label_doc(labels), "d1")
    entities = {q[0] for q, _ in batch if q[1] == RDF.type}
    assert entities == {URIRef(f"urn:kg-engine:entity/{winner}/halvorsen_robotics")}
    types = [(q[2], prov) for q, prov in batch if q[1] == RDF.type]
    assert {o for o, _ in types} == {URIRef(f"urn:kg-engine:class/{winner}")}
    # every mention keeps its provenance, with its own NER label
    details = sorted((prov.sentence, json.loads(prov.detail)) for _, prov in types)
    assert [d["label"] for _, d in details] == labels
    assert [d.get("type", d["label"]) for _, d in details] == [winner] * len(labels)
    assert [s for s, _ in details] == list(range(len(labels)))


def test_entity_linked_to_the_graph_by_two_labels_gets_one_type() -> None:
    from kg_engine.extraction.linking import EntityLinker

    nlp = spacy.blank("en")
    d = nlp("Ada Lovelace wrote notes . Lovelace met Ada Lovelace in London .")
    d.ents = [Span(d, 0, 2, "Person"), Span(d, 5, 6, "Organization"),
              Span(d, 7, 9, "Person"), Span(d, 10, 11, "Location")]
    linker = EntityLinker(known={"Ada Lovelace": "urn:kb:ada", "Lovelace": "urn:kb:ada"})
    batch = DocConverter(linker=linker).convert(d, "d1")
    types = {(q[0], q[2]) for q, _ in batch if q[1] == RDF.type}
    assert types == {(URIRef("urn:kb:ada"), URIRef("urn:kg-engine:class/Person")),
                     (URIRef("urn:kg-engine:entity/Location/london"),
                      URIRef("urn:kg-engine:class/Location"))}


def test_alias_mentions_join_their_entity_with_one_label_and_type() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    d = nlp("Marisol Ortega is a chemist . Ortega was born in Lima .")
    d.ents = [Span(d, 0, 2, "Person"), Span(d, 6, 7, "Person"), Span(d, 10, 11, "Location")]
    _, ortega, lima = d.ents
    d._.relations = [(ortega, "P19", lima, 0.8, {"predicate": "http://wd/P19"})]
    batch = doc_to_batch(d, "d")
    person = URIRef("urn:kg-engine:entity/Person/marisol_ortega")
    assert {str(o) for (s, p, o, _g), _ in batch if s == person and p == RDFS.label} == \
        {"Marisol Ortega"}
    assert len({o for (s, p, o, _g), _ in batch if s == person and p == RDF.type}) == 1
    rel = [(q, prov) for q, prov in batch if q[1] == URIRef("http://wd/P19")]
    assert [q[0] for q, _ in rel] == [person]
    # the alias mention's own span stays in the provenance of the label it contributed
    spans = {d.text[p.start:p.end] for (s, pr, _o, _g), p in batch
             if s == person and pr == RDFS.label}
    assert spans == {"Marisol Ortega", "Ortega"}
    alt = [(str(o), d.text[p.start:p.end]) for (s, pr, o, _g), p in batch if pr == SKOS.altLabel]
    assert alt == [("Ortega", "Ortega")]
