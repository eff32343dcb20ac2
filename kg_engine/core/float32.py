"""``xsd:float`` values: IEEE 754 single precision, held in Python floats (doubles).

Every float32 value is exactly a double, so a Python ``float`` holds an ``xsd:float`` value
without loss once it is rounded to single precision: ``"0.1"^^xsd:float`` is the value
0.100000001490116…, not the double 0.1. XPath compares and promotes a float by that value
and rounds the result of float arithmetic to single precision (XPath F&O §4.2).

Example:
    >>> of_lexical("0.1")
    0.10000000149011612
    >>> shortest(round32(of_lexical("0.1") * 3))
    0.3
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

__all__ = ["of_lexical", "round32", "shortest"]


def round32(x: float) -> float:
    """``x`` rounded to the nearest single-precision value (ties to even; beyond the largest
    finite float32: ±INF).

    Example:
        >>> round32(16777217.0), round32(1e39)
        (16777216.0, inf)
    """
    if math.isnan(x) or math.isinf(x):
        return x
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _neighbour(f: float, up: bool) -> float:
    """The float32 next to ``f`` towards +INF (``up``) or -INF."""
    bits = struct.unpack("<I", struct.pack("<f", f))[0]
    if f == 0:
        bits = 1 if up else 0x80000001
    elif (f > 0) == up:
        bits += 1
    else:
        bits -= 1
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def of_lexical(text: str) -> float:
    """The float32 value of an ``xsd:float`` lexical form, correctly rounded from the decimal
    (not through the double, which may land on a midpoint between two float32 values).

    Raises:
        ValueError: ``text`` is not a number.

    Example:
        >>> of_lexical("INF"), of_lexical("16777217"), of_lexical("16777217.000001")
        (inf, 16777216.0, 16777218.0)
    """
    s = text.strip()
    d = float(s.replace("INF", "inf"))
    f = round32(d)
    if f == d or math.isinf(f) or math.isnan(d):
        return f
    other = _neighbour(f, d > f)
    if math.isinf(other):
        return f
    mid = (Fraction(f) + Fraction(other)) / 2
    if Fraction(d) != mid:
        return f  # d is strictly nearer to f, and so is the decimal
    v = Fraction(s)
    if v == mid:
        return f  # a true tie: round32 already took the even one
    return other if (v > mid) == (other > f) else f


def shortest(f: float) -> float:
    """The double with the fewest decimal digits that is the float32 value ``f`` once read
    as an ``xsd:float`` (what a float result prints as: ``0.3``, not 0.30000001192092896).

    Example:
        >>> shortest(round32(0.1)), shortest(round32(1 / 3))
        (0.1, 0.33333334)
    """
    if math.isnan(f) or math.isinf(f) or f == 0:
        return f
    for digits in range(1, 10):
        cand = f"{f:.{digits}g}"
        if of_lexical(cand) == f:
            return float(cand)
    return f
