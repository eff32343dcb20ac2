"""The ``regex`` rule built-in on SQLite, bounded in time.

SQLite has no regular-expression operator, so a rule's ``regex(?text, "pattern")`` calls the
SQL function ``kg_regex(pattern, text)`` registered here on the store's connection. It matches
with the `regex <https://pypi.org/project/regex/>`_ package (the syntax of Python's ``re``)
and a ``timeout`` of :data:`REGEX_TIMEOUT` seconds per match: a catastrophic pattern in a user
rule such as ``(a+)+$`` over a long literal backtracks exponentially, and Python's ``re``
never returns to the interpreter while it does — ``kg reason`` and every write under a
reasoning profile would hang. Past the bound the statement fails and :func:`guard` turns that
into a :class:`~kg_engine.errors.RuleTimeoutError` naming the rule and the pattern; the run's
transaction rolls back, so the store is left as it was. An invalid pattern matches nothing
(``NULL``), as before. PostgreSQL evaluates ``~`` in the server, whose regex engine does not
backtrack this way (``(a+)+$`` over 40,000 characters: 0.1 s).

Example:
    >>> kg_regex("^ab+", "abbbc"), kg_regex("(", "x")
    (1, None)
    >>> with guard("r1"):
    ...     kg_regex("(a+)+$", "a" * 5000 + "b", timeout=0.01)
    Traceback (most recent call last):
    ...
    kg_engine.errors.RuleTimeoutError: rule r1: regex '(a+)+$' did not finish matching a 5,001-character string within 0.01 s (catastrophic backtracking): simplify the pattern (e.g. no nested quantifiers such as (a+)+); nothing was changed
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

from kg_engine.errors import RuleTimeoutError

try:  # pragma: no branch - a core dependency; ``re`` (unbounded) only as a last resort
    import regex as _engine

    _HAS_TIMEOUT = True
except ImportError:  # pragma: no cover
    _engine = re  # type: ignore[assignment]
    _HAS_TIMEOUT = False

__all__ = ["REGEX_TIMEOUT", "guard", "kg_regex", "register"]

#: Seconds one ``regex`` match of a rule may take (any sane pattern needs microseconds).
REGEX_TIMEOUT = 5.0

_CACHE: dict[str, Any] = {}
_state = threading.local()


def _compiled(pattern: str) -> Any:
    rx = _CACHE.get(pattern)
    if rx is None:
        try:
            rx = _engine.compile(pattern)
        except (re.error, getattr(_engine, "error", re.error)):
            rx = False
        if len(_CACHE) > 2000:
            _CACHE.clear()
        _CACHE[pattern] = rx
    return rx


def kg_regex(pattern: str | None, text: str | None, timeout: float | None = None) -> int | None:
    """1 if ``pattern`` matches somewhere in ``text``, 0 if not, ``None`` for NULL input or an
    invalid pattern.

    Raises:
        TimeoutError: the match ran past ``timeout`` (default :data:`REGEX_TIMEOUT`); the
            failure is remembered for :func:`guard`.
    """
    if pattern is None or text is None:
        return None
    rx = _compiled(pattern)
    if rx is False:
        return None
    bound = REGEX_TIMEOUT if timeout is None else timeout
    try:
        found = rx.search(text, timeout=bound) if _HAS_TIMEOUT else rx.search(text)
    except TimeoutError:
        _state.failure = (pattern, len(text), bound)
        raise
    return 1 if found else 0


def register(raw: Any) -> None:
    """Register ``kg_regex(pattern, text)`` on an sqlite3 connection."""
    raw.create_function("kg_regex", 2, kg_regex, deterministic=True)


@contextlib.contextmanager
def guard(rule: str) -> Iterator[None]:
    """Run SQL of ``rule``: a regex match that timed out inside it (SQLite reports only "user-defined
    function raised exception") becomes a :class:`~kg_engine.errors.RuleTimeoutError`."""
    _state.failure = None
    try:
        yield
    except (Exception, TimeoutError) as exc:
        failure = getattr(_state, "failure", None)
        if failure is None:
            raise
        _state.failure = None
        pattern, size, bound = failure
        raise RuleTimeoutError(
            f"rule {rule}: regex {pattern!r} did not finish matching a {size:,}-character string "
            f"within {bound:g} s (catastrophic backtracking): simplify the pattern (e.g. no "
            "nested quantifiers such as (a+)+); nothing was changed"
        ) from exc
