"""Relation-extraction datasets as spaCy :class:`~spacy.training.Example` lists.

* SemEval-2010 Task 8 (``TRAIN_FILE.TXT`` / ``TEST_FILE_FULL.TXT``): each sentence becomes a Doc
  with its two marked nominals as entities labelled ``ENTITY`` and, unless the label is
  ``Other``, ``doc._.rel[(head.start, tail.start)] = {relation: 1.0}`` (direction from the
  ``(e1,e2)``/``(e2,e1)`` suffix). The official label of each sentence is kept in
  ``doc.user_data["semeval_label"]``.
* CoNLL04 in SpERT JSON (``conll04_{train,dev,test}.spert.json``): tokens, typed entities and
  directed relations.

The data live outside the repository: ``$KG_SHARED_DATA`` (default ``<repo>/../shared/data``),
sub-folders ``re/semeval2010_task8`` and ``re/conll04``.

Example:
    >>> import spacy
    >>> ex = parse_semeval_block(spacy.blank("en"),
    ...     '1\\t"The <e1>child</e1> was put into the <e2>cradle</e2>."', "Entity-Destination(e1,e2)")
    >>> ex.reference._.rel, [e.text for e in ex.reference.ents]
    ({(1, 6): {'Entity-Destination': 1.0}}, ['child', 'cradle'])
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

import kg_engine.extraction.components  # noqa: F401 - registers doc._.rel
from kg_engine.errors import ConfigError, InputSyntaxError

__all__ = [
    "DATASETS",
    "examples_summary",
    "load_dataset",
    "parse_semeval_block",
    "read_conll04",
    "read_semeval",
    "shared_data_dir",
]

DATASETS = ("semeval", "conll04")
_TAG = re.compile(r"</?e[12]>")


def shared_data_dir() -> Path:
    """``$KG_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("KG_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def parse_semeval_block(nlp: Language, sentence_line: str, label: str, *,
                        source: str = "<semeval>", line: int | None = None) -> Example:
    """One SemEval record (``id<TAB>"…<e1>x</e1>…<e2>y</e2>…"`` + label line) → Example.

    Raises:
        InputSyntaxError: the sentence lacks the ``<e1>``/``<e2>`` tags or the label is malformed.
    """
    try:
        sid, quoted = sentence_line.split("\t", 1)
    except ValueError:
        raise InputSyntaxError("expected 'id<TAB>\"sentence\"'", source=source, line=line) from None
    text = quoted.strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    plain, offsets, pos = [], {}, 0
    for m in re.finditer(r"<(/?)(e[12])>", text):
        plain.append(text[pos:m.start()])
        offsets[(m.group(2), m.group(1) == "/")] = sum(len(p) for p in plain)
        pos = m.end()
    plain.append(text[pos:])
    clean = "".join(plain)
    if len(offsets) != 4:
        raise InputSyntaxError("sentence must mark <e1>…</e1> and <e2>…</e2>", source=source, line=line)
    doc = nlp.make_doc(clean)
    spans = []
    for e in ("e1", "e2"):
        sp = doc.char_span(offsets[(e, False)], offsets[(e, True)], label="ENTITY",
                           alignment_mode="expand")
        if sp is None:
            raise InputSyntaxError(f"cannot align <{e}> to tokens", source=source, line=line)
        spans.append(sp)
    if spans[0].end > spans[1].start:  # nested/overlapping nominals: trim the first one
        spans[0] = Span(doc, spans[0].start, max(spans[0].start + 1, spans[1].start), label="ENTITY")
    doc.ents = spans
    m = re.fullmatch(r"([A-Za-z-]+)(?:\((e[12]),(e[12])\))?", label.strip())
    if not m:
        raise InputSyntaxError(f"malformed relation label {label!r}", source=source, line=line)
    rel = m.group(1)
    doc._.rel = {}
    if rel != "Other":
        if m.group(2) is None:
            raise InputSyntaxError(f"relation {label!r} lacks its direction", source=source, line=line)
        h, t = (spans[0], spans[1]) if m.group(2) == "e1" else (spans[1], spans[0])
        doc._.rel[(h.start, t.start)] = {rel: 1.0}
    doc.user_data["semeval_label"] = label.strip()
    doc.user_data["semeval_id"] = sid.strip()
    pred = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    pred.ents = [Span(pred, s.start, s.end, label=s.label_) for s in doc.ents]
    return Example(pred, doc)


def read_semeval(path: Path, nlp: Language | None = None) -> list[Example]:
    """Read an official SemEval-2010 T8 file (training file or ``TEST_FILE_FULL.TXT``)."""
    import spacy

    nlp = nlp or spacy.blank("en")
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        if i + 1 >= len(lines):
            raise InputSyntaxError("sentence without a label line", source=str(path), line=i + 1)
        out.append(parse_semeval_block(nlp, lines[i], lines[i + 1], source=str(path), line=i + 1))
        i += 2
        while i < len(lines) and lines[i].strip() and not re.match(r"^\d+\t", lines[i]):
            i += 1  # Comment: line(s)
    return out


def read_conll04(path: Path, nlp: Language | None = None) -> list[Example]:
    """Read CoNLL04 in SpERT JSON (list of ``{tokens, entities, relations}``)."""
    import spacy

    nlp = nlp or spacy.blank("en")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputSyntaxError(f"invalid JSON: {exc.msg}", source=str(path), line=exc.lineno) from exc
    out = []
    for k, rec in enumerate(data):
        words = rec["tokens"]
        ref = Doc(nlp.vocab, words=words)
        pred = Doc(nlp.vocab, words=words)
        ents = [Span(ref, e["start"], e["end"], label=e["type"]) for e in rec["entities"]]
        try:
            ref.ents = ents
        except ValueError as exc:
            raise InputSyntaxError(f"record {k}: overlapping entities ({exc})", source=str(path)) from exc
        pred.ents = [Span(pred, e.start, e.end, label=e.label_) for e in ents]
        rels: dict[tuple[int, int], dict[str, float]] = {}
        for r in rec["relations"]:
            h, t = ents[r["head"]], ents[r["tail"]]
            rels.setdefault((h.start, t.start), {})[r["type"]] = 1.0
        ref._.rel = rels
        out.append(Example(pred, ref))
    return out


def load_dataset(name: str, split: str, *, data_dir: str | Path | None = None,
                 dev_size: int = 800, seed: int = 13) -> list[Example]:
    """Load ``train`` / ``dev`` / ``test`` of ``semeval`` or ``conll04``.

    SemEval has no official dev split: ``dev`` is ``dev_size`` sentences held out of the
    training file with a fixed ``seed`` (``train`` is the rest).

    Raises:
        ConfigError: unknown dataset or split.
        FileNotFoundError: the data folder is missing (message says how to point to it).
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    if split not in ("train", "dev", "test"):
        raise ConfigError(f"unknown split {split!r}; valid: train, dev, test")
    base = Path(data_dir) if data_dir else shared_data_dir() / "re"
    if name == "conll04":
        path = base / "conll04" / f"conll04_{split}.spert.json"
        _check(path)
        return read_conll04(path)
    folder = base / "semeval2010_task8"
    if split == "test":
        _check(folder / "TEST_FILE_FULL.TXT")
        return read_semeval(folder / "TEST_FILE_FULL.TXT")
    _check(folder / "TRAIN_FILE.TXT")
    examples = read_semeval(folder / "TRAIN_FILE.TXT")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    dev_idx = set(order[:dev_size])
    return [ex for i, ex in enumerate(examples) if (i in dev_idx) == (split == "dev")]


def _check(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: dataset file not found; set KG_SHARED_DATA to the shared data folder "
            "(it must contain re/semeval2010_task8 and re/conll04)"
        )


def examples_summary(examples: list[Example]) -> dict[str, Any]:
    """Counts of docs, entities and gold relations (for logs)."""
    return {
        "docs": len(examples),
        "entities": sum(len(eg.reference.ents) for eg in examples),
        "relations": sum(sum(1 for v in (eg.reference._.rel or {}).values() for x in v.values() if x >= 0.5)
                         for eg in examples),
    }
