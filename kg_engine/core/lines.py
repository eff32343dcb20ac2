"""Lines of a text whose lines may end in LF, CR LF or CR alone, for the places in messages.

A file written with CR alone between lines (classic Mac OS, some exporters) is one line to
``text.count("\\n")``: every error was reported on line 1 at a column far to the right. The
RDF grammars take CR as a line end too (N-Triples' ``EOL ::= [#xD#xA]+``), as editors do.

Example:
    >>> text = "a\\rbb\\r\\ncc\\nd"
    >>> line_ends(text), where(text, text.index("d")), where(text, text.index("cc") + 1)
    (3, (4, 1), (3, 2))
"""

from __future__ import annotations

import re

__all__ = ["line_ends", "line_start", "where"]

_LINE_END = re.compile(r"\r\n?|\n")


def line_ends(text: str, start: int = 0, end: int | None = None) -> int:
    """How many line ends (LF, CR LF, CR) ``text[start:end]`` holds (a CR LF split by
    ``start`` or ``end`` counts once on either side)."""
    stop = len(text) if end is None else end
    if "\r" not in text:
        return text.count("\n", start, stop)
    return len(_LINE_END.findall(text, start, stop))


def line_start(text: str, pos: int) -> int:
    """Where the line holding position ``pos`` of ``text`` starts."""
    return max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1


def where(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of position ``pos`` of ``text``."""
    return line_ends(text, 0, pos) + 1, pos - line_start(text, pos) + 1
