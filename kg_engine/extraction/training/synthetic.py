"""A tiny synthetic relation corpus (CoNLL04-like schema) for fast tests and smoke runs.

Sentences are generated from templates such as ``"{P} works for {O} ."`` with typed entity
slots; every template fixes the relation and its direction, and distractor templates have
entities but no relation. It is deterministic for a given ``seed``.

Example:
    >>> recs = synthetic_records(4, seed=1)
    >>> sorted(recs[0])
    ['entities', 'relations', 'tokens']
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATES", "synthetic_examples", "synthetic_records", "write_synthetic_conll04"]

_NAMES = {
    "Peop": ["John Smith", "Mary", "Ahmed Khan", "Li Wei", "Olga Petrova", "Carlos", "Anna Berg",
             "Tom Jones", "Yuki Sato", "Ravi"],
    "Org": ["Acme", "Globex Corp", "the United Nations", "Initech", "Reuters", "Umbrella",
            "Stark Industries", "Hooli"],
    "Loc": ["Paris", "New York", "Kenya", "Berlin", "Lima", "Oslo", "Texas", "Cairo"],
}

#: (template, relation or None, head slot, tail slot)
TEMPLATES: list[tuple[str, str | None, str, str]] = [
    ("{Peop1} works for {Org1} .", "Work_For", "Peop1", "Org1"),
    ("{Org1} hired {Peop1} last year .", "Work_For", "Peop1", "Org1"),
    ("{Peop1} lives in {Loc1} .", "Live_In", "Peop1", "Loc1"),
    ("In {Loc1} , {Peop1} has a house .", "Live_In", "Peop1", "Loc1"),
    ("{Org1} is based in {Loc1} .", "OrgBased_In", "Org1", "Loc1"),
    ("{Loc1} is the home of {Org1} .", "OrgBased_In", "Org1", "Loc1"),
    ("{Peop1} killed {Peop2} .", "Kill", "Peop1", "Peop2"),
    ("{Peop2} was killed by {Peop1} .", "Kill", "Peop1", "Peop2"),
    ("{Peop1} met {Peop2} in {Loc1} .", None, "Peop1", "Peop2"),
    ("{Peop1} and {Org1} were mentioned .", None, "Peop1", "Org1"),
    ("{Loc1} and {Loc2} are far apart .", None, "Loc1", "Loc2"),
]


def synthetic_records(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` records in SpERT JSON (``tokens``, ``entities``, ``relations``)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        template, rel, head, tail = rng.choice(TEMPLATES)
        chosen: dict[str, str] = {}
        for slot in ("Peop1", "Peop2", "Org1", "Loc1", "Loc2"):
            kind = slot[:-1]
            pool = [x for x in _NAMES[kind] if x not in chosen.values()]
            chosen[slot] = rng.choice(pool)
        tokens: list[str] = []
        ents: list[dict[str, Any]] = []
        slot_ent: dict[str, int] = {}
        for part in template.split():
            if part.startswith("{") and part.endswith("}"):
                slot = part[1:-1]
                words = chosen[slot].split()
                slot_ent[slot] = len(ents)
                ents.append({"type": slot[:-1], "start": len(tokens), "end": len(tokens) + len(words)})
                tokens += words
            else:
                tokens.append(part)
        rels = [{"type": rel, "head": slot_ent[head], "tail": slot_ent[tail]}] if rel else []
        out.append({"tokens": tokens, "entities": ents, "relations": rels})
    return out


def write_synthetic_conll04(folder: str | Path, *, n_train: int = 200, n_dev: int = 60,
                            n_test: int = 60, seed: int = 0) -> Path:
    """Write ``conll04/conll04_{train,dev,test}.spert.json`` under ``folder``; returns ``folder``."""
    folder = Path(folder)
    (folder / "conll04").mkdir(parents=True, exist_ok=True)
    for k, (split, n) in enumerate((("train", n_train), ("dev", n_dev), ("test", n_test))):
        recs = synthetic_records(n, seed=seed * 10 + k)
        (folder / "conll04" / f"conll04_{split}.spert.json").write_text(json.dumps(recs), encoding="utf-8")
    return folder


def synthetic_examples(n: int, *, seed: int = 0) -> list[Any]:
    """``n`` spaCy Examples (gold entities + ``doc._.rel``) from :func:`synthetic_records`."""
    import tempfile

    from kg_engine.extraction.training.re_data import read_conll04

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.json"
        path.write_text(json.dumps(synthetic_records(n, seed=seed)), encoding="utf-8")
        return read_conll04(path)
