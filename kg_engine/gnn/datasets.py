"""Loaders for the standard knowledge-graph-completion split format.

A dataset directory holds ``train.txt``, ``valid.txt`` and ``test.txt`` with one
``head<TAB>relation<TAB>tail`` triple per line, and optionally ``text/entity2text.txt`` /
``text/relation2text.txt`` (``name<TAB>label``). FB15k-237, WN18RR, UMLS, Kinship and
Nations in this format live in the shared data folder (``$KG_SHARED_DATA/kgc``, default
``<repo>/../shared/data/kgc``); nothing is downloaded.

Entity ids are the sorted entity names over **all three** splits (evaluation ranks every
entity, including those never seen in training); relation ids likewise.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for split, rows in {"train": "a\\tp\\tb\\nb\\tp\\tc\\n", "valid": "a\\tp\\tc\\n",
    ...                     "test": "c\\tq\\ta\\n"}.items():
    ...     _ = (d / f"{split}.txt").write_text(rows)
    >>> data = load_dataset(d)
    >>> data.entities, data.relations, data.test.tolist()
    (['a', 'b', 'c'], ['p', 'q'], [[2, 1, 0]])
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from kg_engine.errors import ConfigError, InputSyntaxError
from kg_engine.gnn.data import KGData

__all__ = ["KNOWN_DATASETS", "KGCDataset", "load_dataset", "read_triples", "shared_data_dir"]

#: Names resolved under ``shared_data_dir() / "kgc"``.
KNOWN_DATASETS = ("umls", "kinship", "nations", "fb15k-237", "wn18rr")


def shared_data_dir() -> Path:
    """The shared data folder: ``$KG_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("KG_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def resolve_dataset_dir(name_or_dir: str | Path) -> Path:
    """Map a dataset name (``"umls"``) or a directory path to the directory.

    Raises:
        ConfigError: neither a known name nor a directory holding ``train.txt``.
    """
    path = Path(name_or_dir)
    if path.is_dir() and (path / "train.txt").is_file():
        return path
    key = str(name_or_dir).lower()
    candidate = shared_data_dir() / "kgc" / key
    if (candidate / "train.txt").is_file():
        return candidate
    raise ConfigError(
        f"dataset {str(name_or_dir)!r} not found: give a directory with train/valid/test.txt "
        f"or one of {', '.join(KNOWN_DATASETS)} (looked in {candidate.parent}; set "
        "KG_SHARED_DATA to the shared data folder)"
    )


def read_triples(path: Path) -> list[tuple[str, str, str]]:
    """Read a tab-separated triple file.

    Raises:
        InputSyntaxError: a non-empty line does not have exactly three fields.
    """
    rows: list[tuple[str, str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise InputSyntaxError(
                    f"expected 'head<TAB>relation<TAB>tail', got {len(parts)} field(s)",
                    source=str(path),
                    line=lineno,
                )
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def _read_labels(path: Path, index: dict[str, int]) -> dict[int, str] | None:
    if not path.is_file():
        return None
    labels: dict[int, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("\t", 1)
            if len(parts) == 2 and parts[0] in index:
                labels[index[parts[0]]] = parts[1]
    return labels or None


def load_dataset(name_or_dir: str | Path) -> KGData:
    """Load a split-format dataset into :class:`KGData`.

    Args:
        name_or_dir: a known name (``"umls"``, ``"kinship"``, ``"nations"``, ``"fb15k-237"``,
            ``"wn18rr"``) or a directory with ``train.txt``, ``valid.txt``, ``test.txt``.

    Returns:
        The data with labels from ``text/entity2text.txt`` / ``relation2text.txt`` if present.

    Raises:
        ConfigError: the dataset cannot be found.
        InputSyntaxError: a malformed line.
    """
    directory = resolve_dataset_dir(name_or_dir)
    splits: dict[str, list[tuple[str, str, str]]] = {}
    for split in ("train", "valid", "test"):
        path = directory / f"{split}.txt"
        splits[split] = read_triples(path) if path.is_file() else []
    entities = sorted({x for rows in splits.values() for h, _, t in rows for x in (h, t)})
    relations = sorted({r for rows in splits.values() for _, r, _ in rows})
    e_index = {e: i for i, e in enumerate(entities)}
    r_index = {r: i for i, r in enumerate(relations)}

    def encode(rows: list[tuple[str, str, str]]) -> torch.Tensor:
        if not rows:
            return torch.empty((0, 3), dtype=torch.long)
        return torch.tensor([(e_index[h], r_index[r], e_index[t]) for h, r, t in rows])

    return KGData(
        entities=entities,
        relations=relations,
        train=encode(splits["train"]),
        valid=encode(splits["valid"]),
        test=encode(splits["test"]),
        entity_labels=_read_labels(directory / "text" / "entity2text.txt", e_index),
        relation_labels=_read_labels(directory / "text" / "relation2text.txt", r_index),
        name=directory.name,
    )


class KGCDataset:
    """A split-format knowledge-graph-completion dataset as a class (PyG/PyKEEN style).

    Args:
        name_or_dir: see :func:`load_dataset`.

    Attributes:
        data: the loaded :class:`KGData`.
        root: the directory the files were read from.
    """

    def __init__(self, name_or_dir: str | Path) -> None:
        self.root = resolve_dataset_dir(name_or_dir)
        self.data = load_dataset(self.root)

    @property
    def name(self) -> str:
        return self.data.name

    def __repr__(self) -> str:
        return f"KGCDataset({self.data!r})"
