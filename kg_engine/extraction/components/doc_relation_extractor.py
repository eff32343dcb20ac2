"""The ``kg_doc_relation_extractor`` spaCy component: document-level relations between entities.

* **Entities** are clusters of the NER's mentions (``doc.ents`` whose label the schema maps to a
  DocRED type): same normalised name, acronyms and short forms ("Curie" → "Marie Curie"),
  type-compatible only (:meth:`~kg_engine.extraction.linking.EntityLinker.link_doc`).
* **Candidates**: every ordered pair of entities in the document, whatever the distance (most
  Re-DocRED relations cross sentences); TIME/NUM entities are never heads.
* **Model**: :class:`~kg_engine.extraction.components.docre_model.DocREModel` (windowed MiniLM,
  or a BiLSTM + attention encoder learnt from scratch — the folder's ``meta.json`` says which;
  logsumexp mention pooling, localized context pooling, adaptive-threshold multi-label output,
  type constraints learned from training data), loaded from a folder written by
  :func:`~kg_engine.extraction.components.docre_model.save_docre`.
* **Decision**: relation ``r`` for a pair when ``sigmoid(logit_r − logit_TH) ≥ threshold``
  (0.5 = the learned threshold; raise it for precision) and ≥ the schema's per-relation
  threshold (``[schema.thresholds]``), and ``r`` is in the schema. Pairs whose entities share
  sentences only as items of one list ("Apple and Microsoft released …") get no relation
  (``skip_listed``); with ``same_sentence`` only pairs sharing a sentence get one
  (:mod:`kg_engine.extraction.cooccurrence`). With ``typed_literals`` a TIME/NUM tail must
  parse as a date/number ("six years" is no date of birth).
* **Evidence**: the sentences that mention both entities (ranked by the pair's context
  attention, at most ``max_evidence``), else the best-attended sentence of each entity.
* **Writes** ``doc._.relations``: one ``(head span, relation id, tail span, score, extra)`` per
  evidence sentence, ``extra = {"sentence": i, "evidence": [...], "object": Literal | None,
  "label": name}``; the spans are the entities' mentions in (or nearest to) that sentence, and
  ``object`` is the typed literal of a TIME/NUM tail (see :mod:`kg_engine.extraction.schema`).
  ``doc._.doc_relations`` keeps one record per decided relation (entity clusters, all scores).
  Relations already in ``doc._.relations`` (a sentence-level extractor before it) are kept.

Example (needs the shipped model, see ``data/models/docre_minilm``):
    >>> import spacy  # doctest: +SKIP
    >>> nlp = spacy.load("en_core_web_sm")  # doctest: +SKIP
    >>> nlp.add_pipe("kg_doc_relation_extractor", config={"model": "data/models/docre_minilm"})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from spacy.language import Language
from spacy.tokens import Doc, Span

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.docre_model import DocREModel
from kg_engine.extraction.components.entity_typer import ENCODING_KEY, encode_mentions
from kg_engine.extraction.cooccurrence import LISTED, pair_contexts
from kg_engine.extraction.encoders.doc_scratch import ScratchDocEncoder
from kg_engine.extraction.linking import EntityLinker
from kg_engine.extraction.schema import RelationSchema, load_schema

__all__ = ["DocRelation", "DocRelationExtractor", "quantize_docre"]

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)
if not Doc.has_extension("doc_relations"):
    Doc.set_extension("doc_relations", default=None)


@dataclass
class DocRelation:
    """One decided relation between two entity clusters (mention spans), with evidence."""

    head: list[Span]
    relation: str
    tail: list[Span]
    score: float
    evidence: list[int]


def quantize_docre(model: DocREModel) -> DocREModel:
    """int8 dynamic quantisation (``torch.ao.quantization.quantize_dynamic``) of every Linear
    (and the LSTM of a scratch encoder)."""
    from torch.ao.quantization import quantize_dynamic

    enc = model.encoder
    if isinstance(enc, ScratchDocEncoder):
        return quantize_dynamic(model, {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8)
    enc._frozen = [enc._frozen[0], *(quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
                                     for m in enc._frozen[1:])]
    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class DocRelationExtractor:
    """spaCy component (see module docstring).

    Args:
        nlp: the pipeline.
        name: component name.
        model: folder of a saved document relation model.
        schema: schema config file (default: the Wikidata schema shipped in
            ``pipelines/schemas/wikidata_redocred.cfg``).
        threshold: minimum ``sigmoid(logit_r − logit_TH)`` of a relation (≥ 0.5).
        max_evidence: most evidence sentences recorded per relation.
        max_entities: entities per document beyond which the rarest-mentioned are ignored
            (bounds the quadratic pair count).
        quantize: int8 dynamic quantisation of the model's Linear layers.
        skip_listed: no relation between entities that share sentences only as items of one
            coordinated list.
        same_sentence: relations only between entities that share a sentence.
        typed_literals: drop relations whose TIME/NUM tail does not parse as a date/number.
        trim_mentions: mentions without a leading article or trailing punctuation / "'s", as
            Re-DocRED marks them (the spans in the relations are the trimmed ones).

    Raises:
        ModelError: missing/corrupt model files (the error names the file).
        ConfigError: threshold outside [0.5, 1] or a schema relation the model does not know.
    """

    def __init__(self, nlp: Language, name: str, model: str, schema: str | None = None,
                 threshold: float = 0.5, max_evidence: int = 3, max_entities: int = 80,
                 quantize: bool = False, skip_listed: bool = True,
                 same_sentence: bool = False, typed_literals: bool = True,
                 trim_mentions: bool = False) -> None:
        if not 0.5 <= float(threshold) <= 1.0:
            raise ConfigError(f"{name}: threshold must be in [0.5, 1] (0.5 = the learned "
                              f"threshold class), got {threshold}")
        if not model:
            raise ModelError(f"{name}: no model folder given (config 'model')")
        path = Path(model)
        if not path.is_dir():
            raise ModelError(f"{path}: document relation model folder does not exist")
        self.name = name
        self.model_path = str(path)
        from kg_engine.extraction.components.entity_typer import shared_docre

        # one loaded model per folder: a kg_entity_typer on the same folder shares it (and the
        # document's encoding, see encode_mentions)
        self.model, self.meta = shared_docre(str(path.resolve()), bool(quantize))
        from kg_engine.extraction.pipeline import PIPELINES_DIR

        schema_path = Path(schema) if schema else PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg"
        self.schema: RelationSchema = load_schema(schema_path)
        self.schema.check_relations(self.model.relations)
        self._keep = torch.tensor([r in self.schema.relations for r in self.model.relations])
        self.threshold = float(threshold)
        self._min_score = torch.tensor([self.schema.threshold(r, self.threshold)
                                        for r in self.model.relations])
        self.skip_listed = bool(skip_listed)
        self.same_sentence = bool(same_sentence)
        self.typed_literals = bool(typed_literals)
        self.trim_mentions = bool(trim_mentions)
        self.max_evidence = int(max_evidence)
        self.max_entities = int(max_entities)
        self.version = f"{self.meta.get('format', 'docre')}:{path.name}"
        # organisation prefixes ("Acme" → "Acme Robotics") stay off: the Re-DocRED figures in
        # docs/benchmarks.md were measured without them
        self._linker = EntityLinker(base="urn:kg-engine:cluster/", type_aware=True,
                                    prefix_form_types=())

    # -- entities -----------------------------------------------------------------------------
    def clusters(self, doc: Doc) -> tuple[list[list[Span]], list[str]]:
        """Entity clusters (lists of mentions) and their DocRED types."""
        ents = [(_trimmed(e) if self.trim_mentions else e, self.schema.docred_type(e.label_))
                for e in doc.ents]
        ents = [(e, t) for e, t in ents if t is not None]
        iris = self._linker.link_doc([(e.text, t) for e, t in ents])
        groups: dict[Any, list[Span]] = {}
        types: dict[Any, str] = {}
        for (e, t), iri in zip(ents, iris):
            groups.setdefault(iri, []).append(e)
            types.setdefault(iri, t)
        keys = list(groups)
        if len(keys) > self.max_entities:
            keys = sorted(keys, key=lambda k: -len(groups[k]))[: self.max_entities]
            keys.sort(key=lambda k: groups[k][0].start)
        return [groups[k] for k in keys], [types[k] for k in keys]

    # -- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, doc: Doc) -> list[DocRelation]:
        clusters, types = self.clusters(doc)
        heads = [i for i, t in enumerate(types) if not self.schema.is_literal(t)]
        if len(clusters) < 2 or not heads:
            return []
        m = self.model
        # only pairs whose (head type, tail type) allows a relation of the schema (learned type
        # constraints): with a small schema most pairs, and many documents, are never encoded
        type_ids = torch.tensor([m.type_id(t) for t in types], dtype=torch.long)
        possible = (m.allowed[:, :, 1:] & self._keep).any(-1).tolist()
        untyped = {t for t, ty in enumerate(types) if self.typed_literals and self.schema.is_literal(ty)
                   and self.schema.literal(clusters[t][0].text, ty).datatype is None}
        candidates = [(h, t) for h in heads for t in range(len(clusters))
                      if t != h and t not in untyped and possible[type_ids[h]][type_ids[t]]]
        if candidates and (self.skip_listed or self.same_sentence):
            ctx = pair_contexts([t.text for t in doc], _sentence_index(doc),
                                [[(s.start, s.end) for s in c] for c in clusters])
            if self.same_sentence:
                candidates = [p for p in candidates if (min(p), max(p)) in ctx]
            if self.skip_listed:
                candidates = [p for p in candidates if ctx.get((min(p), max(p))) != LISTED]
        if not candidates:
            return []
        pairs = torch.tensor(candidates, dtype=torch.long).reshape(-1, 2)
        encoded = encode_mentions(m, [t.text for t in doc],
                                  [(s.start, s.end) for c in clusters for s in c], doc,
                                  [ty for c, ty in zip(clusters, types) for _s in c])
        enc, H, A = encoded["enc"], encoded["H"], encoded["A"]
        pos = [[encoded["pos"][(s.start, s.end)] for s in c] for c in clusters]
        logits = m.pair_logits(H, A, pos, type_ids, pairs)
        logits[:, 1:] = logits[:, 1:].masked_fill(~self._keep, -1e4)
        margin = float(torch.logit(torch.tensor(self.threshold)))
        min_score = self._min_score.tolist()
        decided = [[(r, sc) for r, sc in rels if sc >= min_score[r]]
                   for rels in m.decide(logits, margin)]
        sent_of_piece = self._sentence_of_piece(doc, enc.word_pos, len(enc.ids))
        out: list[DocRelation] = []
        for (h, t), rels in zip(pairs.tolist(), decided):
            if not rels:
                continue
            ev = self._evidence(doc, clusters[h], clusters[t], A, pos[h], pos[t], sent_of_piece)
            for r, score in rels:
                out.append(DocRelation(clusters[h], m.relations[r], clusters[t], score, ev))
        return out

    @staticmethod
    def _sentence_of_piece(doc: Doc, word_pos: Sequence[int], n: int) -> torch.Tensor:
        sent_of_token = _sentence_index(doc)
        out = torch.zeros(n, dtype=torch.long)
        for i, p in enumerate(word_pos):
            end = word_pos[i + 1] if i + 1 < len(word_pos) else n
            out[p:end] = sent_of_token[i]
        return out

    def _evidence(self, doc: Doc, hs: list[Span], ts: list[Span], A: torch.Tensor,
                  hp: Sequence[int], tp: Sequence[int], sent_of_piece: torch.Tensor) -> list[int]:
        sent_of_token = _sentence_index(doc)
        ah = A[:, list(hp), :].mean(1)
        at = A[:, list(tp), :].mean(1)
        ht = (ah * at).mean(0)
        n_sent = int(sent_of_piece.max()) + 1 if len(sent_of_piece) else 1
        mass = torch.zeros(n_sent).index_add_(0, sent_of_piece, ht).tolist()
        sh = {sent_of_token[s.start] for s in hs}
        st = {sent_of_token[s.start] for s in ts}
        both = sorted(sh & st, key=lambda i: -mass[i])
        if both:
            return sorted(both[: self.max_evidence])
        return sorted({max(sh, key=lambda i: mass[i]), max(st, key=lambda i: mass[i])})

    def __call__(self, doc: Doc) -> Doc:
        rels = self.predict(doc)
        doc.user_data.pop(ENCODING_KEY, None)  # an entity typer's encoding does not stay on the doc
        sent_of_token = _sentence_index(doc)
        flat: list[tuple[Span, str, Span, float, dict[str, Any]]] = []
        for rel in rels:
            tail_type = self.schema.docred_type(rel.tail[0].label_)
            obj = (self.schema.literal(rel.tail[0].text, tail_type)
                   if self.schema.is_literal(tail_type) else None)
            for s in rel.evidence:
                head = _nearest(rel.head, s, sent_of_token)
                tail = _nearest(rel.tail, s, sent_of_token)
                flat.append((head, rel.relation, tail, rel.score,
                             {"sentence": s, "evidence": rel.evidence, "object": obj,
                              "predicate": str(self.schema.relation_iri(rel.relation)),
                              "label": (self.schema.label(rel.relation)
                                        if self.schema.relation_label_triples else None),
                              "agent": self.name, "version": self.version}))
        doc._.doc_relations = rels
        # after a sentence-level extractor in the same pipeline: keep its relations too
        doc._.relations = list(doc._.relations or []) + flat
        return doc

    def pipe(self, docs: Any, batch_size: int = 16) -> Any:
        for doc in docs:
            yield self(doc)


_LEADING = {"the", "a", "an"}
_TRAILING = {"'s", "’s", "'", "’"}


def _trimmed(ent: Span) -> Span:
    """``ent`` without a leading article and trailing punctuation or possessive ending, as
    Re-DocRED marks mentions ("the United States" → "United States", "Derry," → "Derry");
    ``ent`` itself when nothing would be left.

    Example:
        >>> import spacy
        >>> doc = spacy.blank("en")("He left the United States's capital.")
        >>> _trimmed(Span(doc, 2, 6, "GPE")).text
        'United States'
    """
    start, end = ent.start, ent.end
    doc = ent.doc
    while start < end - 1 and doc[start].lower_ in _LEADING:
        start += 1
    while end > start + 1 and (doc[end - 1].is_punct or doc[end - 1].lower_ in _TRAILING):
        end -= 1
    if (start, end) == (ent.start, ent.end):
        return ent
    return Span(doc, start, end, label=ent.label_)


def _sentence_index(doc: Doc) -> list[int]:
    out = [0] * len(doc)
    if doc.has_annotation("SENT_START"):
        for i, s in enumerate(doc.sents):
            for t in range(s.start, s.end):
                out[t] = i
    return out


def _nearest(spans: list[Span], sent: int, sent_of_token: list[int]) -> Span:
    return min(spans, key=lambda s: (abs(sent_of_token[s.start] - sent), s.start))


@Language.factory(
    "kg_doc_relation_extractor",
    default_config={"model": None, "schema": None, "threshold": 0.5, "max_evidence": 3,
                    "max_entities": 80, "quantize": False, "skip_listed": True,
                    "same_sentence": False, "typed_literals": True, "trim_mentions": False},
)
def make_doc_relation_extractor(nlp: Language, name: str, model: str | None, schema: str | None,
                                threshold: float, max_evidence: int, max_entities: int,
                                quantize: bool, skip_listed: bool, same_sentence: bool,
                                typed_literals: bool, trim_mentions: bool) -> DocRelationExtractor:
    """Factory of ``kg_doc_relation_extractor`` (see :class:`DocRelationExtractor`)."""
    return DocRelationExtractor(nlp, name, model or "", schema, threshold, max_evidence,
                                max_entities, quantize, skip_listed, same_sentence,
                                typed_literals, trim_mentions)
