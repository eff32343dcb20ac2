"""Byte and file formats shared by kg-engine's PyTorch spaCy components.

A component is saved as ``meta.json`` + ``model.pt`` in its folder (``to_disk``) or as one byte
string (``to_bytes``: 8-byte little-endian length of the JSON metadata, the metadata, then the
``torch.save`` state dict). Weights are always read with ``torch.load(weights_only=True)``, and
every failure becomes a :class:`~kg_engine.errors.ModelError` naming the file.

Example:
    >>> data = pack_bytes({"labels": ["A"]}, {})
    >>> meta, load_state = unpack_bytes(data, "demo component")
    >>> meta, load_state()
    ({'labels': ['A']}, {})
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from kg_engine.errors import ModelError

__all__ = ["META_FILE", "MODEL_FILE", "pack_bytes", "read_dir", "torch_load", "unpack_bytes", "write_dir"]

MODEL_FILE = "model.pt"
META_FILE = "meta.json"


def torch_load(src: Any, name: str) -> Any:
    """``torch.load(src, weights_only=True)`` on CPU, with errors that name ``name``.

    Raises:
        ModelError: the file is missing, corrupt or not a plain weights file.
    """
    try:
        return torch.load(src, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"{name}: missing model weights file") from exc
    except Exception as exc:
        raise ModelError(
            f"{name}: corrupt or incompatible model weights ({type(exc).__name__}); "
            "re-train or re-copy the model folder"
        ) from exc


def pack_bytes(meta: Mapping[str, Any], state_dict: Mapping[str, Any]) -> bytes:
    """Metadata and weights as one byte string (for ``to_bytes`` / pickling)."""
    buf = io.BytesIO()
    torch.save(dict(state_dict), buf)
    blob = json.dumps(meta).encode("utf-8")
    return len(blob).to_bytes(8, "little") + blob + buf.getvalue()


def unpack_bytes(data: bytes, what: str) -> tuple[dict[str, Any], Callable[[], Any]]:
    """Inverse of :func:`pack_bytes`: the metadata and a loader for the weights.

    Raises:
        ModelError: the metadata cannot be decoded (``what`` names the component).
    """
    try:
        n = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + n].decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"corrupt serialised {what}") from exc
    return meta, lambda: torch_load(io.BytesIO(data[8 + n:]), "<bytes>")


def write_dir(path: str | Path, meta: Mapping[str, Any], state_dict: Mapping[str, Any]) -> None:
    """Write ``meta.json`` and ``model.pt`` into ``path`` (created if needed)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    torch.save(dict(state_dict), path / MODEL_FILE)


def read_dir(path: str | Path, what: str) -> tuple[Any, str, Callable[[], Any], str]:
    """Read what :func:`write_dir` wrote: metadata, its file name, a weights loader, its file name.

    Raises:
        ModelError: ``meta.json`` is missing (``what`` names the expected component) or corrupt.
    """
    path = Path(path)
    meta_file, model_file = path / META_FILE, path / MODEL_FILE
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{meta_file}: missing; not a saved {what}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_file}: corrupt metadata ({exc})") from exc
    return meta, str(meta_file), lambda: torch_load(model_file, str(model_file)), str(model_file)
