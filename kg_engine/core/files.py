"""Output files that are never half-written: a temporary file beside the target, renamed at
the end; ``.gz`` names are gzip-compressed on the fly.

When the system refuses the space (disk or quota full, the file size limit ``ulimit -f``
passed) the temporary file is removed, a file at the target is left as it was, and
:class:`~kg_engine.errors.OutputWriteError` names the file, the cause and the fix
(:func:`write_failure`).

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
import errno
import gzip
import io
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from kg_engine.errors import InputNotFoundError, OutputWriteError

__all__ = ["SPACE_ERRNOS", "atomic_directory", "atomic_output", "atomic_write", "is_gzip",
           "path_text", "space_refused", "write_failure"]

#: errno values meaning "the system refused the space", not "the program is wrong"
SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def space_refused(err: int | None, folder: str | Path | None = None) -> str:
    """What refused a write that failed with ``err`` (ENOSPC, EDQUOT, EFBIG) and the fix, for
    a file in ``folder`` (its free space is named).

    Example:
        >>> space_refused(errno.ENOSPC).split(" (")[0]
        'the disk is full'
    """
    if err == errno.EFBIG:
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if soft != resource.RLIM_INFINITY:
            return (f"the file would pass this process's file size limit ({soft:,} bytes, "
                    "ulimit -f): raise the limit and run the command again")
        return "the file is too large for its file system: write it to another file system"
    if err == errno.EDQUOT:
        return "the disk quota is exhausted: free space in your quota and run the command again"
    free = ""
    with contextlib.suppress(OSError, TypeError):
        st = os.statvfs(folder or ".")
        free = f" ({st.f_bavail * st.f_frsize:,} bytes free there)"
    return f"the disk is full{free}: free disk space and run the command again"


def write_failure(exc: BaseException, path: str | Path,
                  atomic: bool = True) -> OutputWriteError | None:
    """The :class:`~kg_engine.errors.OutputWriteError` for ``exc`` when it (or an exception it
    arose from: torch wraps the ``OSError``) is the system refusing space to write ``path``;
    ``None`` for other errors. ``atomic``: ``path`` was written through a temporary file, so
    a file there before is unchanged (the message says so).

    Example:
        >>> err = write_failure(OSError(errno.ENOSPC, "No space left on device"), "out.nt")
        >>> str(err).split(" (")[0]
        'out.nt was not written'
    """
    seen: BaseException | None = exc
    while seen is not None and not (isinstance(seen, OSError) and seen.errno in SPACE_ERRNOS):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    kept = " (a file there before is unchanged)" if atomic else ""
    err = OutputWriteError(f"{path} was not written{kept}: "
                           f"{space_refused(seen.errno, Path(path).parent)}")
    err.errno, err.filename = seen.errno, str(path)
    return err


def path_text(path: str | Path) -> str:
    """``path`` as text a store can hold (valid Unicode).

    A name the file system's encoding cannot decode reaches Python with surrogate escapes:
    under ``LANG=C`` (Python's UTF-8 mode off) every non-ASCII name, under a UTF-8 locale a
    Latin-1 one. SQLite refuses such text (``kg load`` of ``Dätä/f.ttl`` was an internal
    error recording its source); the name's bytes are read as UTF-8, what is undecodable
    written ``\\xNN``.

    Example:
        >>> path_text(b"D\\xc3\\xa4t\\xe4.ttl".decode("ascii", "surrogateescape"))
        'Dät\\\\xe4.ttl'
    """
    text = str(path)
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
    except BaseException as exc:
        with contextlib.suppress(OSError):  # closing flushes: it fails again when full
            raw.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        failure = write_failure(exc, path)
        if failure is None:
            raise
        raise failure from exc


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path``: all of it, or (on any failure) nothing, a file already at
    ``path`` unchanged.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write(out, b"ok")
        >>> out.read_bytes()
        b'ok'
    """
    with atomic_output(path, binary=True) as f:
        f.write(data)


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
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        failure = write_failure(exc, path)
        if failure is None:
            raise
        raise failure from exc
