"""XPath regular expressions for ``REGEX``/``REPLACE``, bounded by the query's deadline.

One implementation for both evaluation paths (the SQLite ``kg_regex`` function the compiled SQL
calls, and the rdflib evaluator's ``REGEX``/``REPLACE``):

* XPath flags ``i s m x q`` (``x`` strips whitespace outside character classes — unlike
  Python's VERBOSE it does not make ``#`` a comment; ``q`` quotes the whole pattern);
* matching runs on the `regex <https://pypi.org/project/regex/>`_ package with a ``timeout``
  equal to the time left to the query (:func:`kg_engine.sparql.limits.remaining`): a
  catastrophic pattern such as ``(a+)+$`` cannot outlive ``timeout=`` (Python's ``re`` never
  returns to the interpreter while it backtracks). Without ``regex`` installed, ``re`` is used.

Example:
    >>> rx = compile_xpath("^A b", "ix")
    >>> bool(search(rx, "abc"))
    True
    >>> compile_xpath("(", "")
    Traceback (most recent call last):
    ...
    ValueError: invalid regular expression '(': missing ) at position 1
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import Any

from kg_engine.sparql.limits import DeadlineExceeded, remaining

__all__ = ["case_blind", "compile_xpath", "search", "strip_x", "sub"]

_FLAGS = {"i": "IGNORECASE", "s": "DOTALL", "m": "MULTILINE"}
_CACHE: dict[tuple[str, str], Any] = {}
#: the matching engine and whether it takes ``timeout=``, loaded by the first compile (the
#: ``regex`` package costs ~7 CPU-ms to import, which a query without REGEX need not pay)
_ENGINE: list[Any] = []


def _engine() -> Any:
    if not _ENGINE:
        try:  # pragma: no branch - a core dependency; ``re`` only as a last resort
            import regex

            _ENGINE[:] = [regex, True]
        except ImportError:  # pragma: no cover
            _ENGINE[:] = [re, False]
    return _ENGINE[0]


def strip_x(pattern: str) -> str:
    """The pattern of flag ``x``: whitespace outside character classes removed."""
    out, in_class = [], False
    for i, c in enumerate(pattern):
        if c == "[" and (i == 0 or pattern[i - 1] != "\\"):
            in_class = True
        elif c == "]" and (i == 0 or pattern[i - 1] != "\\"):
            in_class = False
        if c in " \t\n\r" and not in_class:
            continue
        out.append(c)
    return "".join(out)


@functools.cache
def _case_variants() -> dict[str, str]:
    """Every cased character -> its XPath case variants, itself included (computed once)."""
    by_lower: defaultdict[str, set[str]] = defaultdict(set)
    by_upper: defaultdict[str, set[str]] = defaultdict(set)
    for i in range(0x20000):  # no cased character past U+1E943 (Unicode 14, 15)
        c = chr(i)
        low, up = c.lower(), c.upper()
        if low != c or up != c:
            by_lower[low].add(c)
            by_upper[up].add(c)
    cased = set().union(*by_lower.values())
    return {c: "".join(sorted(by_lower[c.lower()] | by_upper[c.upper()] | {c})) for c in cased}


def case_blind(pattern: str) -> str | None:
    """``pattern`` matching case-insensitively by XPath's rule, without a flag.

    XPath's ``i`` flag (F&O 3.1 §5.6.1.1): a character matches another when their
    ``lower-case`` or their ``upper-case`` agree, whatever the locale. Python's ``regex``
    matched ``i`` with ``İ`` (which XPath does not) and PostgreSQL's ``~`` follows the
    database's ``LC_CTYPE`` (Turkish: ``i`` matches ``İ``; C: no case beyond ASCII), so each
    cased character outside a character class becomes the class of its variants.
    ``None`` for a pattern with a character class or a ``\\p``/``\\P`` escape (left to the
    engine's flag).

    Example:
        >>> case_blind("^ık")
        '^[Iiı][KkK]'
        >>> case_blind("[a-z]") is None
        True
        >>> case_blind("\\u0061")
        '[Aa]'
    """
    variants = _case_variants()
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            d = pattern[i + 1:i + 2]
            if d in ("p", "P"):
                return None
            width = {"u": 4, "U": 8}.get(d, 0)
            digits = pattern[i + 2:i + 2 + width]
            if width and len(digits) == width and re.fullmatch("[0-9A-Fa-f]+", digits) \
                    and int(digits, 16) <= 0x10FFFF:
                v = variants.get(chr(int(digits, 16)), "")  # \u0041 is an "A" and has variants
                out.append(f"[{v}]" if len(v) > 1 else pattern[i:i + 2 + width])
                i += 2 + width
            else:
                out.append(pattern[i:i + 2])
                i += 2
            continue
        if c == "[":
            return None
        v = variants.get(c, c)
        out.append(f"[{v}]" if len(v) > 1 else c)
        i += 1
    return "".join(out)


def compile_xpath(pattern: str, flags: str = "") -> Any:
    """Compile an XPath regular expression with its flags (cached).

    Raises:
        ValueError: an unknown flag or an invalid pattern.
    """
    key = (pattern, flags)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    engine = _engine()
    cflags = 0
    for f in flags:
        if f in _FLAGS:
            cflags |= getattr(engine, _FLAGS[f])
        elif f not in "qx":
            raise ValueError(f"invalid regex flag {f!r}")
    if "q" in flags:
        pattern_ = re.escape(pattern)
    elif "x" in flags:
        pattern_ = strip_x(pattern)
    else:
        pattern_ = pattern
    if "i" in flags and (blind := case_blind(pattern_)) is not None:
        pattern_, cflags = blind, cflags & ~engine.IGNORECASE
    try:
        rx = engine.compile(pattern_, cflags)
    except (re.error, getattr(engine, "error", re.error)) as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    if len(_CACHE) > 2000:
        _CACHE.clear()
    _CACHE[key] = rx
    return rx


def _timeout_kw() -> dict[str, float]:
    left = remaining()  # raises once the deadline has passed
    return {"timeout": left} if (left is not None and _ENGINE and _ENGINE[1]) else {}


def search(rx: Any, text: str) -> Any:
    """``rx.search(text)`` within the query's deadline.

    Raises:
        QueryTimeoutError: the deadline passed while matching.
    """
    try:
        return rx.search(text, **_timeout_kw())
    except TimeoutError as exc:
        raise DeadlineExceeded() from exc


def sub(rx: Any, repl: Any, text: str) -> str:
    """``rx.sub(repl, text)`` within the query's deadline (see :func:`search`)."""
    try:
        return rx.sub(repl, text, **_timeout_kw())
    except TimeoutError as exc:
        raise DeadlineExceeded() from exc
