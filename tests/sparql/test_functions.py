"""Conformance fixes over rdflib's evaluator (kg_engine.sparql.functions / xsd / aggregates)."""

from __future__ import annotations

import pytest
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql.sparql import SPARQLError

from kg_engine.sparql import QueryEngine, xsd
from kg_engine.sparql.rdflib_plugin import KgDataset

EX = "http://example.org/"


def _ds() -> Dataset:
    return KgDataset(store="Memory", engine=QueryEngine())


def _rows(ds: Dataset, q: str) -> list[dict[str, str]]:
    """Solutions as dicts (``.bindings`` keeps all-unbound solutions; iteration skips them)."""
    return [{str(k): str(v) for k, v in b.items()} for b in ds.query(q).bindings]


def test_date_time_comparison_honours_timezones() -> None:
    dt = lambda s: Literal(s, datatype=XSD.dateTime)
    assert xsd.equal(dt("2006-08-23T09:00:00+01:00"), dt("2006-08-23T08:00:00Z"))
    assert xsd.compare(dt("2006-08-23T09:00:00Z"), dt("2006-08-23T08:00:00Z")) == 1
    # no timezone vs timezone within 14 hours: indeterminate -> error
    with pytest.raises(SPARQLError):
        xsd.compare(dt("2006-08-23T09:00:00"), dt("2006-08-23T08:00:00Z"))
    assert xsd.compare(dt("2006-08-25T09:00:00"), dt("2006-08-23T08:00:00Z")) == 1


def test_open_world_equality() -> None:
    t1 = URIRef(EX + "t1")
    a, b = Literal("a", datatype=t1), Literal("b", datatype=t1)
    assert xsd.equal(a, a)
    with pytest.raises(SPARQLError):  # may be the same value: unknown
        xsd.equal(a, b)
    assert not xsd.equal(Literal("a", lang="en"), b)
    assert xsd.equal(Literal("01", datatype=XSD.integer), Literal("1.0", datatype=XSD.decimal))
    assert not xsd.equal(Literal(1), Literal("1"))
    assert xsd.equal(Literal("abc"), Literal("abc", datatype=XSD.string))


def test_casts_follow_xpath() -> None:
    assert str(xsd.cast(Literal("+33.3300"), XSD.decimal)) == "33.33"
    assert str(xsd.cast(Literal("-1", datatype=XSD.integer), XSD.boolean)) == "true"
    assert str(xsd.cast(Literal("1.0", datatype=XSD.decimal), XSD.string)) == "1"
    assert str(xsd.cast(Literal("-7.875", datatype=XSD.float), XSD.integer)) == "-7"
    for bad, target in [("1.5", XSD.integer), ("13", XSD.boolean), ("1E0", XSD.decimal)]:
        with pytest.raises(SPARQLError):
            xsd.cast(Literal(bad), target)


def test_regex_flags_x_and_q() -> None:
    ds = _ds()
    assert ds.query('ASK { FILTER(REGEX("abc", "a b c", "x")) }').askAnswer
    assert ds.query('ASK { FILTER(REGEX("a.c", ".", "q")) }').askAnswer
    assert not ds.query('ASK { FILTER(REGEX("abc", "a.c", "q")) }').askAnswer


def test_bnode_with_string_is_per_solution() -> None:
    ds = _ds()
    q = ('SELECT ?x (BNODE("k") AS ?b1) (BNODE("k") AS ?b2) '
         'WHERE { VALUES ?x { 1 2 } }')
    rows = list(ds.query(q))
    assert len(rows) == 2
    for r in rows:
        assert isinstance(r.b1, BNode) and r.b1 == r.b2
    assert rows[0].b1 != rows[1].b1


def test_coalesce_skips_errors_and_never_leaks_them() -> None:
    ds = _ds()
    assert _rows(ds, "SELECT (COALESCE(1/0, ?unbound, 7) AS ?v) WHERE {}") == [{"v": "7"}]
    assert _rows(ds, "SELECT (COALESCE() AS ?v) WHERE {}") == [{}]


def test_empty_group_aggregates() -> None:
    ds = _ds()
    q = f"SELECT (COUNT(*) AS ?c) WHERE {{ ?s <{EX}p> ?o }}"
    assert _rows(ds, q) == [{"c": "0"}]
    assert _rows(ds, q + " GROUP BY ?s") == []
    assert _rows(ds, f"SELECT (MAX(?o) AS ?m) WHERE {{ ?s <{EX}p> ?o }}") == [{}]


def test_avg_is_an_error_over_non_numbers() -> None:
    ds = _ds()
    ds.update(f'PREFIX : <{EX}> INSERT DATA {{ :x :p 1, 2 . :y :p 1, "a" }}')
    rows = _rows(ds, f"SELECT ?s (AVG(?o) AS ?a) WHERE {{ ?s <{EX}p> ?o }} GROUP BY ?s")
    by_s = {r["s"]: r.get("a") for r in rows}
    assert by_s == {EX + "x": "1.5", EX + "y": None}


def test_numeric_type_promotion_keeps_float() -> None:
    ds = _ds()
    r = list(ds.query('SELECT ("1.5"^^<http://www.w3.org/2001/XMLSchema#float> * 2.0 AS ?v) {}'))
    assert r[0].v.datatype == XSD.float and float(r[0].v) == 3.0
    r = list(ds.query("SELECT (1 / 2 AS ?v) {}"))
    assert r[0].v.datatype == XSD.decimal and float(r[0].v) == 0.5


def test_graph_empty_group_only_for_existing_graphs() -> None:
    ds = _ds()
    ds.update(f"CREATE GRAPH <{EX}g>")
    assert ds.query(f"ASK {{ GRAPH <{EX}g> {{ }} }}").askAnswer
    assert not ds.query(f"ASK {{ GRAPH <{EX}missing> {{ }} }}").askAnswer


def test_negated_property_set_with_inverse() -> None:
    ds = _ds()
    ds.update(f"PREFIX : <{EX}> INSERT DATA {{ :a :p :b . :b :q :c }}")
    q = f"PREFIX : <{EX}> SELECT ?s ?o WHERE {{ ?s !^:p ?o }}"
    # !^:p = ^(!:p): pairs (s, o) with a triple o -> s whose predicate is not :p
    assert {(str(r.s), str(r.o)) for r in ds.query(q)} == {(EX + "c", EX + "b")}
    q = f"PREFIX : <{EX}> SELECT ?s ?o WHERE {{ ?s !(:q|^:q) ?o }}"
    assert {(str(r.s), str(r.o)) for r in ds.query(q)} == {(EX + "a", EX + "b"),
                                                           (EX + "b", EX + "a")}


def test_subquery_does_not_see_outer_bindings() -> None:
    ds = _ds()
    ds.update(f"PREFIX : <{EX}> INSERT DATA {{ :o1 :item :x . :o2 :item :y }}")
    q = (f"PREFIX : <{EX}> SELECT ?a ?b WHERE {{ ?a :item ?i "
         f"{{ SELECT ?b WHERE {{ ?b :item ?i }} }} }}")
    # ?i inside the sub-select is a different variable: a cross product, not a join on ?i
    assert len(list(ds.query(q))) == 4


def test_zero_length_path_join_is_bottom_up() -> None:
    ds = _ds()
    ds.update(f"PREFIX : <{EX}> INSERT DATA {{ :a :p :b }}")
    q = f"PREFIX : <{EX}> SELECT * WHERE {{ VALUES ?v {{ 1 }} ?v :p? ?v }}"
    assert list(ds.query(q)) == []  # 1 is not a node of the graph
    q = f"PREFIX : <{EX}> SELECT * WHERE {{ VALUES ?v {{ :a }} ?v :p? ?v }}"
    assert len(list(ds.query(q))) == 1


def test_arithmetic_lexical_forms() -> None:
    ds = _ds()
    r = list(ds.query('SELECT ("1.0"^^<http://www.w3.org/2001/XMLSchema#decimal> + 2 AS ?a) '
                      '(4 / 2 AS ?b) ("3"^^<http://www.w3.org/2001/XMLSchema#double> + 3 AS ?c) {}'))
    assert (str(r[0].a), str(r[0].b), str(r[0].c)) == ("3.0", "2.0", "6")
