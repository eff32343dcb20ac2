"""The ``kg_relation_extractor`` spaCy component: entity pairs → relations with confidences.

It honours the contract of spaCy's ``rel_component`` tutorial (a ``TrainablePipe`` with
``predict / set_annotations / update / get_loss / initialize / score``; relations in
``doc._.rel``), with a PyTorch encoder chosen in the config (``kg_engine.CNNEncoder.v1``,
``…PCNNEncoder.v1``, ``…RNNEncoder.v1``, ``…TransformerEncoder.v1``,
``…PretrainedTransformerEncoder.v1``).

* **Reads** ``doc.ents``. Candidates are the unordered pairs of entities in the same sentence
  (``doc.sents`` when sentence boundaries are set, else the whole Doc) at most ``max_distance``
  tokens apart whose types fit at least one relation's ``type_constraints`` in one direction.
* **Classifies** each pair into ``relation→`` (first entity is the head), ``relation←`` or *no
  relation*; classes that violate the type constraints are masked out. Probabilities are
  calibrated by a temperature fitted on development data (:meth:`RelationExtractor.calibrate`).
* **Decides** per pair: the most probable *relation* class (either direction) is kept when its
  probability reaches the decision threshold of its label (``thresholds[label]``, else
  ``threshold``). With thresholds ≥ 0.5 this equals "argmax is a relation and ≥ threshold"; a
  threshold below 0.5 lets a relation win over a more probable *no relation*. Thresholds are
  tuned on development data by :meth:`RelationExtractor.tune_thresholds` (global or per label)
  and saved with the model.
* **Writes** ``doc._.rel[(head.start, tail.start)] = {label: probability}`` for both directions
  of every candidate, and ``doc._.relations = [(head_span, label, tail_span, probability)]``
  for the decided pairs.

Example:
    >>> import spacy
    >>> import kg_engine.extraction.components  # registers the factory
    >>> nlp = spacy.blank("en")
    >>> rel = nlp.add_pipe("kg_relation_extractor", config={"max_distance": 30})
    >>> rel.cfg["threshold"]
    0.5
"""

from __future__ import annotations

import math
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
from torch import nn

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.serialization import (
    pack_bytes,
    read_dir,
    unpack_bytes,
    write_dir,
)
from kg_engine.extraction.encoders import ENCODERS, PairBatch, RelationEncoder, Sentence
from kg_engine.extraction.training.scorers import doc_relation_tuples, strict_prf

__all__ = ["FORMAT_VERSION", "RelationExtractor", "RelationModel", "make_relation_extractor"]

FORMAT_VERSION = 1

if not Doc.has_extension("rel"):
    Doc.set_extension("rel", default=None)
if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "kg_engine.CNNEncoder.v1"
width = 100
pos_width = 20
filters = 230
windows = [3]
max_length = 100
dropout = 0.3
min_freq = 1
pretrained_vectors = ""
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


class RelationModel(nn.Module):
    """Encoder + entity-type embeddings + linear classifier over ``1 + 2·R`` classes.

    Shapes:
        ``forward(batch, type_ids [P, 2]) → logits [P, 1 + 2R]`` (class 0 = no relation,
        ``1..R`` = relation with the first entity as head, ``R+1..2R`` = reversed).
    """

    def __init__(self, encoder: RelationEncoder, n_types: int, n_labels: int,
                 type_width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        self.encoder = encoder
        self.type_embed = nn.Embedding(n_types + 1, type_width)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(encoder.out_dim + 2 * type_width, 1 + 2 * n_labels)

    def forward(self, batch: PairBatch, type_ids: torch.Tensor) -> torch.Tensor:
        r = self.encoder(batch)
        t = self.type_embed(type_ids).flatten(1)
        return self.out(torch.cat([r, self.drop(t)], dim=-1))


class _Candidates:
    """Candidate pairs of a list of Docs, in the encoder's input format."""

    def __init__(self) -> None:
        self.sentences: list[Sentence] = []
        self.pairs: list[tuple[int, int, int]] = []
        self.spans: list[tuple[int, Span, Span]] = []  # (doc index, first, second)
        self.types: list[tuple[int, int]] = []
        self.masks: list[list[bool]] = []

    def __len__(self) -> int:
        return len(self.pairs)

    def batch(self, lo: int, hi: int) -> tuple[PairBatch, torch.Tensor, torch.Tensor]:
        return (
            PairBatch(self.sentences, self.pairs[lo:hi]),
            torch.tensor(self.types[lo:hi], dtype=torch.long).reshape(-1, 2),
            torch.tensor(self.masks[lo:hi], dtype=torch.bool),
        )


class RelationExtractor(TrainablePipe):
    """spaCy trainable pipe scoring entity pairs with a PyTorch relation encoder.

    Args:
        vocab: the pipeline's vocabulary.
        model: an unbuilt :class:`~kg_engine.extraction.encoders.base.RelationEncoder`
            (from the ``[components.<name>.model]`` block).
        name: component name.
        labels: relation labels; empty = taken from the training data in :meth:`initialize`.
        type_constraints: ``{relation: [[head_type, tail_type], …]}``; a relation without an
            entry (or an empty dict) allows every type pair. Filled from the training data when
            empty and ``infer_type_constraints`` is true.
        infer_type_constraints: learn the constraints from the training data.
        use_entity_types: false ⇒ every entity is typed ``ENTITY`` (markers, type features and
            constraints ignore ``ent.label_``), for models trained on untyped data such as
            SemEval-2010 T8 and applied after any NER.
        max_distance: maximum number of tokens between the two entities of a candidate.
        threshold: minimum probability for ``doc._.relations`` (default decision threshold).
        thresholds: per-relation decision thresholds overriding ``threshold`` (usually filled
            by :meth:`tune_thresholds`).
        learn_rate: Adam learning rate used when ``update`` gets no torch optimizer.
        batch_size: candidate pairs per forward pass at prediction time.

    Raises:
        ConfigError: bad ``type_constraints`` shape or a threshold outside [0, 1].
    """

    def __init__(
        self,
        vocab: Vocab,
        model: RelationEncoder,
        name: str = "kg_relation_extractor",
        *,
        labels: Sequence[str] = (),
        type_constraints: dict[str, list[list[str]]] | None = None,
        infer_type_constraints: bool = True,
        use_entity_types: bool = True,
        max_distance: int = 60,
        threshold: float = 0.5,
        thresholds: dict[str, float] | None = None,
        learn_rate: float = 1e-3,
        batch_size: int = 256,
    ) -> None:
        if not isinstance(model, RelationEncoder):
            raise ConfigError(
                f"{name}: model must be a relation encoder architecture; valid: {', '.join(ENCODERS)}"
            )
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"{name}: threshold must be in [0, 1], got {threshold}")
        for lab, t in (thresholds or {}).items():
            if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0.0 <= t <= 1.0:
                raise ConfigError(f"{name}: thresholds[{lab!r}] must be a number in [0, 1], got {t!r}")
        constraints = {str(k): [[str(a), str(b)] for a, b in v] for k, v in (type_constraints or {}).items()}
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg: dict[str, Any] = {
            "labels": list(labels),
            "type_constraints": constraints,
            "infer_type_constraints": bool(infer_type_constraints),
            "use_entity_types": bool(use_entity_types),
            "max_distance": int(max_distance),
            "threshold": float(threshold),
            "thresholds": {str(k): float(v) for k, v in (thresholds or {}).items()},
            "learn_rate": float(learn_rate),
            "batch_size": int(batch_size),
            "temperature": 1.0,
            "types": [],
        }
        self.net: RelationModel | None = None
        self._optimizer: torch.optim.Optimizer | None = None

    # -- labels and candidates --------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """The relation labels (without direction)."""
        return tuple(self.cfg["labels"])

    def add_label(self, label: str) -> int:
        """Add a relation label before :meth:`initialize` (returns 1 if added, else 0)."""
        if self.net is not None:
            raise ModelError(f"{self.name}: cannot add label {label!r} to an initialised model")
        if label in self.cfg["labels"]:
            return 0
        self.cfg["labels"].append(label)
        return 1

    def _allowed(self, ta: str, tb: str) -> list[bool]:
        """Class mask for a pair whose first entity has type ``ta`` and second ``tb``."""
        cons = self.cfg["type_constraints"]
        fwd, bwd = [], []
        for lab in self.cfg["labels"]:
            sig = cons.get(lab)
            fwd.append(sig is None or [ta, tb] in sig)
            bwd.append(sig is None or [tb, ta] in sig)
        return [True, *fwd, *bwd]

    def _etype(self, ent: Span) -> str:
        return ent.label_ if self.cfg["use_entity_types"] else "ENTITY"

    def _type_id(self, t: str) -> int:
        types = self.cfg["types"]
        return types.index(t) + 1 if t in types else 0

    def candidates(self, docs: Sequence[Doc]) -> _Candidates:
        """Candidate pairs (same sentence, within ``max_distance``, type-compatible)."""
        c = _Candidates()
        maxd = self.cfg["max_distance"]
        for di, doc in enumerate(docs):
            ents = sorted(doc.ents, key=lambda e: (e.start, e.end))
            if len(ents) < 2:
                continue
            if doc.has_annotation("SENT_START"):
                groups: dict[int, list[Span]] = {}
                for e in ents:
                    groups.setdefault(e.sent.start, []).append(e)
                sents = [(e_list[0].sent, e_list) for e_list in groups.values()]
            else:
                sents = [(doc[:], ents)]
            for sent, sent_ents in sents:
                if len(sent_ents) < 2:
                    continue
                off = sent.start
                sentence = Sentence(
                    words=[t.text for t in sent],
                    spans=[(e.start - off, e.end - off) for e in sent_ents],
                    types=[self._etype(e) for e in sent_ents],
                )
                si = len(c.sentences)
                used = False
                for i, a in enumerate(sent_ents):
                    for j in range(i + 1, len(sent_ents)):
                        b = sent_ents[j]
                        if b.start - a.end > maxd:
                            break
                        ta, tb = self._etype(a), self._etype(b)
                        mask = self._allowed(ta, tb)
                        if not any(mask[1:]):
                            continue
                        used = True
                        c.pairs.append((si, i, j))
                        c.spans.append((di, a, b))
                        c.types.append((self._type_id(ta), self._type_id(tb)))
                        c.masks.append(mask)
                if used:  # sentences without candidates are not kept
                    c.sentences.append(sentence)
        return c

    def _gold_classes(self, cands: _Candidates, refs: Sequence[Doc]) -> list[int]:
        labels = self.cfg["labels"]
        n = len(labels)
        out = []
        for di, a, b in cands.spans:
            rels = refs[di]._.rel or {}
            cls = 0
            for lab, v in (rels.get((a.start, b.start)) or {}).items():
                if v >= 0.5 and lab in labels:
                    cls = 1 + labels.index(lab)
                    break
            if cls == 0:
                for lab, v in (rels.get((b.start, a.start)) or {}).items():
                    if v >= 0.5 and lab in labels:
                        cls = 1 + n + labels.index(lab)
                        break
            out.append(cls)
        return out

    # -- model building -----------------------------------------------------------------
    def _require_net(self) -> RelationModel:
        if self.net is None:
            raise ModelError(
                f"{self.name}: the relation extractor is not initialised; call nlp.initialize() "
                "with training examples or load a trained pipeline"
            )
        return self.net

    def _build_net(self, sentences: Sequence[Sentence] | None, meta: dict[str, Any] | None) -> None:
        self.model.setup(sentences, self.cfg["types"], meta=meta)
        self.net = RelationModel(self.model, len(self.cfg["types"]), len(self.cfg["labels"]))
        self._optimizer = None

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        labels: list | None = None,
    ) -> None:
        """Collect labels, entity types (and type constraints) from gold data; build the model.

        Args:
            get_examples: returns training :class:`~spacy.training.Example` objects whose
                reference Docs carry ``ents`` and ``._.rel``.
            nlp: the pipeline (unused; part of spaCy's contract).
            labels: explicit relation labels (default: config ``labels`` or the data's).

        Raises:
            ConfigError: the examples contain no relation and no labels were given.
        """
        refs = [eg.reference for eg in get_examples()]
        found: list[str] = []
        types: set[str] = set()
        sig: dict[str, set[tuple[str, str]]] = {}
        for doc in refs:
            by_start = {e.start: e for e in doc.ents}
            types.update(self._etype(e) for e in doc.ents)
            for (hs, ts), labs in (doc._.rel or {}).items():
                for lab, v in labs.items():
                    if v < 0.5:
                        continue
                    if lab not in found:
                        found.append(lab)
                    if hs in by_start and ts in by_start:
                        sig.setdefault(lab, set()).add((self._etype(by_start[hs]), self._etype(by_start[ts])))
        if labels:
            self.cfg["labels"] = list(labels)
        elif not self.cfg["labels"]:
            self.cfg["labels"] = sorted(found)
        if not self.cfg["labels"]:
            raise ConfigError(
                f"{self.name}: no relation labels: the training examples carry no doc._.rel "
                "annotations and the config has no 'labels'"
            )
        self.cfg["types"] = sorted(types)
        if not self.cfg["type_constraints"] and self.cfg["infer_type_constraints"]:
            self.cfg["type_constraints"] = {
                lab: sorted([list(p) for p in sig.get(lab, set())]) for lab in self.cfg["labels"]
                if sig.get(lab)
            }
        sentences = self.candidates(refs).sentences
        if not sentences:
            sentences = [Sentence(words=[t.text for t in d]) for d in refs]
        self._build_net(sentences, None)

    # -- prediction ---------------------------------------------------------------------
    def _logits(self, cands: _Candidates, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        net = self._require_net()
        batch, types, mask = cands.batch(lo, hi)
        logits = net(batch, types)
        return logits.masked_fill(~mask, -1e4), mask

    def predict(self, docs: Iterable[Doc]) -> tuple[_Candidates, torch.Tensor]:
        """Score every candidate pair; returns (candidates, probabilities ``[P, 1 + 2R]``)."""
        docs = list(docs)
        net = self._require_net()
        cands = self.candidates(docs)
        n_cls = 1 + 2 * len(self.cfg["labels"])
        if not len(cands):
            return cands, torch.zeros(0, n_cls)
        net.eval()
        out = []
        step = self.cfg["batch_size"]
        with torch.no_grad():
            for lo in range(0, len(cands), step):
                logits, _ = self._logits(cands, lo, lo + step)
                out.append(torch.softmax(logits / self.cfg["temperature"], dim=-1))
        return cands, torch.cat(out)

    def set_annotations(self, docs: Iterable[Doc], scores: tuple[_Candidates, torch.Tensor]) -> None:
        """Write ``doc._.rel`` (both directions, every label) and ``doc._.relations``."""
        docs = list(docs)
        cands, probs = scores
        labels = self.cfg["labels"]
        n = len(labels)
        thr = self.decision_thresholds()
        for doc in docs:
            doc._.rel = {}
            doc._.relations = []
        rows = probs.tolist()
        for (di, a, b), p in zip(cands.spans, rows):
            doc = docs[di]
            doc._.rel[(a.start, b.start)] = {lab: p[1 + k] for k, lab in enumerate(labels)}
            doc._.rel[(b.start, a.start)] = {lab: p[1 + n + k] for k, lab in enumerate(labels)}
            if n == 0:
                continue
            best = max(range(1, len(p)), key=p.__getitem__)  # most probable relation class
            lab = labels[(best - 1) % n]
            if p[best] < thr[lab] or p[best] <= 0.0:
                continue
            if best <= n:
                doc._.relations.append((a, lab, b, p[best]))
            else:
                doc._.relations.append((b, lab, a, p[best]))

    def decision_thresholds(self) -> dict[str, float]:
        """The decision threshold of every relation label (per-label value, else ``threshold``)."""
        per = self.cfg.get("thresholds") or {}
        return {lab: float(per.get(lab, self.cfg["threshold"])) for lab in self.cfg["labels"]}

    def tune_thresholds(
        self,
        docs: Sequence[Doc],
        refs: Sequence[Doc],
        *,
        mode: str = "global",
        grid: Sequence[float] | None = None,
        min_support: int = 20,
    ) -> dict[str, Any]:
        """Choose the decision threshold(s) that maximise strict F1 on development data.

        Every candidate pair keeps its most probable relation class whatever the threshold,
        so the predictions at threshold ``t`` are the pairs whose best relation probability is
        ≥ ``t``; each grid value is scored exactly (strict triples against ``refs``).

        Args:
            docs: development Docs with the entities the model will see in use (gold entities,
                or a NER's predictions for end-to-end tuning).
            refs: the gold Docs (``ents`` + ``._.rel``), aligned with ``docs``.
            mode: ``"global"`` (one threshold, maximising micro-F1) or ``"per_label"`` (the
                global one, then, for labels with ≥ ``min_support`` gold relations, the value
                maximising that label's F1). ``"none"`` only reports the current score.
            grid: candidate thresholds (default 0.05, 0.10, …, 0.95).
            min_support: gold relations a label needs on dev to get its own threshold.

        Returns:
            ``{"mode", "threshold", "thresholds", "dev_before": {micro_f1, macro_f1},
            "dev_after": {…}}``; the chosen values are stored in ``cfg`` (saved with the model).

        Raises:
            ConfigError: unknown ``mode``, or ``docs``/``refs`` of different lengths.
        """
        if mode not in ("global", "per_label", "none"):
            raise ConfigError(f"{self.name}: threshold tuning mode {mode!r} unknown; valid: global, per_label, none")
        if len(docs) != len(refs):
            raise ConfigError(f"{self.name}: tune_thresholds needs aligned docs and refs ({len(docs)} vs {len(refs)})")
        grid = sorted(grid) if grid is not None else [round(0.05 * k, 2) for k in range(1, 20)]
        labels = list(self.cfg["labels"])
        n = len(labels)
        cands, probs = self.predict(docs)
        gold = [doc_relation_tuples(r, gold=True) for r in refs]
        # (probability, doc index, strict triple) of every candidate's best relation class
        scored: list[tuple[float, int, tuple[Any, str, Any]]] = []
        for (di, a, b), p in zip(cands.spans, probs.tolist()):
            if n == 0:
                break
            best = max(range(1, len(p)), key=p.__getitem__)
            lab = labels[(best - 1) % n]
            h, t = (a, b) if best <= n else (b, a)
            scored.append((p[best], di, ((h.start, h.end, h.label_), lab, (t.start, t.end, t.label_))))

        def evaluate(thr: dict[str, float]) -> dict[str, Any]:
            pred: list[set[Any]] = [set() for _ in docs]
            for prob, di, trip in scored:
                if prob >= thr[trip[1]] and prob > 0.0:
                    pred[di].add(trip)
            return strict_prf(gold, pred, labels=labels)

        def summary(res: dict[str, Any]) -> dict[str, float]:
            return {"micro_f1": res["micro_f1"], "macro_f1": res["macro_f1"]}

        before = evaluate(self.decision_thresholds())
        out: dict[str, Any] = {"mode": mode, "dev_before": summary(before)}
        if mode != "none" and scored:
            # ties: prefer the value closest to 0.5 (the untuned default)
            by_closeness = sorted(grid, key=lambda t: (abs(t - 0.5), t))
            best_t = max(by_closeness, key=lambda t: evaluate(dict.fromkeys(labels, t))["micro_f1"])
            self.cfg["threshold"] = float(best_t)
            self.cfg["thresholds"] = {}
            if mode == "per_label":
                base = evaluate(dict.fromkeys(labels, best_t))["per_label"]
                per: dict[str, float] = {}
                for lab in labels:
                    if base[lab]["support"] < min_support:
                        continue
                    order = sorted(grid, key=lambda t: (abs(t - best_t), t))
                    t_lab = max(order, key=lambda t, lab=lab: evaluate(
                        {x: (t if x == lab else best_t) for x in labels})["per_label"][lab]["f1"])
                    if t_lab != best_t:
                        per[lab] = float(t_lab)
                self.cfg["thresholds"] = per
        after = evaluate(self.decision_thresholds())
        out.update(threshold=self.cfg["threshold"], thresholds=dict(self.cfg["thresholds"]),
                   dev_after=summary(after))
        return out

    # -- training -----------------------------------------------------------------------
    def get_loss(self, examples: Iterable[Example], scores: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Cross-entropy of ``scores`` (logits ``[P, C]`` over the candidates of the reference
        Docs) against the gold classes; returns (loss, gradient w.r.t. the logits)."""
        refs = [eg.reference for eg in examples]
        cands = self.candidates(refs)
        gold = torch.tensor(self._gold_classes(cands, refs), dtype=torch.long)
        probs = torch.softmax(scores.detach(), dim=-1)
        grad = probs.clone()
        grad[torch.arange(len(gold)), gold] -= 1.0
        loss = nn.functional.cross_entropy(scores.detach(), gold, reduction="sum").item()
        return loss, grad / max(1, len(gold))

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Any = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """One optimisation step on the candidate pairs of the examples' reference Docs.

        Args:
            examples: training examples (gold entities in ``reference.ents``, gold relations in
                ``reference._.rel``).
            drop: ignored (dropout rates are encoder hyper-parameters).
            sgd: a ``torch.optim.Optimizer`` over ``self.net``; anything else (e.g. the thinc
                optimizer ``nlp.update`` passes) ⇒ an internal Adam with ``learn_rate``.
            losses: accumulates the summed loss under the component name.

        Returns:
            The ``losses`` dict.
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        net = self._require_net()
        refs = [eg.reference for eg in examples]
        cands = self.candidates(refs)
        if not len(cands):
            return losses
        gold = torch.tensor(self._gold_classes(cands, refs), dtype=torch.long)
        if isinstance(sgd, torch.optim.Optimizer):
            opt = sgd
        else:
            if self._optimizer is None:
                self._optimizer = torch.optim.Adam(net.parameters(), lr=self.cfg["learn_rate"])
            opt = self._optimizer
        net.train()
        batch, types, mask = cands.batch(0, len(cands))
        mask = mask.clone()
        mask[torch.arange(len(gold)), gold] = True  # a gold class outside the constraints stays reachable
        logits = net(batch, types).masked_fill(~mask, -1e4)
        loss = nn.functional.cross_entropy(logits, gold)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        losses[self.name] += float(loss.item()) * len(gold)
        return losses

    def finish_update(self, sgd: Any) -> None:
        """No-op: :meth:`update` already stepped the torch optimizer."""

    def use_params(self, params: dict) -> Any:
        from contextlib import nullcontext

        return nullcontext()

    # -- calibration and scoring ---------------------------------------------------------
    def collect_logits(self, docs: Sequence[Doc], refs: Sequence[Doc] | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor | None, _Candidates]:
        """Masked logits of every candidate (and gold classes when ``refs`` are given)."""
        net = self._require_net()
        cands = self.candidates(docs)
        net.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(cands), self.cfg["batch_size"]):
                out.append(self._logits(cands, lo, lo + self.cfg["batch_size"])[0])
        logits = torch.cat(out) if out else torch.zeros(0, 1 + 2 * len(self.cfg["labels"]))
        gold = None
        if refs is not None:
            gold = torch.tensor(self._gold_classes(cands, refs), dtype=torch.long)
        return logits, gold, cands

    def calibrate(self, examples: Iterable[Example]) -> float:
        """Fit the softmax temperature on development examples (min NLL, Guo et al. 2017).

        Uses the reference Docs' gold entities. Returns the temperature (also stored in cfg).
        """
        refs = [eg.reference for eg in examples]
        logits, gold, _ = self.collect_logits(refs, refs)
        if gold is None or not len(gold):
            return self.cfg["temperature"]
        log_t = torch.zeros(1, requires_grad=True)
        opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(logits / log_t.exp(), gold)
            loss.backward()
            return loss

        opt.step(closure)
        t = float(log_t.exp().item())
        self.cfg["temperature"] = t if math.isfinite(t) and 0.05 < t < 20 else 1.0
        return self.cfg["temperature"]

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """Strict relation P/R/F (entity spans + types + label + direction must match).

        Returns ``rel_micro_p/r/f``, ``rel_macro_f`` and ``rel_f_per_type`` (fractions).
        """
        examples = list(examples)
        res = strict_prf(
            [doc_relation_tuples(eg.reference, gold=True) for eg in examples],
            [doc_relation_tuples(eg.predicted, gold=False) for eg in examples],
            labels=self.cfg["labels"],
        )
        return {
            "rel_micro_p": res["micro_p"], "rel_micro_r": res["micro_r"],
            "rel_micro_f": res["micro_f1"], "rel_macro_f": res["macro_f1"],
            "rel_f_per_type": {k: v["f1"] for k, v in res["per_label"].items()},
        }

    # -- serialisation ------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "encoder": self.model.name,
            "cfg": self.cfg,
            "encoder_meta": self.model.meta(),
        }

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save ``meta.json`` (labels, types, temperature, vocabulary) and ``model.pt``."""
        write_dir(path, self._meta(), self._require_net().state_dict())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RelationExtractor:
        """Load what :meth:`to_disk` wrote.

        Raises:
            ModelError: a file is missing, corrupt or does not fit the configured encoder
                (the message names the file).
        """
        self._load(*read_dir(path, "kg_relation_extractor"))
        return self

    def _load(self, meta: Any, meta_name: str, load_state: Callable[[], Any], state_name: str) -> None:
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{meta_name}: unsupported or corrupt relation-extractor metadata")
        if meta.get("encoder") != self.model.name:
            raise ModelError(
                f"{meta_name}: saved with encoder {meta.get('encoder')!r} but the config builds "
                f"{self.model.name!r}; use the config.cfg saved beside the model"
            )
        self.cfg.update(meta["cfg"])
        self._build_net(None, meta.get("encoder_meta") or {})
        state = load_state()
        try:
            self._require_net().load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ModelError(f"{state_name}: weights do not fit the configured model ({exc})") from exc

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """Serialise metadata and weights to bytes (for ``nlp.to_bytes`` / pickling)."""
        return pack_bytes(self._meta(), self._require_net().state_dict())

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = ()) -> RelationExtractor:
        """Inverse of :meth:`to_bytes`.

        Raises:
            ModelError: corrupt data.
        """
        meta, load_state = unpack_bytes(bytes_data, f"{self.name} (relation extractor)")
        self._load(meta, "<bytes>", load_state, "<bytes>")
        return self



@Language.factory(
    "kg_relation_extractor",
    default_config={
        "model": DEFAULT_MODEL,
        "labels": [],
        "type_constraints": {},
        "infer_type_constraints": True,
        "use_entity_types": True,
        "max_distance": 60,
        "threshold": 0.5,
        "thresholds": {},
        "learn_rate": 0.001,
        "batch_size": 256,
    },
    assigns=["doc._.rel", "doc._.relations"],
    requires=["doc.ents"],
    default_score_weights={"rel_micro_f": 1.0, "rel_micro_p": 0.0, "rel_micro_r": 0.0,
                           "rel_macro_f": 0.0},
)
def make_relation_extractor(
    nlp: Language,
    name: str,
    model: Any,
    labels: list[str],
    type_constraints: dict[str, list[list[str]]],
    infer_type_constraints: bool,
    use_entity_types: bool,
    max_distance: int,
    threshold: float,
    thresholds: dict[str, float],
    learn_rate: float,
    batch_size: int,
) -> RelationExtractor:
    """spaCy factory of :class:`RelationExtractor` (``nlp.add_pipe("kg_relation_extractor")``)."""
    return RelationExtractor(
        nlp.vocab, model, name, labels=labels, type_constraints=type_constraints,
        infer_type_constraints=infer_type_constraints, use_entity_types=use_entity_types,
        max_distance=max_distance,
        threshold=threshold, thresholds=thresholds, learn_rate=learn_rate, batch_size=batch_size,
    )

