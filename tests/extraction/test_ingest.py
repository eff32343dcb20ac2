"""Tests of kg_engine.extraction.ingest: idempotent, replacing writes into the store."""

from __future__ import annotations

import spacy
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from kg_engine.extraction.corpus import Document
from kg_engine.extraction.ingest import as_documents, extract_into, graph_labels, known_hashes
from kg_engine.extraction.pipeline import ExtractionPipeline
from kg_engine.extraction.to_rdf import DocConverter


def _pipeline() -> ExtractionPipeline:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "Person", "pattern": p} for p in ("Ada", "Bob", "Cy")])
    return ExtractionPipeline("test", nlp, DocConverter.for_pipeline(nlp), 8, {})


def _snapshot(store):
    return sorted(store.triples((None, None, None)), key=str)


def test_rerun_is_idempotent_and_changed_docs_are_replaced(store) -> None:
    p = _pipeline()
    docs = [Document("d1", "Ada met Bob."), Document("d2", "Cy.")]
    r1 = extract_into(store, docs, p, progress=False)
    assert (r1.documents, r1.skipped, r1.added) == (2, 0, 6)
    before = _snapshot(store)
    prov_rows = store.db.fetchone("SELECT COUNT(*) FROM kg_provenance")[0]
    r2 = extract_into(store, docs, p, progress=False)
    assert (r2.documents, r2.skipped, r2.added) == (0, 2, 0)
    assert _snapshot(store) == before
    assert store.db.fetchone("SELECT COUNT(*) FROM kg_provenance")[0] == prov_rows
    # d1 changes: Bob leaves, Cy arrives; Cy stays supported by d2
    r3 = extract_into(store, [Document("d1", "Ada met Cy."), docs[1]], p, progress=False)
    assert (r3.documents, r3.replaced, r3.skipped) == (1, 1, 1)
    labels = {str(o) for _, _, o, _ in store.triples((None, RDFS.label, None))}
    assert labels == {"Ada", "Cy"}
    cy = URIRef("urn:kg-engine:entity/Person/cy")
    sources = {p.source for q in store.triples((cy, RDFS.label, None))
               for p in store.provenance_of(q)}
    assert sources == {"d1", "d2"}
    assert known_hashes(store)["d1"] == Document("d1", "Ada met Cy.").hash


def test_every_stored_triple_has_provenance(store) -> None:
    extract_into(store, [Document("d", "Ada and Bob. Cy.")], _pipeline(), progress=False)
    quads = list(store.triples((None, None, None)))
    assert quads and all(store.provenance_of(q) for q in quads)
    for q in quads:
        (prov,) = store.provenance_of(q)
        assert prov.kind == "extracted" and prov.source == "d" and prov.agent


def test_graph_labels_skip_ambiguous(store) -> None:
    store.add([(URIRef("urn:a"), RDFS.label, Literal("Ada")),
               (URIRef("urn:b"), RDFS.label, Literal("Bob")),
               (URIRef("urn:c"), RDFS.label, Literal("Bob"))])
    assert graph_labels(store) == {"Ada": "urn:a"}


def test_as_documents_mixes_texts_paths_and_records(tmp_path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("From a file.")
    docs = list(as_documents(["Plain text.", str(f), Document("x", "Doc."),
                              {"id": "r", "text": "Record."}]))
    assert [d.text for d in docs] == ["Plain text.", "From a file.", "Doc.", "Record."]
    assert docs[1].id == str(f) and docs[3].id == "r"
