"""Shared fixtures of the component tests: synthetic DocRED documents for the document-level
relation models (MiniLM and from-scratch encoders)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from kg_engine.extraction.training.docred import DocREDDocument

PEOPLE = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Marie Curie", "Niels Bohr", "Lise Meitner"]
CITIES = ["London", "Paris", "Warsaw", "Vienna", "Oslo", "Rome"]


def _synthetic(i: int) -> DocREDDocument:
    p, c = PEOPLE[i % 6].split(), CITIES[i % 6]
    sents = [[*p, "was", "born", "in", c, "in", "1815", "."], ["Later", p[-1], "moved", "away", "."]]
    n = len(p)
    obj = {"title": f"doc{i}", "sents": sents, "vertexSet": [
        [{"name": " ".join(p), "sent_id": 0, "pos": [0, n], "type": "PER"},
         {"name": p[-1], "sent_id": 1, "pos": [1, 2], "type": "PER"}],
        [{"name": c, "sent_id": 0, "pos": [n + 3, n + 4], "type": "LOC"}],
        [{"name": "1815", "sent_id": 0, "pos": [n + 5, n + 6], "type": "TIME"}]],
        "labels": [{"h": 0, "t": 1, "r": "P19", "evidence": [0]},
                   {"h": 0, "t": 2, "r": "P569", "evidence": [0]}]}
    return DocREDDocument.from_json(obj)


@pytest.fixture(scope="session")
def synthetic_docred() -> Callable[[int], DocREDDocument]:
    """``synthetic_docred(i)``: "<person> was born in <city> in 1815. Later <surname> moved away."
    with labels P19 (person → city) and P569 (person → 1815)."""
    return _synthetic


def _schema(folder: Path, relations: Sequence[str]) -> str:
    path = folder / "schema.cfg"
    rows = "\n".join(f'{r} = "{r} label"' for r in relations)
    path.write_text(f'[schema]\nrelation_base = "http://example.org/p/"\n\n[schema.relations]\n{rows}\n')
    return str(path)


@pytest.fixture(scope="session")
def relation_schema() -> Callable[[Path, Sequence[str]], str]:
    """``relation_schema(folder, relations)``: path of a schema config with just ``relations``
    (predicates under ``http://example.org/p/``)."""
    return _schema
