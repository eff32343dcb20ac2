"""xsd:float comparisons in rule built-ins: single precision, on stores old and new.

XPath compares an ``xsd:float`` with an integer, a decimal or another float at single
precision (the other operand is promoted to float), and with a double at double precision
(the float is promoted to its exact double): ``"0.1"^^xsd:float = 0.1`` is true (the decimal
becomes the float 0.1) and ``"0.1"^^xsd:float = "0.1"^^xsd:double`` is false (0.100000001490116…
is not 0.1). ``kg_terms.num`` holds a float's single-precision value in stores written since
:mod:`kg_engine.core.float32`, and the double of its lexical form in stores written before
(``"0.1"`` as 0.1), which rule comparisons compared as they stood: on such a store
``equal(?v, "0.1"^^xsd:float)`` matched nothing. :func:`single_sql` rounds a value to single
precision in SQL (SQLite: the function :func:`kg_f32`, registered by :func:`register`;
PostgreSQL: ``REAL``), so a stored float reads the same on both kinds of store.

Example:
    >>> kg_f32(0.1)
    0.10000000149011612
    >>> single_sql("t.num", "sqlite")
    'kg_f32(t.num)'
"""

from __future__ import annotations

from typing import Any

from kg_engine.core.float32 import round32

__all__ = ["kg_f32", "register", "single_sql"]


def kg_f32(x: float | None) -> float | None:
    """The SQLite function ``kg_f32``: a double rounded to single precision."""
    return None if x is None else round32(float(x))


def register(raw: Any) -> None:
    """Register ``kg_f32`` on a SQLite connection."""
    raw.create_function("kg_f32", 1, kg_f32, deterministic=True)


def single_sql(expr: str, dialect: str) -> str:
    """SQL of ``expr`` (a double) rounded to single precision; PostgreSQL's ``REAL`` refuses
    what rounds to 0 or overflows, so those are written 0 and ±Infinity."""
    if dialect == "sqlite":
        return f"kg_f32({expr})"
    return (f"(CASE WHEN abs({expr}) <= 7.006492321624085e-46 THEN 0 "
            f"WHEN abs({expr}) <= 3.4028234663852886e38 THEN CAST(CAST({expr} AS REAL) AS DOUBLE PRECISION) "
            f"ELSE sign({expr}) * CAST('Infinity' AS DOUBLE PRECISION) END)")
