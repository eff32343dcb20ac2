"""Where a statement came from: a loaded file, an extracted sentence, a prediction.

Every triple kg-engine writes can carry a :class:`Provenance`; the store keeps it beside the
quad so that ``KnowledgeGraph.explain()`` can show the source (file and line, the sentence and
character span an extractor read, or the model and score of a GNN prediction).

Example:
    >>> p = Provenance(kind="extracted", source="doc-7", sentence=2, start=10, end=42,
    ...                text="Alice works for Acme.", agent="kg_relation_extractor",
    ...                version="1.0", confidence=0.93)
    >>> p.kind, p.confidence
    ('extracted', 0.93)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Provenance", "ProvenanceKind"]

ProvenanceKind = Literal["asserted", "extracted", "inferred", "predicted"]
_KINDS = ("asserted", "extracted", "inferred", "predicted")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Source of one statement.

    Attributes:
        kind: ``asserted`` (loaded or added), ``extracted`` (text extraction),
            ``inferred`` (rule engine), ``predicted`` (GNN).
        source: the document id, file path or checkpoint the statement came from.
        sentence: 0-based sentence index inside the document (extraction).
        start: character offset where the evidence starts in the document.
        end: character offset where the evidence ends (exclusive).
        text: the evidence itself (the sentence), for explanations.
        agent: the component that produced it (extractor, model, rule set name).
        version: version of that component.
        confidence: score or probability in [0, 1] where it applies.
        detail: small JSON-serialisable extras (e.g. the rank of a prediction).
    """

    kind: ProvenanceKind = "asserted"
    source: str | None = None
    sentence: int | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    agent: str | None = None
    version: str | None = None
    confidence: float | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"provenance kind must be one of {_KINDS}, got {self.kind!r}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence!r}")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"span end {self.end} lies before start {self.start}")

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``None`` fields included)."""
        return asdict(self)
