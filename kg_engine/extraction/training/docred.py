"""DocRED / Re-DocRED documents: reader, train/held-out split and the standard scorer.

Format (Yao et al. 2019; Re-DocRED, Tan et al. 2022): a JSON list of documents
``{"title", "sents": [[token, …], …], "vertexSet": [[mention, …], …], "labels": [{"h", "t",
"r", "evidence"}]}``; a mention is ``{"name", "sent_id", "pos": [start, end), "type"}``.

Scorer (as the official DocRED evaluation): micro P/R/F1 over ``(document, head entity, tail
entity, relation)``; **Ign F1** recomputes precision without the correct predictions whose
(head mention name, tail mention name, relation) occurs in the training documents (recall is
the plain recall, as in the official script).

Example:
    >>> doc = DocREDDocument.from_json({"title": "t", "sents": [["Ada", "met", "Bob", "."]],
    ...     "vertexSet": [[{"name": "Ada", "sent_id": 0, "pos": [0, 1], "type": "PER"}],
    ...                   [{"name": "Bob", "sent_id": 0, "pos": [2, 3], "type": "PER"}]],
    ...     "labels": [{"h": 0, "t": 1, "r": "P3373", "evidence": [0]}]})
    >>> doc.words, doc.mention_spans()
    (['Ada', 'met', 'Bob', '.'], [(0, 1), (2, 3)])
    >>> score_docred({("t", 0, 1, "P3373")}, [doc])["f1"]
    1.0
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_engine.errors import InputNotFoundError, InputSyntaxError

__all__ = [
    "DOCRED_TYPES",
    "DocREDDocument",
    "Mention",
    "facts_in",
    "read_docred",
    "score_docred",
    "split_documents",
]

_NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", ")", "]", "}", "'s", "'", "%", "n't"}

#: The six DocRED entity types.
DOCRED_TYPES = ("PER", "ORG", "LOC", "TIME", "NUM", "MISC")


@dataclass(frozen=True)
class Mention:
    """One mention: sentence, ``[start, end)`` word offsets in the document, name, type."""

    sent: int
    start: int
    end: int
    name: str
    type: str


@dataclass
class DocREDDocument:
    """A document with its entities (lists of mentions) and labels ``(h, t, relation, evidence)``."""

    title: str
    sents: list[list[str]]
    entities: list[list[Mention]]
    labels: list[tuple[int, int, str, tuple[int, ...]]] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [w for s in self.sents for w in s]

    @property
    def sent_starts(self) -> list[int]:
        out, n = [], 0
        for s in self.sents:
            out.append(n)
            n += len(s)
        return out

    def spacy_doc(self, vocab: Any) -> Any:
        """A spaCy ``Doc`` of the document's own tokens and sentences (no component run; a
        space after each token unless the next is punctuation or a clitic such as "'s")."""
        from spacy.tokens import Doc

        words = self.words
        spaces = [i + 1 < len(words) and words[i + 1] not in _NO_SPACE_BEFORE
                  for i in range(len(words))]
        starts = set(self.sent_starts)
        return Doc(vocab, words=words, spaces=spaces,
                   sent_starts=[i in starts for i in range(len(words))])

    def entity_type(self, e: int) -> str:
        """The most frequent mention type of entity ``e`` (first on ties)."""
        types = [m.type for m in self.entities[e]]
        return max(dict.fromkeys(types), key=types.count)

    def mention_spans(self) -> list[tuple[int, int]]:
        """Document-level ``[start, end)`` word offsets of all mentions, entity by entity."""
        return [(m.start, m.end) for ms in self.entities for m in ms]

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "document") -> DocREDDocument:
        try:
            sents = [[str(w) for w in s] for s in obj["sents"]]
            starts, n = [], 0
            for s in sents:
                starts.append(n)
                n += len(s)
            ents = []
            for ms in obj["vertexSet"]:
                ent = []
                for m in ms:
                    si = int(m["sent_id"])
                    a, b = (int(x) for x in m["pos"])
                    if not (0 <= si < len(sents) and 0 <= a < b <= len(sents[si])):
                        raise ValueError(f"mention {m.get('name')!r} pos {m['pos']} outside "
                                         f"sentence {si}")
                    ent.append(Mention(si, starts[si] + a, starts[si] + b, str(m["name"]),
                                       str(m["type"])))
                if not ent:
                    raise ValueError("entity without mentions")
                ents.append(ent)
            labels = []
            for lab in obj.get("labels", []):
                h, t = int(lab["h"]), int(lab["t"])
                if not (0 <= h < len(ents) and 0 <= t < len(ents)):
                    raise ValueError(f"label entity index out of range: {lab}")
                labels.append((h, t, str(lab["r"]), tuple(int(x) for x in lab.get("evidence", []))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputSyntaxError(f"{where}: not a DocRED document ({exc}); expected keys "
                                   "title, sents, vertexSet, labels") from exc
        return cls(str(obj.get("title", "")), sents, ents, labels)


def read_docred(path: str | Path) -> list[DocREDDocument]:
    """Documents of a DocRED-format JSON file.

    Raises:
        InputNotFoundError: no such file.
        InputSyntaxError: not JSON or not the DocRED format (names the document index).
    """
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"{p}: no such DocRED file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputSyntaxError(f"{p}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(data, list):
        raise InputSyntaxError(f"{p}: expected a JSON list of documents")
    return [DocREDDocument.from_json(d, f"{p}: document {i}") for i, d in enumerate(data)]


def split_documents(docs: Sequence[DocREDDocument], held_out: int, seed: int = 13
                    ) -> tuple[list[DocREDDocument], list[DocREDDocument]]:
    """(train, held-out) with ``held_out`` documents drawn by ``random.Random(seed)``."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    keep = set(order[:held_out])
    return ([d for i, d in enumerate(docs) if i not in keep],
            [d for i, d in enumerate(docs) if i in keep])


def facts_in(docs: Iterable[DocREDDocument]) -> set[tuple[str, str, str]]:
    """(head mention name, tail mention name, relation) of every label (for Ign F1)."""
    out = set()
    for d in docs:
        for h, t, r, _ev in d.labels:
            for m1 in d.entities[h]:
                for m2 in d.entities[t]:
                    out.add((m1.name, m2.name, r))
    return out


def score_docred(
    predicted: Iterable[tuple[str, int, int, str]],
    docs: Sequence[DocREDDocument],
    train_facts: set[tuple[str, str, str]] | None = None,
) -> dict[str, float]:
    """Micro P/R/F1 and Ign F1 of ``(title, h, t, relation)`` predictions against ``docs``.

    Titles must be unique within ``docs``. Returns precision, recall, f1, ign_f1 (0–1) and the
    counts.
    """
    by_title = {d.title: d for d in docs}
    gold = {(d.title, h, t, r) for d in docs for h, t, r, _ in d.labels}
    pred = set(predicted)
    correct = pred & gold
    in_train = 0
    if train_facts:
        for title, h, t, r in correct:
            d = by_title[title]
            if any((m1.name, m2.name, r) in train_facts
                   for m1 in d.entities[h] for m2 in d.entities[t]):
                in_train += 1
    p = len(correct) / len(pred) if pred else 0.0
    rec = len(correct) / len(gold) if gold else 0.0
    f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
    denom = len(pred) - in_train
    p_ign = (len(correct) - in_train) / denom if denom > 0 else 0.0
    ign = 2 * p_ign * rec / (p_ign + rec) if p_ign + rec else 0.0
    return {"precision": p, "recall": rec, "f1": f1, "ign_f1": ign,
            "n_pred": len(pred), "n_gold": len(gold), "n_correct": len(correct),
            "n_correct_in_train": in_train}
