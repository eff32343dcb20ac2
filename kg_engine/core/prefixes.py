"""Where an undeclared prefix is used in SPARQL text, so "unknown prefix" errors can name the
line and column and the fix (rdflib only says ``Unknown namespace prefix : foo``).

The scan skips comments, strings and IRIs, so ``"foo:bar"``, ``<foo:bar>`` and ``# foo:`` are
never taken for a use of ``foo:``; a prefixed name is found only where a token starts.

Example:
    >>> text = 'SELECT ?s # ex: in a comment\\nWHERE { ?s ex:p "ex:q" . ?s ex:r ?o }'
    >>> find_prefix_use(text, "ex")
    (2, 12)
    >>> print(unknown_prefix_hint("ex"))
    unknown prefix 'ex:'; declare it before its first use: PREFIX ex: <…>
    >>> unknown_prefix_name(ValueError("Unknown namespace prefix : ex"))
    'ex'
    >>> unknown_prefix_name(ValueError(unknown_prefix_hint("ex")))
    'ex'
    >>> unknown_prefix_name(ValueError("Unknown namespace prefix : None"), "SELECT * { :a ?p ?o }")
    ''
"""

from __future__ import annotations

import re

__all__ = ["find_prefix_use", "unknown_prefix_hint", "unknown_prefix_name"]

_TOKENS = re.compile(
    r'''\#[^\n]*'''
    r'''|"""(?:[^"\\]|\\.|"(?!""))*"""'''
    r"""|'''(?:[^'\\]|\\.|'(?!''))*'''"""
    r'''|"(?:[^"\\\n]|\\.)*"'''
    r"""|'(?:[^'\\\n]|\\.)*'"""
    r'''|<[^<>"{}|^`\\\s]*>'''
    r'''|(?<![\w.:\-?$])(?P<prefix>(?:[^\W\d_][\w.\-]*)?):'''
)
_RDFLIB_MESSAGE = re.compile(r"Unknown namespace prefix\s*:\s*(\S*)|unknown prefix '([^':\s]*):'")


def unknown_prefix_name(exc: BaseException, text: str = "") -> str | None:
    """The prefix of rdflib's "Unknown namespace prefix" error (or of the message of
    :func:`unknown_prefix_hint`), else ``None``; rdflib calls the empty prefix ``None``, which
    is ``''`` unless the query ``text`` uses a prefix really named ``None:``."""
    m = _RDFLIB_MESSAGE.search(str(exc))
    if m is None:
        return None
    if m.group(1) is None:
        return m.group(2)
    return "" if m.group(1) == "None" and find_prefix_use(text, "None") is None else m.group(1)


def find_prefix_use(text: str, prefix: str) -> tuple[int, int] | None:
    """``(line, column)`` (1-based) of the first prefixed name with ``prefix`` in ``text``,
    outside comments, strings and IRIs; ``None`` when there is none."""
    for m in _TOKENS.finditer(text):
        if m.group("prefix") == prefix:
            start = m.start("prefix") if prefix else m.start()
            line = text.count("\n", 0, start) + 1
            return line, start - (text.rfind("\n", 0, start) + 1) + 1
    return None


def unknown_prefix_hint(prefix: str) -> str:
    """What is wrong and the fix, for an undeclared ``prefix``."""
    return f"unknown prefix '{prefix}:'; declare it before its first use: PREFIX {prefix}: <…>"
