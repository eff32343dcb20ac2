"""xsd:float values: single-precision rounding from doubles and from lexical forms."""

from __future__ import annotations

import math
import struct

import pytest

from kg_engine.core.float32 import of_lexical, round32, shortest


def _via_struct(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize("x", [0.1, -0.1, 1 / 3, 16777217.0, 1e-45, 3.4028234663852886e38, 0.0, -0.0])
def test_round32_is_the_nearest_single(x: float) -> None:
    assert round32(x) == _via_struct(x)
    assert math.copysign(1, round32(x)) == math.copysign(1, x)


def test_round32_beyond_the_range_is_infinite() -> None:
    assert round32(1e39) == math.inf and round32(-1e39) == -math.inf
    assert math.isnan(round32(math.nan))


def test_of_lexical_rounds_the_decimal_not_its_double() -> None:
    # 1 + 2^-24 is the midpoint of 1 and 1 + 2^-23: a decimal a hair above it reads as a
    # double that IS the midpoint (ties to even: 1.0); the float is the upper neighbour
    assert of_lexical("1.000000059604644775390625") == 1.0
    assert of_lexical("1.0000000596046447753906250000000001") == 1 + 2 ** -23
    assert of_lexical("1.0000000596046447753906249999999999") == 1.0
    assert of_lexical("0.1") == _via_struct(0.1) and of_lexical(" -INF ") == -math.inf
    assert of_lexical("16777217") == 16777216.0


def test_shortest_digits_read_back_as_the_same_float() -> None:
    assert shortest(round32(0.1) * 3) != 0.3  # (not rounded to single: another value)
    assert shortest(round32(round32(0.1) * 3)) == 0.3
    assert shortest(of_lexical("0.33333334")) == 0.33333334
    for x in (1 / 7, 123456.789, 1e-40, 3.4e38):
        f = round32(x)
        assert of_lexical(repr(shortest(f))) == f
