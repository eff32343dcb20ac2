"""kg-engine: text corpora → RDF knowledge graph with provenance → SQL store → SPARQL, rules, GNNs.

Start with :class:`kg_engine.KnowledgeGraph` (see :mod:`kg_engine.api` for the tour).
Importing ``kg_engine`` is light: torch, spaCy and PyTorch Geometric load only with the
sub-packages that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["KnowledgeGraph", "__version__"]

if TYPE_CHECKING:
    from kg_engine.api import KnowledgeGraph


def __getattr__(name: str) -> Any:
    if name == "KnowledgeGraph":
        from kg_engine.api import KnowledgeGraph

        return KnowledgeGraph
    raise AttributeError(f"module 'kg_engine' has no attribute {name!r}")
