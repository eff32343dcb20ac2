"""Training and scoring of the entity typer's head (on synthetic features)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spacy")

from kg_engine.extraction.components.entity_typer import NER_LABELS, feature_width
from kg_engine.extraction.training.docred import DOCRED_TYPES
from kg_engine.extraction.training.entity_typer import evaluate, train_type_head


def _data(n: int, seed: int, hidden: int = 4) -> dict:
    """Mentions whose gold type is readable from the features; the NER says PER for all."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)  # PER, ORG, LOC
    x = torch.randn(n, feature_width(hidden), generator=g) * 0.1
    x[torch.arange(n), y] += 3.0
    x[:, 3 * hidden + NER_LABELS.index("PERSON")] = 1.0
    return {"x": x, "y": y, "ner": ["PER"] * n, "text": [f"m{i}" for i in range(n)],
            "doc": list(range(n))}


def test_head_learns_and_decision_rule():
    head, info = train_type_head(_data(300, 1), _data(60, 2), 4, epochs=60, lr=5e-2)
    mlp, _ = train_type_head(_data(300, 1), _data(60, 2), 4, epochs=60, lr=5e-2, mlp=8)
    assert len(mlp.net) == 3 and len(head.net) == 1
    assert info["held_out_accuracy"] >= 0.95
    test = _data(90, 3)
    got = evaluate(head, test, min_prob=0.5)
    assert got["accuracy_typer"] >= 95 and got["accuracy_ner"] < 50
    assert set(got["fixed"]) <= {"PER->ORG", "PER->LOC"}
    # PER → ORG/LOC only when allowed
    kept = evaluate(head, test, min_prob=0.5, retype=("PER", "ORG"))
    assert "PER->LOC" not in kept["fixed"] and kept["accuracy_typer"] < got["accuracy_typer"]
    assert evaluate(head, test, min_prob=1.01)["accuracy_typer"] == got["accuracy_ner"]
    assert DOCRED_TYPES[:3] == ("PER", "ORG", "LOC")
