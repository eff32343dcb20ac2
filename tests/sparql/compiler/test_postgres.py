"""The same compiled SQL runs on PostgreSQL (a throwaway server) with the same answers."""

from __future__ import annotations

import pytest

from . import test_aggregates, test_basic, test_graphs, test_modifiers, test_paths
from .conftest import DATA, Pair, assert_same

pytestmark = pytest.mark.postgres

CORPUS = (
    [(test_basic.P + q, False, False) for q in test_basic.QUERIES]
    + [(test_aggregates.P + q, "ORDER BY" in q, False) for q in test_aggregates.QUERIES]
    + [(test_modifiers.P + q, True, False) for q in test_modifiers.ORDERED]
    + [(test_graphs.P + q, False, False) for q in test_graphs.QUERIES]
)
PATHS = [(test_paths.P + q, False, "*" in q) for q in test_paths.QUERIES]


@pytest.fixture(scope="module")
def pg_pair(pg_server):
    return Pair(DATA, url=pg_server.new_database_url())


@pytest.fixture(scope="module")
def pg_paths(pg_server):
    return Pair(test_paths.DATA, url=pg_server.new_database_url())


@pytest.mark.parametrize("q,ordered,as_set", CORPUS)
def test_postgres_same_answers(pg_pair, oracle_semantics, q, ordered, as_set):
    assert_same(pg_pair, q, ordered=ordered, as_set=as_set)


@pytest.mark.parametrize("q,ordered,as_set", PATHS)
def test_postgres_paths(pg_paths, oracle_semantics, q, ordered, as_set):
    assert_same(pg_paths, q, ordered=ordered, as_set=as_set)
