"""The ``kg_entity_typer`` spaCy component: re-scores the NER's entity types in context.

``en_core_web_sm`` finds entity spans well but types many of them wrongly on encyclopedic text
(museums, districts and rivers as PERSON, cities as ORG). This component re-types every entity
whose label maps to a DocRED type (:mod:`kg_engine.extraction.schema`) with a small classifier
over the document relation model's encoder (:class:`~kg_engine.extraction.components.docre_model.
DocREModel`): features of a mention are the state of its opening ``*`` marker, the mean state of
its word pieces (MiniLM read the whole document around it) and the NER's own label (one-hot), so
the classifier learns when to trust the NER. The classifier (``typer.pt`` + ``typer.json`` in the
model folder, a linear layer over these features) is trained on the Re-DocRED documents the
relation model was trained on, with the NER's spans matched to gold mentions and their gold
types (:mod:`kg_engine.extraction.training.entity_typer`).

Decision: probabilities are averaged over the mentions with the same text (one name, one type in
a document); an entity is re-labelled only between PER / ORG / LOC (``retype``), when the new
type's probability is at least ``min_prob``. New labels are spaCy's: PER → ``PERSON``, ORG →
``ORG``, LOC → ``GPE`` for a former ORG/NORP (a city or country), else ``LOC``. The old label is
kept in ``doc.user_data["kg_entity_typer"]`` (span → (old, new, probability)). The parse can veto a
move: a place (LOC) joined by an appositive to another place ("based in Espoo, Finland") stays a
place, however its context scores. With ``quantize`` the classifier trained on the int8
encoder's features (``typer_int8.pt``) is used when the folder has one.

The encoding is cached on the doc (``doc.user_data``) so that a ``kg_doc_relation_extractor``
with the same model and the same mentions later in the pipeline does not encode the text again.

Example (needs the shipped model, see ``data/models/docre_minilm``):
    >>> import spacy  # doctest: +SKIP
    >>> nlp = spacy.load("en_core_web_sm")  # doctest: +SKIP
    >>> nlp.add_pipe("kg_entity_typer", config={"model": "data/models/docre_minilm"})  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from spacy.language import Language
from spacy.tokens import Doc, Span
from torch import nn

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.components.docre_model import DocREModel, load_docre
from kg_engine.extraction.schema import RelationSchema, load_schema

__all__ = ["ENCODING_KEY", "NER_LABELS", "TYPER_FILES", "TYPER_FILES_INT8", "EntityTyper", "TypeHead", "encode_mentions",
           "feature_width", "mention_features", "shared_docre"]

#: spaCy (OntoNotes) NER labels, one-hot features of the classifier (others: one "other" slot).
NER_LABELS = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
              "LAW", "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL",
              "CARDINAL")
TYPER_FILES = {"weights": "typer.pt", "meta": "typer.json"}
#: The classifier trained on the int8 encoder's features (used with ``quantize``, when present).
TYPER_FILES_INT8 = {"weights": "typer_int8.pt", "meta": "typer_int8.json"}
_NEW_LABEL = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}
ENCODING_KEY = "kg_docre_encoding"


def shared_docre(path: str, quantize: bool) -> tuple[DocREModel, dict[str, Any]]:
    """One loaded (optionally int8) relation model per folder, shared by the components.

    The folder's files (names, sizes, modification times) are part of the key: a changed or
    corrupted model is loaded (and its errors raised) again.
    """
    folder = Path(path)
    stamp = tuple(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns)
                         for f in folder.iterdir() if f.is_file())) if folder.is_dir() else ()
    return _load_shared(str(folder), bool(quantize), stamp)


@lru_cache(maxsize=4)
def _load_shared(path: str, quantize: bool, _stamp: tuple[Any, ...]
                 ) -> tuple[DocREModel, dict[str, Any]]:
    from kg_engine.extraction.components.doc_relation_extractor import quantize_docre

    model, meta = load_docre(path)
    if quantize:
        model = quantize_docre(model)
    model.eval()
    return model, meta


def feature_width(hidden: int) -> int:
    """Width of :func:`mention_features` rows for an encoder of width ``hidden``."""
    return 3 * hidden + len(NER_LABELS) + 1


class TypeHead(nn.Module):
    """Classifier ``[marker state; mean piece state; head word; NER one-hot] → DocRED types``.

    ``mlp`` > 0: one hidden layer of that width (tanh), else linear.
    """

    def __init__(self, hidden: int, types: Sequence[str], mlp: int = 0) -> None:
        super().__init__()
        self.types = list(types)
        width = feature_width(hidden)
        self.net = (nn.Sequential(nn.Linear(width, mlp), nn.Tanh(), nn.Linear(mlp, len(self.types)))
                    if mlp else nn.Sequential(nn.Linear(width, len(self.types))))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net(feats)


@torch.no_grad()
def encode_mentions(model: DocREModel, words: Sequence[str], spans: Sequence[tuple[int, int]],
                    doc: Doc | None = None, types: Sequence[str] | None = None) -> dict[str, Any]:
    """Encode ``words`` with markers around ``spans``: ``{spans, enc, H, A}``.

    ``types[k]``: the DocRED type of ``spans[k]``'s entity (typed markers of a scratch encoder;
    the MiniLM encoder's markers are untyped). With ``doc`` the result is cached in
    ``doc.user_data`` and reused when the same model, spans and types are asked for again.
    """
    typed = types is not None and getattr(model.encoder, "typed_markers", False)
    type_of = dict(zip(spans, types)) if typed else None  # untyped markers: one key, one encoding
    key = (id(model), tuple(sorted(set(spans))),
           None if type_of is None else tuple(type_of[s] for s in sorted(set(spans))))
    if doc is not None:
        got = doc.user_data.get(ENCODING_KEY)
        if got is not None and got["key"] == key:
            return got
    uniq = list(key[1])
    enc = model.encoder.prepare(words, uniq, list(key[2]) if key[2] is not None else None)
    H, A = model.encoder(enc.ids)
    out = {"key": key, "pos": dict(zip(uniq, enc.mention_pos)), "enc": enc, "H": H, "A": A}
    if doc is not None:
        doc.user_data[ENCODING_KEY] = out
    return out


@torch.no_grad()
def mention_features(model: DocREModel, encoded: dict[str, Any],
                     spans: Sequence[tuple[int, int]], labels: Sequence[str]) -> torch.Tensor:
    """Features ``[M, feature_width(d)]`` of mentions ``spans`` with NER ``labels``.

    Per mention: the state of its opening marker, the mean state of its pieces (both in
    context), the context-free word-piece embedding (mean) of its last word — the head of most
    names ("… Robotics", "… River", "… University") — and the NER label one-hot.
    """
    H = encoded["H"]
    enc = encoded["enc"]
    n = H.shape[0]
    if not spans:
        return torch.zeros(0, feature_width(H.shape[1]))
    ids = torch.tensor(enc.ids, dtype=torch.long)
    table = model.encoder._frozen[0].word_embeddings
    rows = []
    for (a, b), lab in zip(spans, labels):
        p = encoded["pos"][(a, b)]
        lo = enc.word_pos[a]
        hi = enc.word_pos[b] if b < len(enc.word_pos) else n
        hi = max(lo + 1, hi - 1)  # the mention's pieces (the closing marker excluded)
        last = enc.word_pos[b - 1]
        head = table(ids[last:max(last + 1, hi)]).mean(0)
        onehot = torch.zeros(len(NER_LABELS) + 1)
        onehot[NER_LABELS.index(lab) if lab in NER_LABELS else len(NER_LABELS)] = 1.0
        rows.append(torch.cat([H[p], H[lo:hi].mean(0), head.float(), onehot]))
    return torch.stack(rows)


def load_type_head(path: str | Path, quantize: bool = False) -> tuple[TypeHead, dict[str, Any]]:
    """The classifier saved in a relation model folder (``typer.pt``, ``typer.json``) + its meta.

    With ``quantize`` the one trained on the int8 encoder's features (``typer_int8.*``) when the
    folder has it: int8 features differ enough from fp32 ones to cost the fp32 classifier points.

    Raises:
        ModelError: missing or corrupt files (the error names the file).
    """
    from kg_engine.extraction.components.serialization import torch_load

    path = Path(path)
    files = (TYPER_FILES_INT8 if quantize and (path / TYPER_FILES_INT8["meta"]).is_file()
             else TYPER_FILES)
    meta_file = path / files["meta"]
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        head = TypeHead(int(meta["hidden"]), meta["types"], int(meta.get("mlp", 0)))
    except FileNotFoundError as exc:
        raise ModelError(f"{meta_file}: missing; train the entity typer with `python -m "
                         "kg_engine.extraction.training.entity_typer`") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{meta_file}: corrupt entity typer metadata ({exc})") from exc
    wfile = path / files["weights"]
    state = torch_load(wfile, str(wfile))
    try:
        head.load_state_dict({k: v.float() for k, v in state.items()})
    except (RuntimeError, AttributeError) as exc:
        raise ModelError(f"{wfile}: weights do not fit the entity typer ({exc})") from exc
    head.eval()
    return head, meta


class EntityTyper:
    """spaCy component (see module docstring).

    Args:
        nlp: the pipeline.
        name: component name.
        model: folder of the document relation model holding ``typer.pt``.
        schema: schema config whose ``ner_types`` decide which entities are typed (and marked:
            use the relation extractor's schema so its encoding is shared).
        min_prob: lowest probability of a new type (default: the one chosen on held-out
            documents, in ``typer.json``).
        retype: DocRED types an entity may move between.
        quantize: int8 dynamic quantisation of the encoder (as the relation extractor's).
        keep_encoding: leave the document's encoding on the doc for a
            ``kg_doc_relation_extractor`` later in the pipeline (which removes it).

    Raises:
        ModelError: missing or corrupt model files.
        ConfigError: ``min_prob`` outside [0, 1] or an unknown type in ``retype``.
    """

    def __init__(self, nlp: Language, name: str, model: str, schema: str | None = None,
                 min_prob: float | None = None, retype: Sequence[str] = ("PER", "ORG", "LOC"),
                 quantize: bool = False, keep_encoding: bool = False) -> None:
        if min_prob is not None and not 0.0 <= float(min_prob) <= 1.0:
            raise ConfigError(f"{name}: min_prob must be in [0, 1], got {min_prob}")
        bad = sorted(set(retype) - set(_NEW_LABEL))
        if bad:
            raise ConfigError(f"{name}: retype {bad} not supported; choose from "
                              f"{sorted(_NEW_LABEL)}")
        path = Path(model or "")
        if not model or not path.is_dir():
            raise ModelError(f"{name}: document relation model folder {path} does not exist")
        self.name = name
        self.model, _meta = shared_docre(str(path.resolve()), bool(quantize))
        self.head, head_meta = load_type_head(path, bool(quantize))
        from kg_engine.extraction.pipeline import PIPELINES_DIR

        self.schema: RelationSchema = load_schema(
            Path(schema) if schema else PIPELINES_DIR / "schemas" / "wikidata_redocred.cfg")
        self.min_prob = float(min_prob if min_prob is not None
                              else head_meta.get("min_prob", 0.5))
        self.retype = set(retype)
        self.keep_encoding = bool(keep_encoding)

    @torch.no_grad()
    def type_probs(self, doc: Doc) -> tuple[list[Span], torch.Tensor]:
        """The typed entities and their type probabilities ``[M, types]`` (averaged by text)."""
        ents = [e for e in doc.ents if self.schema.docred_type(e.label_) is not None]
        if not ents:
            return [], torch.zeros(0, len(self.head.types))
        spans = [(e.start, e.end) for e in ents]
        encoded = encode_mentions(self.model, [t.text for t in doc], spans, doc)
        logp = torch.log_softmax(self.head(mention_features(self.model, encoded, spans,
                                                            [e.label_ for e in ents])), -1)
        groups: dict[str, list[int]] = {}
        for i, e in enumerate(ents):
            groups.setdefault(_name(e), []).append(i)
        probs = torch.empty_like(logp)
        for idx in groups.values():
            probs[idx] = torch.softmax(logp[idx].mean(0), -1)
        return ents, probs

    def __call__(self, doc: Doc) -> Doc:
        ents, probs = self.type_probs(doc)
        if not self.keep_encoding:
            doc.user_data.pop(ENCODING_KEY, None)
        if not ents:
            return doc
        olds = [self.schema.docred_type(e.label_) for e in ents]
        moves: dict[int, tuple[str, float]] = {}
        for i, (old, row) in enumerate(zip(olds, probs.tolist())):
            k = max(range(len(row)), key=row.__getitem__)
            new = self.head.types[k]
            if (new != old and old in self.retype and new in self.retype
                    and row[k] >= self.min_prob):
                moves[i] = (new, row[k])
        for i in _places_in_apposition(ents, olds, moves):
            del moves[i]
        changed: dict[tuple[int, int], tuple[str, str, float]] = {}
        new_ents = {(e.start, e.end): e for e in doc.ents}
        for i, (new, prob) in moves.items():
            e = ents[i]
            label = _NEW_LABEL[new]
            if new == "LOC" and e.label_ in {"ORG", "NORP"}:
                label = "GPE"
            new_ents[(e.start, e.end)] = Span(doc, e.start, e.end, label=label)
            changed[(e.start, e.end)] = (e.label_, label, round(prob, 3))
        if changed:
            doc.ents = sorted(new_ents.values(), key=lambda s: s.start)
            doc.user_data[self.name] = changed
        return doc

    def pipe(self, docs: Any, batch_size: int = 16) -> Any:
        for doc in docs:
            yield self(doc)


def _places_in_apposition(ents: Sequence[Span], olds: Sequence[str | None],
                          moves: dict[int, tuple[str, float]]) -> set[int]:
    """Indices of planned moves out of LOC that the parse contradicts: place chains.

    "based in Espoo, Finland": the parser makes "Finland" an appositive of "Espoo", the way text
    names a place inside a place. A NER place (LOC) joined by an ``appos`` arc to another entity
    that stays a place keeps its type, and so do the other mentions with its text (the typer
    decides per name). Without a parse nothing is kept.
    """
    final = [moves[i][0] if i in moves else old for i, old in enumerate(olds)]
    owner = {t: i for i, e in enumerate(ents) for t in range(e.start, e.end)}
    kept: set[str] = set()
    for i, e in enumerate(ents):
        for tok in e:
            j = owner.get(tok.head.i)
            if tok.dep_ != "appos" or j is None or j == i:
                continue
            for x, y in ((i, j), (j, i)):
                if x in moves and olds[x] == "LOC" and final[y] == "LOC":
                    kept.add(_name(ents[x]))
    return {i for i in moves if olds[i] == "LOC" and _name(ents[i]) in kept}


def _name(span: Span) -> str:
    return " ".join(span.text.lower().split())


@Language.factory(
    "kg_entity_typer",
    default_config={"model": None, "schema": None, "min_prob": None,
                    "retype": ["PER", "ORG", "LOC"], "quantize": False, "keep_encoding": False},
)
def make_entity_typer(nlp: Language, name: str, model: str | None, schema: str | None,
                      min_prob: float | None, retype: list[str], quantize: bool,
                      keep_encoding: bool) -> EntityTyper:
    """Factory of ``kg_entity_typer`` (see :class:`EntityTyper`)."""
    return EntityTyper(nlp, name, model or "", schema, min_prob, retype, quantize, keep_encoding)
