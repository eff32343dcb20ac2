"""Checking an input file before reading it: one message for each way a path can be wrong.

A missing path, a folder, a FIFO or a device (``/dev/null``) and an unreadable file each get
their own message naming the path and the fix, instead of "no such file" for all of them or
a hang on a FIFO.

Example:
    >>> import tempfile
    >>> check_file(tempfile.gettempdir(), "query")
    Traceback (most recent call last):
    ...
    kg_engine.errors.InputReadError: /tmp: is a folder, expected a query file: name a file inside it
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kg_engine.errors import InputNotFoundError, InputReadError

__all__ = ["check_file"]


def check_file(path: str | Path, what: str = "input", *, nothing: str = "") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is a readable regular file.

    Args:
        path: the file named by the user.
        what: what the file should hold, for the message (``"query"``, ``"RDF"``).
        nothing: appended to the message, e.g. ``" (nothing was loaded)"``.

    Raises:
        InputNotFoundError: nothing exists at ``path``.
        InputReadError: a folder, a FIFO/device/socket, or no read permission.
    """
    p = Path(path)
    a = "an" if what[:1] in "aeiouAEFHILMNORSX" else "a"
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise InputNotFoundError(f"{p}: no such file (expected {a} {what} file){nothing}") \
            from None
    except OSError as exc:
        raise InputReadError(f"{p}: cannot be read ({exc.strerror}){nothing}") from None
    if stat.S_ISDIR(mode):
        raise InputReadError(f"{p}: is a folder, expected {a} {what} file: name a file inside "
                             f"it{nothing}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if (
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "not a regular file"
        raise InputReadError(f"{p}: is {kind}, expected {a} {what} file: save the input to a "
                             f"regular file{nothing}")
    if not os.access(p, os.R_OK):
        raise InputReadError(f"{p}: permission denied: check the file's permissions{nothing}")
    return p
