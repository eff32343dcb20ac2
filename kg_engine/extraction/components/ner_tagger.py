"""The ``kg_ner_tagger`` spaCy component: a PyTorch BiLSTM-CRF named-entity recogniser.

A ``TrainablePipe`` that tags tokens with BIO labels learned from the training data and sets
``doc.ents`` (it replaces any entities already there). The scorer is the registered architecture
``kg_engine.BiLSTMCRFTagger.v1`` (:mod:`kg_engine.extraction.taggers.bilstm_crf`: word
embeddings — random or MiniLM-derived static vectors —, char CNN, case/shape, optional spaCy
tags, optional pretrained Transformer, frozen or fine-tuned).

* Tags each sentence (``doc.sents`` when sentence boundaries are set, else the whole Doc).
* Confidence: every predicted entity gets the mean CRF posterior marginal of its tags
  (forward–backward), readable as ``span._.kg_confidence`` (also in
  ``doc._.kg_ent_confidence[(start, end, label)]``); it is what
  :mod:`kg_engine.extraction.to_rdf` stores as the entity triple's confidence.
* Saved as ``meta.json`` (labels, vocabularies) + ``model.pt`` (state dict, loaded with
  ``torch.load(weights_only=True)``); ``spacy.load(dir)`` works once kg-engine is installed
  (entry point ``spacy_factories``).

Example:
    >>> import spacy
    >>> import kg_engine.extraction.components  # registers the factory
    >>> nlp = spacy.blank("en")
    >>> tagger = nlp.add_pipe("kg_ner_tagger")
    >>> tagger.cfg["batch_size"]
    32
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Config

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.serialization import (
    pack_bytes,
    read_dir,
    unpack_bytes,
    write_dir,
)
from kg_engine.extraction.taggers import TAGGERS, BiLSTMCRFTagger, bio_encode, bio_spans

__all__ = ["FORMAT_VERSION", "NERTagger", "make_ner_tagger"]

FORMAT_VERSION = 1

if not Doc.has_extension("kg_ent_confidence"):
    Doc.set_extension("kg_ent_confidence", default=None)


def _span_confidence(span: Span) -> float | None:
    scores = span.doc._.kg_ent_confidence
    return None if scores is None else scores.get((span.start, span.end, span.label_))


if not Span.has_extension("kg_confidence"):
    Span.set_extension("kg_confidence", getter=_span_confidence)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "kg_engine.BiLSTMCRFTagger.v1"
word_width = 100
pretrained_vectors = ""
char_filters = 50
shape_width = 10
hidden = 200
dropout = 0.5
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


class NERTagger(TrainablePipe):
    """spaCy trainable pipe: BIO tagging with a PyTorch BiLSTM-CRF, writes ``doc.ents``.

    Args:
        vocab: the pipeline's vocabulary.
        model: an unbuilt :class:`~kg_engine.extraction.taggers.bilstm_crf.BiLSTMCRFTagger`.
        name: component name.
        labels: entity labels; empty = taken from the training data in :meth:`initialize`.
        learn_rate: Adam learning rate used when :meth:`update` gets no torch optimizer.
        batch_size: sentences per forward pass at prediction time.

    Raises:
        ConfigError: ``model`` is not a tagger architecture.
    """

    def __init__(self, vocab: Vocab, model: BiLSTMCRFTagger, name: str = "kg_ner_tagger", *,
                 labels: Sequence[str] = (), learn_rate: float = 1e-3, batch_size: int = 32) -> None:
        if not isinstance(model, BiLSTMCRFTagger):
            raise ConfigError(
                f"{name}: model must be a tagger architecture; valid: {', '.join(TAGGERS)}"
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg: dict[str, Any] = {"labels": list(labels), "learn_rate": float(learn_rate),
                                    "batch_size": int(batch_size)}
        self._optimizer: torch.optim.Optimizer | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The entity labels."""
        return tuple(self.cfg["labels"])

    def add_label(self, label: str) -> int:
        """Add an entity label before :meth:`initialize` (returns 1 if added, else 0)."""
        if self.model.built:
            raise ModelError(f"{self.name}: cannot add label {label!r} to an initialised model")
        if label in self.cfg["labels"]:
            return 0
        self.cfg["labels"].append(label)
        return 1

    def _require_model(self) -> BiLSTMCRFTagger:
        if not self.model.built:
            raise ModelError(
                f"{self.name}: the NER tagger is not initialised; call nlp.initialize() with "
                "training examples or load a trained pipeline"
            )
        return self.model

    @staticmethod
    def _units(doc: Doc) -> list[tuple[int, int]]:
        if doc.has_annotation("SENT_START"):
            return [(s.start, s.end) for s in doc.sents]
        return [(0, len(doc))] if len(doc) else []

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *,
                   nlp: Language | None = None, labels: list[str] | None = None) -> None:
        """Collect the entity labels and vocabularies from gold data; build the model.

        Raises:
            ConfigError: no entity label in the examples and none configured.
        """
        refs = [eg.reference for eg in get_examples()]
        if labels:
            self.cfg["labels"] = list(labels)
        elif not self.cfg["labels"]:
            self.cfg["labels"] = sorted({e.label_ for d in refs for e in d.ents})
        if not self.cfg["labels"]:
            raise ConfigError(f"{self.name}: no entity labels in the training examples or config")
        sentences = [[t.text for t in d[a:b]] for d in refs for a, b in self._units(d)]
        self.model.setup(sentences, self.cfg["labels"])
        self._optimizer = None

    # -- prediction ---------------------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> list[list[tuple[int, int, str, float]]]:
        """Entities ``(start, end, label, confidence)`` per Doc (token offsets in the Doc)."""
        docs = list(docs)
        model = self._require_model()
        units = [(di, a, b) for di, d in enumerate(docs) for a, b in self._units(d)]
        out: list[list[tuple[int, int, str, float]]] = [[] for _ in docs]
        model.eval()
        step = self.cfg["batch_size"]
        tags = model.crf.tags
        with torch.no_grad():
            for lo in range(0, len(units), step):
                chunk = units[lo:lo + step]
                words = [[t.text for t in docs[di][a:b]] for di, a, b in chunk]
                em, mask = model.emissions(words)
                paths = model.crf.decode(em, mask)
                marg = model.crf.marginals(em, mask)
                for r, ((di, a, _b), path) in enumerate(zip(chunk, paths)):
                    for s, e, lab in bio_spans(tags, path):
                        conf = float(marg[r, torch.arange(s, e), torch.tensor(path[s:e])].mean())
                        out[di].append((a + s, a + e, lab, conf))
        return out

    def set_annotations(self, docs: Iterable[Doc], scores: list[list[tuple[int, int, str, float]]]) -> None:
        """Set ``doc.ents`` (replacing earlier ones) and ``doc._.kg_ent_confidence``."""
        for doc, ents in zip(docs, scores):
            doc.set_ents([Span(doc, s, e, label=lab) for s, e, lab, _c in ents], default="outside")
            doc._.kg_ent_confidence = {(s, e, lab): c for s, e, lab, c in ents}

    # -- training -----------------------------------------------------------------------
    def _gold(self, examples: Iterable[Example]) -> tuple[list[list[str]], list[list[int]]]:
        tags = self._require_model().crf.tags
        words, ys = [], []
        for eg in examples:
            ref = eg.reference
            for a, b in self._units(ref):
                spans = [(e.start - a, e.end - a, e.label_) for e in ref.ents if a <= e.start and e.end <= b]
                words.append([t.text for t in ref[a:b]])
                ys.append(bio_encode(tags, b - a, spans))
        return words, ys

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd: Any = None,
               losses: dict[str, float] | None = None) -> dict[str, float]:
        """One optimisation step (CRF negative log-likelihood) on the reference Docs' entities.

        Args:
            examples: training examples (gold entities in ``reference.ents``, gold tokens).
            drop: ignored (dropout rates are architecture hyper-parameters).
            sgd: a ``torch.optim.Optimizer``; anything else ⇒ an internal Adam (``learn_rate``).
            losses: accumulates the summed loss under the component name.

        Returns:
            The ``losses`` dict.
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        model = self._require_model()
        words, ys = self._gold(examples)
        pairs = [(w, y) for w, y in zip(words, ys) if w]
        if not pairs:
            return losses
        if isinstance(sgd, torch.optim.Optimizer):
            opt = sgd
        else:
            if self._optimizer is None:
                self._optimizer = torch.optim.Adam(
                    [p for p in model.parameters() if p.requires_grad], lr=self.cfg["learn_rate"])
            opt = self._optimizer
        model.train()
        loss = model.loss([w for w, _ in pairs], [y for _, y in pairs])
        opt.zero_grad()
        (loss / len(pairs)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses[self.name] += float(loss.item())
        return losses

    def get_loss(self, examples: Iterable[Example], scores: Any) -> tuple[float, Any]:
        """Summed CRF negative log-likelihood of the examples (no gradient is returned)."""
        model = self._require_model()
        words, ys = self._gold(examples)
        with torch.no_grad():
            return float(model.loss(words, ys).item()), None

    def finish_update(self, sgd: Any) -> None:
        """No-op: :meth:`update` already stepped the torch optimizer."""

    def use_params(self, params: dict) -> Any:
        from contextlib import nullcontext

        return nullcontext()

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """spaCy's entity scores (``ents_p/r/f``, ``ents_per_type``): strict span + type."""
        from spacy.scorer import get_ner_prf

        return get_ner_prf(list(examples))

    # -- serialisation ------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        model = self._require_model()
        return {"format_version": FORMAT_VERSION, "architecture": model.name, "cfg": self.cfg,
                "model_meta": model.meta()}

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save ``meta.json`` (labels, vocabularies) and ``model.pt`` (state dict)."""
        write_dir(path, self._meta(), self._require_model().state_dict())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> NERTagger:
        """Load what :meth:`to_disk` wrote.

        Raises:
            ModelError: a file is missing, corrupt or does not fit the configured architecture
                (the message names the file).
        """
        self._load(*read_dir(path, "kg_ner_tagger"))
        return self

    def _load(self, meta: Any, meta_name: str, load_state: Callable[[], Any], state_name: str) -> None:
        if (not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION
                or not isinstance(meta.get("model_meta"), dict)):
            raise ModelError(f"{meta_name}: unsupported or corrupt NER-tagger metadata")
        if meta.get("architecture") != self.model.name:
            raise ModelError(f"{meta_name}: saved with architecture {meta.get('architecture')!r} but "
                             f"the config builds {self.model.name!r}; use the saved config.cfg")
        self.cfg.update(meta["cfg"])
        try:
            self.model.setup(None, self.cfg["labels"], meta=meta["model_meta"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"{meta_name}: corrupt NER-tagger metadata ({exc})") from exc
        state = load_state()
        try:
            self.model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ModelError(f"{state_name}: weights do not fit the configured model ({exc})") from exc

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """Serialise metadata and weights (for ``nlp.to_bytes`` / pickling)."""
        return pack_bytes(self._meta(), self._require_model().state_dict())

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = ()) -> NERTagger:
        """Inverse of :meth:`to_bytes`.

        Raises:
            ModelError: corrupt data.
        """
        meta, load_state = unpack_bytes(bytes_data, f"{self.name} (NER tagger)")
        self._load(meta, "<bytes>", load_state, "<bytes>")
        return self



@Language.factory(
    "kg_ner_tagger",
    default_config={"model": DEFAULT_MODEL, "labels": [], "learn_rate": 0.001, "batch_size": 32},
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_ner_tagger(nlp: Language, name: str, model: Any, labels: list[str], learn_rate: float,
                    batch_size: int) -> NERTagger:
    """spaCy factory of :class:`NERTagger` (``nlp.add_pipe("kg_ner_tagger")``)."""
    return NERTagger(nlp.vocab, model, name, labels=labels, learn_rate=learn_rate,
                     batch_size=batch_size)
