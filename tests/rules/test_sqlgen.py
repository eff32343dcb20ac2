"""SQL text generated for rule bodies (no database needed)."""

from __future__ import annotations

import pytest
from rdflib import RDF, Literal, URIRef

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, Var
from kg_engine.rules.sqlgen import ConstantIds, Unsatisfiable, compile_body

x, y, z, n = Var("x"), Var("y"), Var("z"), Var("n")
P, Q, C = URIRef("urn:p"), URIRef("urn:q"), URIRef("urn:C")
IDS = ConstantIds({P: 10, Q: 11, C: 12, RDF.type: 3})


def test_join_and_constants_are_integer_ids():
    r = Rule("r", (Atom(x, P, y), Atom(y, Q, z)), (Atom(x, P, z),))
    q = compile_body(r, IDS, "sqlite")
    sql, params = q.select(q.head_exprs(r.head[0]))
    assert sql == "SELECT q0.s, 10, q1.o FROM kg_quads q0, kg_quads q1 WHERE q0.p = 10 AND q1.s = q0.o AND q1.p = 11"
    assert params == []


def test_delta_source_and_repeated_variable():
    r = Rule("r", (Atom(x, P, x),), (Atom(x, RDF.type, C),))
    q = compile_body(r, IDS, "postgresql", sources={0: "delta"})
    sql, _ = q.select(q.head_exprs(r.head[0]))
    assert "FROM delta q0" in sql and "q0.o = q0.s" in sql


def test_negation_becomes_not_exists_with_local_variables():
    r = Rule("r", (Atom(x, RDF.type, C), Not((Atom(x, P, z),))), (Atom(x, RDF.type, C),))
    q = compile_body(r, IDS, "sqlite")
    sql, _ = q.select(q.head_exprs(r.head[0]))
    assert "NOT EXISTS (SELECT 1 FROM kg_quads n1_q0 WHERE n1_q0.s = q0.s AND n1_q0.p = 10)" in sql


def test_negated_unknown_constant_is_dropped_and_positive_one_is_unsatisfiable():
    unknown = URIRef("urn:unknown")
    r = Rule("r", (Atom(x, RDF.type, C), Not((Atom(x, unknown, z),))), (Atom(x, RDF.type, C),))
    q = compile_body(r, IDS, "sqlite")
    assert "NOT EXISTS" not in q.select(q.head_exprs(r.head[0]))[0]
    with pytest.raises(Unsatisfiable):
        compile_body(Rule("r", (Atom(x, unknown, y),), (Atom(x, P, y),)), IDS, "sqlite")


def test_user_values_are_parameters():
    r = Rule("r", (Atom(x, P, y), Builtin("gt", (y, Literal(18))), Builtin("contains", (y, Literal("a'b")))),
             (Atom(x, RDF.type, C),))
    q = compile_body(r, IDS, "sqlite")
    sql, params = q.select(q.head_exprs(r.head[0]))
    assert "a'b" not in sql and 18.0 in params and "a'b" in params
    assert sql.count("?") == len(params)


def test_aggregate_is_a_grouped_subquery():
    r = Rule("r", (Aggregate("count", y, n, (x,), (Atom(x, P, y),)),), (Atom(x, Q, n),))
    q = compile_body(r, IDS, "sqlite")
    sql, _ = q.select(q.head_exprs(r.head[0]))
    assert "COUNT(x.v_y)" in sql and "GROUP BY x.v_x" in sql
    assert q.head_exprs(r.head[0])[2][1] == "num"


def test_unbound_builtin_variable_is_an_error():
    r = Rule("bad", (Atom(x, P, y), Builtin("gt", (z, Literal(1)))), (Atom(x, Q, y),))
    with pytest.raises(RuleSyntaxError, match="bad"):
        compile_body(r, IDS, "sqlite")


def test_bind_value_reaches_the_head():
    r = Rule("r", (Atom(x, P, y), Bind(z, Builtin("add", (y, Literal(1))))), (Atom(x, Q, z),))
    q = compile_body(r, IDS, "sqlite")
    exprs = q.head_exprs(r.head[0])
    assert exprs[2][1] == "num" and "+" in exprs[2][0]


def test_hidden_graphs_are_excluded_from_every_store_atom():
    ids = ConstantIds({P: 10, Q: 11, C: 12, RDF.type: 3}, hidden_graphs=[99, 98])
    r = Rule("r", (Atom(x, P, y), Atom(y, Q, z), Not((Atom(z, P, x),))), (Atom(x, P, z),))
    q = compile_body(r, ids, "sqlite", sources={1: "delta"})
    sql, _ = q.select(q.head_exprs(r.head[0]))
    assert "q0.g NOT IN (98, 99)" in sql  # the store atom
    assert "q1.g" not in sql  # the delta table has no graph column
    assert "n2_q0.g NOT IN (98, 99)" in sql  # inside the negation
    assert ids.with_ids({P: 1}).hidden_graphs == (98, 99)
    assert "NOT IN" not in compile_body(r, IDS, "sqlite").select_sql([("1", "id", [])])
