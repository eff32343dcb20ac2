"""SQL fragments that carry their own parameters.

Every piece of SQL the compiler builds is an :class:`Sql`: text with ``?`` placeholders
plus the parameter values for exactly those placeholders, in order. Concatenating
fragments concatenates both, so a fragment can be reused (e.g. a column expression that
appears in SELECT and in ORDER BY) without the parameters ever getting out of step, and no
value is ever formatted into the SQL text.

Example:
    >>> a = Sql("q1.p = ?", (7,))
    >>> b = Sql("q1.o = ?", ("x",))
    >>> c = Sql.join(" AND ", [a, b])
    >>> c.text, c.params
    ('q1.p = ? AND q1.o = ?', (7, 'x'))
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["FALSE", "NULL", "TRUE", "Sql", "in_set", "param", "sql"]


class Sql:
    """An SQL fragment: ``text`` with ``?`` placeholders and their ``params``."""

    __slots__ = ("params", "text")

    def __init__(self, text: str, params: tuple[Any, ...] = ()) -> None:
        self.text = text
        self.params = tuple(params)

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, self.params + other.params)

    def __radd__(self, other: str) -> Sql:
        return Sql(other + self.text, self.params)

    def __repr__(self) -> str:
        return f"Sql({self.text!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sql) and (self.text, self.params) == (other.text, other.params)

    def __hash__(self) -> int:
        return hash((self.text, self.params))

    @staticmethod
    def join(sep: str, parts: Iterable[Sql | str]) -> Sql:
        """Join fragments with a separator (like ``str.join``)."""
        texts: list[str] = []
        params: list[Any] = []
        for p in parts:
            if isinstance(p, str):
                texts.append(p)
            else:
                texts.append(p.text)
                params.extend(p.params)
        return Sql(sep.join(texts), tuple(params))

    def paren(self) -> Sql:
        """``(self)``."""
        return Sql("(" + self.text + ")", self.params)


def sql(template: str, *parts: Sql | str) -> Sql:
    """Fill ``{}`` slots of ``template`` with fragments, keeping parameter order.

    Example:
        >>> sql("{} = {}", Sql("a"), Sql("?", (1,))).text
        'a = ?'
    """
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise ValueError(f"template {template!r} has {len(pieces) - 1} slots, got {len(parts)}")
    texts = [pieces[0]]
    params: list[Any] = []
    for part, text in zip(parts, pieces[1:]):
        if isinstance(part, str):
            texts.append(part)
        else:
            texts.append(part.text)
            params.extend(part.params)
        texts.append(text)
    return Sql("".join(texts), tuple(params))


def param(value: Any) -> Sql:
    """A single ``?`` placeholder bound to ``value``."""
    return Sql("?", (value,))


TRUE = Sql("(1=1)")
FALSE = Sql("(1=0)")
NULL = Sql("NULL")


def in_set(e: Sql, values: list[Any], sqlite: bool) -> Sql:
    """``e IN values`` with the values as ONE parameter (no SQL size, depth or parameter
    limit): a JSON array read by ``json_each`` (SQLite), an array (PostgreSQL).

    >>> in_set(Sql("q1.g"), [3, 5], sqlite=True).text
    '(q1.g IN (SELECT value FROM json_each(?)))'
    """
    if sqlite:
        return sql("({} IN (SELECT value FROM json_each({})))", e, param(json.dumps(values)))
    return sql("({} = ANY({}))", e, param(values))
