"""Link-prediction models, one per module, looked up by name.

Every model is a :class:`~kg_engine.gnn.models.base.KGCModel`: ``model(graph, h, r)``
returns logits ``[B, N]`` for every candidate tail of the queries ``(h, r)``, with
``r in [0, 2R)`` (``r >= R`` are the inverse relations that ask for heads).

Example:
    >>> get_model_class("complex").__name__
    'ComplEx'
"""

from __future__ import annotations

import importlib
from typing import Any

from kg_engine.errors import ConfigError

__all__ = ["MODELS", "get_model_class"]

#: name -> "module:Class" (imported lazily).
MODELS: dict[str, str] = {
    "complex": "kg_engine.gnn.models.complex:ComplEx",
    "distmult": "kg_engine.gnn.models.distmult:DistMult",
    "rgcn": "kg_engine.gnn.models.rgcn:RGCN",
    "compgcn": "kg_engine.gnn.models.compgcn:CompGCN",
    "nbfnet": "kg_engine.gnn.models.nbfnet:NBFNet",
}


def get_model_class(name: str) -> Any:
    """The model class registered as ``name`` (case-insensitive).

    Raises:
        ConfigError: unknown name (the message lists the valid ones).
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in MODELS:
        raise ConfigError(f"unknown GNN model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    module, cls = MODELS[key].split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise ConfigError(f"model {name!r} is registered but {module} is not available") from exc
        raise
