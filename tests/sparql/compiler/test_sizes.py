"""Queries past the compiler's size thresholds stay in SQL, with the right answer (found by
:mod:`kg_engine.testing.sizediff`)."""

from __future__ import annotations

import logging

import pytest

from kg_engine.api import KnowledgeGraph
from kg_engine.sparql.engine import QueryEngine

P = "PREFIX ex: <http://example.org/> "


@pytest.fixture
def kg(store_url: str):
    with KnowledgeGraph(store_url) as kg:
        kg.update(P + "INSERT DATA { " + " ".join(f"ex:e{i} ex:val {i % 7} ." for i in range(300)) + " }")
        yield kg


def _compiled(kg: KnowledgeGraph, q: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """The answer's ?s values; fails unless the query ran as one SQL statement, without the
    Python evaluator (``kg_expr``) and without a failed SQL statement handed to rdflib."""
    plan = QueryEngine().explain(kg.graph, q)
    assert plan.startswith("-- fully compiled") and "kg_expr" not in plan, plan[:300]
    with caplog.at_level(logging.WARNING, logger="kg_engine"):
        got = sorted(str(r.s) for r in kg.query(q))
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text[:300]
    return got


@pytest.mark.parametrize("op", ["||", "&&"])
def test_connective_past_sqlites_expression_depth(kg, op, caplog):
    # 1,001 disjuncts (conjuncts) joined flat were an expression tree of depth 1,001: SQLite
    # refused it ("Expression tree is too large (maximum depth 1000)") and rdflib's evaluator
    # answered (a timeout at 2,000 rows); balanced, it is one SQL statement
    test = "=" if op == "||" else "!="
    cond = f" {op} ".join(f"?s {test} ex:e{j * 2}" for j in range(1001))
    got = _compiled(kg, P + f"SELECT ?s WHERE {{ ?s ex:val ?o FILTER({cond}) }}", caplog)
    picked = {f"http://example.org/e{j * 2}" for j in range(1001)}
    every = {f"http://example.org/e{i}" for i in range(300)}
    assert set(got) == (every & picked if op == "||" else every - picked)


def test_connective_of_numeric_comparisons_past_expr_sql_max(kg, caplog):
    # each `?o != 3` is ~3,000 characters of SQL (exactness guards): 16 of them passed
    # EXPR_SQL_MAX and the whole FILTER went to the Python evaluator (SQLite) or rdflib
    # (PostgreSQL); a connective repeats no operand, so only its parameters are bounded
    cond = " && ".join(f"?o != {j}" for j in range(3, 19))
    got = _compiled(kg, P + f"SELECT ?s WHERE {{ ?s ex:val ?o FILTER({cond}) }}", caplog)
    assert got == sorted(f"http://example.org/e{i}" for i in range(300) if i % 7 < 3)
