"""Rule built-in comparisons answer as SPARQL FILTER does (kg_engine.testing.builtinsdiff)."""

from __future__ import annotations

import random

import pytest

from kg_engine.testing import builtinsdiff


def test_every_operator_and_operand_kind_agrees_with_filter() -> None:
    conds = [(op, c) for op in builtinsdiff.OPERATORS for c in builtinsdiff.CONSTANTS]
    assert builtinsdiff.compare(list(builtinsdiff.LITERALS), conds) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_random_draws_agree(seed: int) -> None:
    assert builtinsdiff.check(random.Random(seed), n_literals=10, n_conditions=8) == []


@pytest.mark.postgres
def test_every_operator_agrees_with_filter_on_postgresql(pg_server) -> None:
    conds = [(op, c) for op in builtinsdiff.OPERATORS for c in builtinsdiff.CONSTANTS]
    assert builtinsdiff.compare(list(builtinsdiff.LITERALS), conds, pg_server.new_database_url) == []
