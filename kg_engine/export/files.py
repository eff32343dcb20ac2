"""Output files that are never half-written: a temporary file beside the target, renamed at
the end; ``.gz`` names are gzip-compressed on the fly.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt.gz"
    >>> with atomic_output(out) as f:
    ...     _ = f.write("hello\\n")
    >>> import gzip; gzip.open(out, "rt").read()
    'hello\\n'
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from kg_engine.errors import InputNotFoundError

__all__ = ["atomic_directory", "atomic_output", "is_gzip"]


def is_gzip(path: str | Path) -> bool:
    """Whether ``path`` names a gzip file (``.gz``)."""
    return str(path).lower().endswith(".gz")


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise InputNotFoundError(f"{path}: the folder {path.parent} does not exist")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path, binary: bool = False) -> Iterator[IO]:
    """A text (or binary) stream whose content appears at ``path`` only if the block succeeds.

    Raises:
        InputNotFoundError: the target folder does not exist.
    """
    path = Path(path)
    _check_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; an export is a normal file
    raw = os.fdopen(fd, "wb")
    try:
        if is_gzip(path):
            stream: IO = gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw,
                                       compresslevel=6, mtime=0)
        else:
            stream = raw
        if binary:
            yield stream
        else:
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n",
                                    write_through=False)
            yield text
            text.flush()
            text.detach()
        if stream is not raw:
            stream.close()
        raw.close()
        os.replace(tmp, path)
    except BaseException:
        raw.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """A fresh folder that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    _check_parent(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
