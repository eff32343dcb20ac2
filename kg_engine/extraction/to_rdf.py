"""A processed spaCy ``Doc`` → :class:`~kg_engine.core.TripleBatch`, provenance on every triple.

For each entity mention (``doc.ents``) the batch gets

* ``<entity> rdf:type <class>`` — the class from the entity label (see
  :class:`~kg_engine.extraction.ner.LabelMap`), IRI from :attr:`RDFMapping.class_iris` or
  minted under :attr:`RDFMapping.class_base`;
* ``<entity> rdfs:label "name"@lang`` — the entity's longest name among its mentions in the
  document (an alias mention "Ortega" or "IBM" labels its entity "Marisol Ortega" or
  "International Business Machines"; each mention's own span is in its provenance), and
  ``<entity> skos:altLabel "alias"@lang`` for an alias mention ("Ortega", "IBM"), so
  ``link_to_graph`` links later documents' aliases too;

and for each predicted relation (``doc._.relations`` from ``kg_relation_extractor``, or
``doc._.rel`` scores above a threshold) ``<head> <predicate> <tail>`` with the predicate from
:attr:`RDFMapping.relation_iris` (``None`` drops a label) or minted under
:attr:`RDFMapping.relation_base`. SemEval-style directed labels (``Cause-Effect(e2,e1)``) are
turned round. Document-level extractors (``kg_doc_relation_extractor``) add a fifth element per
relation with the evidence sentence (one triple + provenance per evidence sentence), the
predicate IRI and label from their schema (``<predicate> rdfs:label "name"`` is emitted too),
and a typed literal replacing a date/number tail.

Every triple carries a :class:`~kg_engine.core.Provenance` with ``kind="extracted"``, the
document id, the sentence index, character offsets of the evidence in the document (the
mention, or the span from head to tail), the sentence text, the agent (component) and its
version, and the confidence where the model gives one; ``detail`` holds JSON with the
sentence's offsets and, for relations, the head and tail offsets.

Example:
    >>> import spacy
    >>> from spacy.tokens import Span
    >>> nlp = spacy.blank("en")
    >>> doc = nlp("Ada Lovelace worked with Charles Babbage.")
    >>> doc.ents = [Span(doc, 0, 2, "Person"), Span(doc, 4, 6, "Person")]
    >>> batch = doc_to_batch(doc, "doc-1")
    >>> len(batch), all(p is not None and p.source == "doc-1" for _, p in batch)
    (4, True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import RDF, RDFS, SKOS, Literal, URIRef

from kg_engine.core import DEFAULT_BASE, DEFAULT_GRAPH, Provenance, TripleBatch, mint_iri
from kg_engine.errors import ConfigError
from kg_engine.extraction.linking import ENTITY_BASE, EntityLinker, normalize_name

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc, Span

__all__ = ["NO_RELATION_LABELS", "DocConverter", "RDFMapping", "doc_to_batch"]

#: Labels that mean "no relation" and never become triples.
NO_RELATION_LABELS: frozenset[str] = frozenset(
    {"None", "NONE", "no_relation", "NA", "Other", "O", "no-relation"}
)


@dataclass
class RDFMapping:
    """How extracted entities and relations become IRIs.

    Attributes:
        entity_base: namespace of minted entity IRIs.
        class_base: namespace of class IRIs not listed in ``class_iris``.
        relation_base: namespace of predicate IRIs not listed in ``relation_iris``.
        class_iris: class name → IRI (e.g. ``{"Person": "http://schema.org/Person"}``).
        relation_iris: relation label → predicate IRI, or ``None`` to drop that label.
        type_triples: emit ``rdf:type`` triples.
        label_triples: emit ``rdfs:label`` triples.
        language: language tag of label literals ('' for none; default: the pipeline's).
        threshold: minimum probability of a relation to become a triple. ``None`` (default):
            the relation model's own decision (its dev-tuned threshold, ``doc._.relations``),
            and 0.5 for models that only fill ``doc._.rel``. Raise it for open-domain text,
            where a model trained on one dataset fires on mere co-occurrence
            (docs/benchmarks.md, "False-positive relations").
        graph: named graph for the triples (``None``: the default graph).
    """

    entity_base: str = ENTITY_BASE
    class_base: str = f"{DEFAULT_BASE}class/"
    relation_base: str = f"{DEFAULT_BASE}relation/"
    class_iris: dict[str, str] = field(default_factory=dict)
    relation_iris: dict[str, str | None] = field(default_factory=dict)
    type_triples: bool = True
    label_triples: bool = True
    language: str | None = None
    threshold: float | None = None
    graph: str | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> RDFMapping:
        """Build from a config section; unknown keys raise :class:`ConfigError`."""
        cfg = dict(cfg or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(
                f"unknown rdf mapping setting(s) {unknown}; valid: {sorted(known)}"
            )
        return cls(**cfg)

    def class_iri(self, name: str) -> URIRef:
        """IRI of the class ``name``."""
        if name in self.class_iris:
            return URIRef(self.class_iris[name])
        return mint_iri(name, base=self.class_base)

    def relation_iri(self, label: str) -> URIRef | None:
        """Predicate IRI of relation ``label`` (``None``: the label is dropped)."""
        if label in self.relation_iris:
            iri = self.relation_iris[label]
            return URIRef(iri) if iri else None
        return mint_iri(label, base=self.relation_base)


def _direction(label: str) -> tuple[str, bool]:
    """``("Cause-Effect", reversed)`` for ``"Cause-Effect(e2,e1)"``."""
    if label.endswith("(e2,e1)"):
        return label[: -len("(e2,e1)")], True
    if label.endswith("(e1,e2)"):
        return label[: -len("(e1,e2)")], False
    return label, False


class DocConverter:
    """Converts processed docs to triple batches with provenance.

    Args:
        mapping: IRI mapping (default :class:`RDFMapping`).
        linker: entity linker (default: one minting under ``mapping.entity_base``).
        ner_agent: agent recorded for entity triples (default: the pipeline's name).
        ner_version: its version.
        rel_agent: agent recorded for relation triples.
        rel_version: its version.
    """

    def __init__(
        self,
        mapping: RDFMapping | None = None,
        linker: EntityLinker | None = None,
        *,
        ner_agent: str = "spacy-ner",
        ner_version: str | None = None,
        rel_agent: str = "kg_relation_extractor",
        rel_version: str | None = None,
        language: str = "en",
    ) -> None:
        self.mapping = mapping or RDFMapping()
        self.linker = linker or EntityLinker(base=self.mapping.entity_base)
        self.ner_agent = ner_agent
        self.ner_version = ner_version
        self.rel_agent = rel_agent
        self.rel_version = rel_version
        lang = self.mapping.language if self.mapping.language is not None else language
        self.language = lang or None

    @classmethod
    def for_pipeline(
        cls, nlp: Language, mapping: RDFMapping | None = None,
        linker: EntityLinker | None = None,
    ) -> DocConverter:
        """A converter whose agents/versions come from ``nlp``'s meta and components."""
        meta = nlp.meta
        name = f"spacy:{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}"
        rel_version = None
        if "kg_relation_extractor" in nlp.pipe_names:
            comp = nlp.get_pipe("kg_relation_extractor")
            rel_version = str(getattr(comp, "version", None) or meta.get("version", ""))
        return cls(mapping, linker, ner_agent=name, ner_version=str(meta.get("version", "")),
                   rel_version=rel_version or str(meta.get("version", "")),
                   language=nlp.lang)

    def sentences(self, doc: Doc) -> list[tuple[int, int]]:
        """Token (start, end) of each sentence (one sentence if none are set)."""
        if doc.has_annotation("SENT_START"):
            return [(s.start, s.end) for s in doc.sents]
        return [(0, len(doc))]

    def convert(self, doc: Doc, doc_id: str, *, offset: int = 0, first_sentence: int = 0) -> TripleBatch:
        """The triples of one processed document.

        Args:
            doc: a doc that went through NER (and optionally the relation extractor).
            doc_id: the document id recorded as provenance ``source``.
            offset: added to every character offset (when ``doc`` is a slice of the source).
            first_sentence: added to every sentence index (the sentences of the source's
                earlier slices).

        Returns:
            A :class:`TripleBatch` whose every quad has a :class:`Provenance`.
        """
        m = self.mapping
        graph = URIRef(m.graph) if m.graph else DEFAULT_GRAPH
        batch = TripleBatch(graph=graph, provenance=[])
        sents = self.sentences(doc)
        sent_of_token = [0] * len(doc)
        for i, (s, e) in enumerate(sents):
            for t in range(s, e):
                sent_of_token[t] = i
        ents = list(doc.ents)
        # one type per name and document (majority of its mentions' labels); each mention's
        # own NER label stays in its provenance
        named = self.linker.link_doc_named([(e.text, e.label_) for e in ents])
        linked = [(iri, ty) for iri, ty, _ in named]
        iris = [iri for iri, _ in linked]
        iri_by_start = {e.start: iri for e, iri in zip(ents, iris)}
        ent_by_start = {e.start: e for e in ents}

        def sent_info(token: int) -> tuple[int, int, int, str]:
            idx = sent_of_token[token] if len(doc) else 0
            s, e = sents[idx]
            span = doc[s:e]
            return first_sentence + idx, span.start_char, span.end_char, span.text

        for ent, (iri, type_, name) in zip(ents, named):
            idx, s0, s1, text = sent_info(ent.start)
            conf = _span_confidence(ent)
            info = {"sentence_start": offset + s0, "sentence_end": offset + s1,
                    "label": ent.label_}
            if type_ is not None and type_ != ent.label_:
                info["type"] = type_  # the name's majority type overrode this mention's label
            prov = Provenance(
                kind="extracted", source=doc_id, sentence=idx,
                start=offset + ent.start_char, end=offset + ent.end_char, text=text,
                agent=self.ner_agent, version=self.ner_version, confidence=conf,
                detail=json.dumps(info),
            )
            if m.type_triples:
                batch.add((iri, RDF.type, m.class_iri(type_ or ent.label_)), prov)
            if m.label_triples:
                # one label per entity: its longest name in the document ("Ortega" →
                # "Marisol Ortega"); the mention's own text stays in the provenance span
                batch.add((iri, RDFS.label, Literal(name, lang=self.language)), prov)
                if normalize_name(ent.text) != normalize_name(name):  # "IBM", "Ortega"
                    batch.add((iri, SKOS.altLabel, Literal(ent.text, lang=self.language)), prov)
        labelled: set[URIRef] = set()
        for head0, label, tail0, prob, extra in self._relations(doc, ent_by_start):
            # relation spans may predate span clean-up / label mapping: use the current entity
            obj = extra.get("object")
            head = _current(head0, ents)
            tail = tail0 if obj is not None else _current(tail0, ents)
            if head is None or tail is None or (obj is None and head.start == tail.start):
                continue  # an entity was dropped (e.g. a date) or both ends became one
            base, flipped = _direction(label)
            if flipped:
                head, tail = tail, head
            if base not in m.relation_iris and extra.get("predicate"):
                pred = URIRef(extra["predicate"])
            else:
                pred = m.relation_iri(base)
            if pred is None:
                continue
            h_iri = iri_by_start[head.start]
            t_obj = obj if obj is not None else iri_by_start[tail.start]
            if t_obj == h_iri:
                continue  # both names were linked to one entity ("Galway" / "County Galway")
            if "sentence" in extra:  # the evidence sentence chosen by a document-level model
                s_idx = int(extra["sentence"])
                span = doc[sents[s_idx][0]:sents[s_idx][1]]
                idx, s0, s1, text = first_sentence + s_idx, span.start_char, span.end_char, span.text
            else:
                idx, s0, s1, text = sent_info(min(head.start, tail.start))
            info: dict[str, Any] = {
                "sentence_start": offset + s0, "sentence_end": offset + s1,
                "relation": label,
                "head": [offset + head.start_char, offset + head.end_char],
                "tail": [offset + tail.start_char, offset + tail.end_char],
            }
            if extra.get("evidence") is not None:
                info["evidence"] = [first_sentence + int(i) for i in extra["evidence"]]
            prov = Provenance(
                kind="extracted", source=doc_id, sentence=idx,
                start=offset + min(head.start_char, tail.start_char),
                end=offset + max(head.end_char, tail.end_char), text=text,
                agent=extra.get("agent") or self.rel_agent,
                version=extra.get("version") or self.rel_version,
                confidence=min(1.0, max(0.0, float(prob))),
                detail=json.dumps(info),
            )
            batch.add((h_iri, pred, t_obj), prov)
            if extra.get("label") and m.label_triples and pred not in labelled:
                labelled.add(pred)
                batch.add((pred, RDFS.label, Literal(str(extra["label"]), lang=self.language)),
                          prov)
        return batch

    def _relations(
        self, doc: Doc, ent_by_start: Mapping[int, Span]
    ) -> Iterable[tuple[Span, str, Span, float, Mapping[str, Any]]]:
        """(head, label, tail, probability, extra) of the relations predicted for ``doc``.

        ``extra`` is the optional fifth element of a ``doc._.relations`` entry (document-level
        extractors): ``sentence`` (evidence sentence index), ``evidence``, ``object`` (a literal
        replacing the tail entity), ``predicate`` (IRI), ``label`` (predicate label), ``agent``,
        ``version``.
        """
        from spacy.tokens import Doc as _Doc

        floor = self.mapping.threshold
        if _Doc.has_extension("relations") and doc._.relations is not None:
            for head, label, tail, prob, *rest in doc._.relations:
                if label not in NO_RELATION_LABELS and (floor is None or prob >= floor):
                    yield head, label, tail, float(prob), (rest[0] if rest else {})
            return
        if not _Doc.has_extension("rel") or not doc._.rel:
            return
        for (hs, ts), scores in doc._.rel.items():
            head, tail = ent_by_start.get(hs), ent_by_start.get(ts)
            if head is None or tail is None or not scores:
                continue
            label, prob = max(scores.items(), key=lambda kv: kv[1])
            if label not in NO_RELATION_LABELS and prob >= (0.5 if floor is None else floor):
                yield head, label, tail, float(prob), {}


def _current(span: Span, ents: list[Span]) -> Span | None:
    """The entity of ``ents`` that ``span`` (maybe before clean-up) overlaps most."""
    best, overlap = None, 0
    for ent in ents:
        o = min(ent.end, span.end) - max(ent.start, span.start)
        if o > overlap:
            best, overlap = ent, o
    return best


def _span_confidence(span: Span) -> float | None:
    """A per-entity score if a component set one (``Span._.kg_confidence``), else ``None``."""
    from spacy.tokens import Span as _Span

    if _Span.has_extension("kg_confidence"):
        value = span._.kg_confidence
        if value is not None:
            return min(1.0, max(0.0, float(value)))
    return None


def doc_to_batch(
    doc: Doc,
    doc_id: str,
    mapping: RDFMapping | None = None,
    linker: EntityLinker | None = None,
    **kwargs: Any,
) -> TripleBatch:
    """Convenience wrapper: ``DocConverter(mapping, linker, **kwargs).convert(doc, doc_id)``."""
    return DocConverter(mapping, linker, **kwargs).convert(doc, doc_id)
