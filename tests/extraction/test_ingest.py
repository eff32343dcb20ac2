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


def test_graph_labels_take_the_names_the_explorer_shows(store) -> None:
    """A new user's catalogue names people with foaf:name ("J. R. R. Tolkien") and works with
    schema:name: kg extract --link minted new entities for "J. R. R. Tolkien" beside the
    catalogue's own, because linking read rdfs:label and SKOS labels only."""
    from rdflib import Namespace
    from rdflib.namespace import FOAF

    schema = Namespace("http://schema.org/")
    store.add([(URIRef("urn:tolkien"), FOAF.name, Literal("J. R. R. Tolkien")),
               (URIRef("urn:hobbit"), schema.name, Literal("The Hobbit", lang="en")),
               (URIRef("urn:ace"), RDFS.label, Literal("Ace Books"))])
    assert graph_labels(store) == {"J. R. R. Tolkien": "urn:tolkien", "The Hobbit": "urn:hobbit",
                                   "Ace Books": "urn:ace"}


def test_as_documents_mixes_texts_paths_and_records(tmp_path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("From a file.")
    docs = list(as_documents(["Plain text.", str(f), Document("x", "Doc."),
                              {"id": "r", "text": "Record."}]))
    assert [d.text for d in docs] == ["Plain text.", "From a file.", "Doc.", "Record."]
    assert docs[1].id == str(f) and docs[3].id == "r"


class _FailOn(DocConverter):
    """A converter that fails on one document (a crash mid-extraction)."""

    fail_on = "d3"

    def convert(self, doc, doc_id, **kwargs):  # type: ignore[override]
        if doc_id == self.fail_on:
            raise RuntimeError(f"converter failed on {doc_id}")
        return super().convert(doc, doc_id, **kwargs)


def _failing_pipeline(fail_on: str) -> ExtractionPipeline:
    p = _pipeline()
    conv = _FailOn.for_pipeline(p.nlp)
    conv.fail_on = fail_on
    return ExtractionPipeline("test", p.nlp, conv, 1, {})


def _state(store) -> tuple:
    """Everything an extraction writes: statements with their provenance, document records,
    tables."""
    quads = sorted((tuple(map(str, q)), sorted(map(repr, store.provenance_of(q))))
                   for q in store.triples((None, None, None)))
    docs = (store.db.fetchall("SELECT doc_id, hash, pipeline, triples FROM "
                              "kg_extraction_documents ORDER BY doc_id")
            if store.has_table("kg_extraction_documents") else None)
    return quads, docs


_DOCS = [Document("d1", "Ada met Bob."), Document("d2", "Cy."), Document("d3", "Bob and Cy."),
         Document("d4", "Ada.")]


def test_failure_mid_extraction_keeps_finished_documents_and_resumes(store_url) -> None:
    """Documents are committed one by one: a crash in d3 leaves d1 and d2 (triples and
    records, nothing of d3), and a re-run completes to exactly the uninterrupted result."""
    import pytest

    from kg_engine.store import SQLStore

    with SQLStore(store_url) as store:
        with pytest.raises(RuntimeError, match="failed on d3"):
            extract_into(store, _DOCS, _failing_pipeline("d3"), progress=False)
        interrupted = _state(store)
        assert [r[0] for r in interrupted[1]] == ["d1", "d2"]
        resumed = extract_into(store, _DOCS, _pipeline(), progress=False)
        assert (resumed.documents, resumed.skipped) == (2, 2)
        final = _state(store)
    with SQLStore(store_url.replace("kg.sqlite", "ref.sqlite")
                  if "kg.sqlite" in store_url else "sqlite://") as ref:
        extract_into(ref, _DOCS[:2], _pipeline(), progress=False)
        assert _state(ref) == interrupted
        extract_into(ref, _DOCS, _pipeline(), progress=False)
        assert _state(ref) == final


def test_failure_in_the_first_document_leaves_the_store_as_it_was(store) -> None:
    store.add([(URIRef("urn:a"), RDFS.label, Literal("Ada"))])
    tables = store._tables()
    before = _state(store)
    try:
        extract_into(store, _DOCS, _failing_pipeline("d1"), progress=False)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the failing converter did not fail")
    assert store._tables() == tables  # not even the bookkeeping table was created
    assert _state(store) == before


def test_extraction_inside_a_callers_transaction_rolls_back_with_it(store) -> None:
    """The bookkeeping table's DDL joins the open transaction: it used to go through
    SQLAlchemy's create_all, which committed the caller's transaction half-way."""
    before = _state(store)
    try:
        with store.db.transaction():
            store.add([(URIRef("urn:a"), RDFS.label, Literal("Ada"))])
            extract_into(store, _DOCS, _failing_pipeline("d2"), progress=False)
    except RuntimeError as exc:
        assert "failed on d2" in str(exc)  # not "cannot rollback - no transaction is active"
    else:  # pragma: no cover
        raise AssertionError("the failing converter did not fail")
    assert _state(store) == before
    assert store.db.last_outcome == "rollback"


def test_a_document_written_meanwhile_by_another_run_is_not_written_twice(store,
                                                                         monkeypatch) -> None:
    """Two `kg extract` of one corpus at once: both read "nothing extracted yet", both
    extracted every document, and each triple got its evidence twice (402 provenance rows
    for 127 triples on the demo corpus)."""
    from kg_engine.extraction import ingest

    p = _pipeline()
    docs = [Document("d1", "Ada met Bob."), Document("d2", "Cy.")]
    extract_into(store, docs, p, progress=False)  # the other process, finished first
    prov_rows = store.db.fetchone("SELECT COUNT(*) FROM kg_provenance")[0]
    monkeypatch.setattr(ingest, "known_hashes", lambda store: {})  # read before it committed
    again = extract_into(store, docs + [Document("d3", "Bob.")], p, progress=False)
    assert (again.documents, again.skipped, again.replaced) == (1, 2, 0)
    assert store.db.fetchone("SELECT COUNT(*) FROM kg_provenance")[0] == prov_rows + 2
    # a document changed meanwhile is still replaced, not added to
    monkeypatch.setattr(ingest, "known_hashes", lambda store: {})
    changed = extract_into(store, [Document("d1", "Ada met Cy.")], p, progress=False)
    assert (changed.documents, changed.replaced) == (1, 1)
    sources = {prov.source for q in store.triples((None, RDFS.label, None))
               for prov in store.provenance_of(q)}
    assert sources == {"d1", "d2", "d3"}
    bob = URIRef("urn:kg-engine:entity/Person/bob")
    assert {prov.source for q in store.triples((bob, RDFS.label, None))
            for prov in store.provenance_of(q)} == {"d3"}


def _folder_run(store, folder, p, *, split="none", prune=False):
    from kg_engine.extraction.corpus import CorpusReport

    report = CorpusReport()
    return extract_into(store, as_documents(str(folder), split=split, report=report), p,
                        progress=False, report=report, prune=prune)


def test_documents_a_file_no_longer_holds_are_removed(store, tmp_path) -> None:
    """A file emptied, or with a paragraph fewer, kept its old documents' triples: stale
    facts citing text that is not there any more."""
    (tmp_path / "a.txt").write_text("Ada.\n\nBob.\n")
    (tmp_path / "b.txt").write_text("Cy.")
    p = _pipeline()
    assert _folder_run(store, tmp_path, p, split="paragraphs").documents == 3
    (tmp_path / "a.txt").write_text("Ada.\n")
    (tmp_path / "b.txt").write_text("  \n")
    res = _folder_run(store, tmp_path, p, split="paragraphs")
    assert (res.documents, res.skipped, res.deleted) == (0, 1, 2)
    assert set(known_hashes(store)) == {f"{tmp_path / 'a.txt'}#p0"}
    labels = {str(o) for _, _, o, _ in store.triples((None, RDFS.label, None))}
    assert labels == {"Ada"}


def test_a_moved_paragraph_is_extracted_again_with_its_new_offsets(store, tmp_path) -> None:
    """Its text unchanged, a paragraph moved down was skipped: its provenance kept the old
    offsets, which sliced other text of the file."""
    f = tmp_path / "a.txt"
    f.write_text("Ada met Bob.\n")
    p = _pipeline()
    _folder_run(store, tmp_path, p, split="paragraphs")
    f.write_text("\n\n\nAda met Bob.\n")
    assert _folder_run(store, tmp_path, p, split="paragraphs").documents == 1
    ada = URIRef("urn:kg-engine:entity/Person/ada")
    (prov,) = {pv for q in store.triples((ada, RDFS.label, None))
               for pv in store.provenance_of(q)}
    assert f.read_text()[prov.start:prov.end] == "Ada"


def test_deleted_files_are_kept_and_counted_until_prune(store, tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Ada.")
    (tmp_path / "b.txt").write_text("Bob.")
    p = _pipeline()
    extract_into(store, [Document("elsewhere", "Cy.")], p, progress=False)
    _folder_run(store, tmp_path, p)
    (tmp_path / "sub" / "a.txt").unlink()
    res = _folder_run(store, tmp_path, p)
    assert (res.missing, res.deleted) == (1, 0)
    assert str(tmp_path / "sub" / "a.txt") in known_hashes(store)
    res = _folder_run(store, tmp_path, p, prune=True)
    assert (res.missing, res.deleted) == (0, 1)
    # documents of other inputs are never touched
    assert set(known_hashes(store)) == {"elsewhere", str(tmp_path / "b.txt")}


def test_only_a_files_own_documents_go_with_it(store, tmp_path, monkeypatch) -> None:
    """A file named `text` read now must not take the documents `text:<hash>` of strings
    with it (`:<line>` ids are a JSONL/CSV file's)."""
    from kg_engine.extraction.corpus import CorpusReport

    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").write_text("Ada.")
    p = _pipeline()
    extract_into(store, [Document("text:123", "Cy.")], p, progress=False)
    report = CorpusReport()
    res = extract_into(store, as_documents(["text"], report=report), p, progress=False,
                       report=report, prune=True)
    assert (res.documents, res.deleted) == (1, 0)
    assert set(known_hashes(store)) == {"text", "text:123"}


def test_a_document_removed_and_back_is_extracted_again_despite_the_checkpoint(
        store, tmp_path) -> None:
    """The checkpoint still named a document removed since (its file emptied): when the
    file got its text back, the run skipped it and the store never had it again."""
    ckpt = tmp_path / "ckpt.jsonl"
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.txt").write_text("Ada met Bob.")
    (folder / "b.txt").write_text("Cy.")
    p = _pipeline()
    from kg_engine.extraction.corpus import CorpusReport

    def run():
        report = CorpusReport()
        return extract_into(store, as_documents(str(folder), report=report), p,
                            progress=False, report=report, checkpoint=str(ckpt))

    run()
    (folder / "a.txt").write_text("")
    assert run().deleted == 1
    (folder / "a.txt").write_text("Ada met Bob.")
    assert run().documents == 1
    assert str(folder / "a.txt") in known_hashes(store)


def test_a_folder_given_absolute_or_relative_is_one_set_of_documents(store, tmp_path, monkeypatch) -> None:
    # ids were the paths as given: `kg extract corpus` then `kg extract /abs/corpus` stored
    # (and extracted) every file twice
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Ada met Bob.")
    p = _pipeline()
    assert _folder_run(store, "corpus", p).documents == 1
    before = _snapshot(store)
    for given in (tmp_path / "corpus", "./corpus/", "corpus/../corpus"):
        res = _folder_run(store, given, p)
        assert (res.documents, res.missing, res.deleted) == (0, 0, 0), given
    assert set(known_hashes(store)) == {"corpus/a.txt"}
    assert _snapshot(store) == before


def test_documents_stored_under_the_path_as_given_are_renamed_not_extracted_twice(
        store, tmp_path, monkeypatch) -> None:
    # a store written before ids were normalised holds `/abs/corpus/a.txt`: the run names the
    # document `corpus/a.txt` now, and renames it (with its provenance) instead of adding it
    # again; a deleted file's document under the old id is its folder's (kept, then pruned)
    from kg_engine.extraction.corpus import CorpusReport

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    for name, text in (("a.txt", "Ada met Bob."), ("b.txt", "Cy.")):
        (tmp_path / "corpus" / name).write_text(text)
    old = str(tmp_path / "corpus")
    p = _pipeline()
    docs = [Document(f"{old}/a.txt", "Ada met Bob."), Document(f"{old}/b.txt", "Cy.")]
    extract_into(store, docs, p, progress=False)  # as the former ids had it
    before = _snapshot(store)
    (tmp_path / "corpus" / "b.txt").unlink()
    report = CorpusReport()
    res = extract_into(store, as_documents(old, report=report), p, progress=False, report=report)
    assert (res.added, res.missing, res.deleted) == (0, 1, 0)
    assert set(known_hashes(store)) == {"corpus/a.txt", f"{old}/b.txt"}
    assert _snapshot(store) == before
    sources = {prov.source for q in store.triples((None, None, None)) for prov in store.provenance_of(q)}
    assert sources == {"corpus/a.txt", f"{old}/b.txt"}
    res = _folder_run(store, old, p, prune=True)
    assert (res.deleted, set(known_hashes(store))) == (1, {"corpus/a.txt"})
