"""Differential testing against pyoxigraph (issue 19): a fixed-seed slice of generated
queries must agree, and the harness itself (comparison, ordering, shrinking) must work.

The long run is ``benchmarks/sparql_differential.py`` (fresh seeds, a JSON report)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyoxigraph")

from kg_engine.testing.differential import (
    Case,
    Engines,
    QueryGenerator,
    compare,
    evaluate,
    make_dataset,
    run,
    shrink,
)

FAILING = ("differ", "kg-error", "kg-timeout")


def _check(report) -> None:
    bad = [f for f in report.failures if f["status"] in FAILING]
    assert not bad, "\n".join(f"{f['status']}: {f.get('shrunk', f['query'])}\n  {f['detail']}" for f in bad)


#: the sixth widening (durations) is left out of the fixed slices: its differences are
#: pyoxigraph 0.5's (``?x + "P1D"^^xsd:dayTimeDuration`` with a constant duration is unbound
#: there; ``COUNT(?b - ?a)`` over rows where ``-`` errs is unbound, not 0) or the documented
#: MIN/MAX-over-errors deviation; the benchmark runs judge them (docs/sparql.md)


def test_fixed_seed_slice_agrees_on_sqlite() -> None:
    report = run(11, 150, datasets=3, shrink_failures=True, max_shrunk=5, widen6=False)
    _check(report)
    assert report.counts["agree"] >= 120  # the slice really compares answers


@pytest.mark.postgres
def test_fixed_seed_slice_agrees_on_postgres(pg_server) -> None:
    report = run(14, 60, url=pg_server.new_database_url, datasets=2, max_shrunk=3, widen6=False)
    _check(report)


def test_generator_is_deterministic_and_covers_the_grammar() -> None:
    a = [QueryGenerator(5).query().render() for _ in range(1)]
    b = [QueryGenerator(5).query().render() for _ in range(1)]
    assert a == b
    gen = QueryGenerator(3)
    text = " ".join(gen.query().render() for _ in range(400))
    for word in ("OPTIONAL", "UNION", "MINUS", "FILTER", "EXISTS", "NOT EXISTS", "BIND", "VALUES",
                 "GRAPH", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "DISTINCT", "ASK", "CONSTRUCT",
                 "FROM NAMED", "UNDEF", "+ ", "*", "^", "|", "SUBSTR", "REGEX", "COALESCE", "IN (",
                 "{ SELECT", "COUNT(*)", "GROUP_CONCAT"):
        assert word in text, word


def test_compare_bags_and_order() -> None:
    case = Case(["select", ["?v0"], ["group", ["triple", "?v0", "ex:p0", "?v1"]],
                 {"distinct": False, "order": ["?v0"], "limit": None, "offset": None,
                  "group": [], "having": None}])
    one, two = ("lit", "1", "http://www.w3.org/2001/XMLSchema#integer", ""), \
        ("lit", "2", "http://www.w3.org/2001/XMLSchema#integer", "")
    assert compare(case, (["v0"], [(one,), (two,)]), (["v0"], [(one,), (two,)])).status == "agree"
    assert compare(case, (["v0"], [(two,), (one,)]), (["v0"], [(one,), (two,)])).status == "differ"
    assert compare(case, (["v0"], [(one,), (one,)]), (["v0"], [(one,)])).status == "differ"
    case.tree[3]["limit"] = 2  # ties at the cut may differ
    three = ("lit", "3", "http://www.w3.org/2001/XMLSchema#integer", "")
    assert compare(case, (["v0"], [(one,), (two,)]), (["v0"], [(one,), (two,)])).status == "agree"
    assert compare(case, (["v0"], [(one,), (three,)]), (["v0"], [(two,), (three,)])).status == "differ"


def test_shrink_finds_a_minimal_failing_query() -> None:
    gen = QueryGenerator(21)
    case = next(c for c in (gen.query() for _ in range(500))
                if "MINUS" in c.render() and len(c.render()) > 250)
    small = shrink(case, lambda c: "MINUS" in c.render())
    assert "MINUS" in small.render() and len(small.render()) < len(case.render())


def test_evaluate_reports_an_engine_error_as_a_finding() -> None:
    engines = Engines(make_dataset(1))
    case = Case(["ask", ["group", ["filter", ["call", "ex:noSuchFunction", ["atom", "1"]]]]])
    assert evaluate(engines, case).status in ("agree", "kg-error", "ox-error")


def test_widened_grammar_covers_its_constructs_and_can_be_turned_off() -> None:
    gen = QueryGenerator(700300)
    text = " ".join(gen.query().render() for _ in range(600))
    for word in ("GROUP BY (", "AS ?gk)", "EXISTS { ?", "MINUS { ?m1", "OFFSET", "?v4",
                 '"abc"@EN', "xsd:date", "(ex:p0|ex:p1)*", "COALESCE(", "UNDEF"):
        assert word in text, word
    assert "HAVING ((EXISTS" in text or "HAVING (EXISTS" in text or "HAVING (NOT EXISTS" in text
    # widen=False: none of it (the queries runs before the widening generated)
    old = " ".join(QueryGenerator(700300, widen=False).query().render() for _ in range(600))
    assert "AS ?gk)" not in old and "?m1" not in old and '"abc"@EN' not in old


def test_fourth_widening_covers_its_constructs_and_can_be_turned_off() -> None:
    gen = QueryGenerator(1100300, widen5=False)  # (the fifth widening draws instead of some)
    text = " ".join(gen.query().render() for _ in range(800))
    for word in ('"^^xsd:float', "xsd:short", '"😀"', '"ß"', "ENCODE_FOR_URI(", "STRBEFORE(",
                 "FROM NAMED ex:g2", "GRAPH ?g", "_:c", "ex:p2+", "ex:p2*", "/!", "ORDER BY DESC(?agg)",
                 "REPLACE(", '"[$0]"', "SHA1(", "2021-06-01T10:00:00+02:00"):
        assert word in text, word
    # widen4=False: the queries and data runs before the widening had for the same seed (the
    # digests of what main gave before it)
    import hashlib
    gen = QueryGenerator(1100300, widen4=False)
    before = "\n".join(gen.query().render() for _ in range(50))
    assert hashlib.sha256(before.encode()).hexdigest() == \
        "e5a57ef5b75f59e8aedc441b028a64366307177d2cc13ee82be49bf4d27c0e39"
    assert hashlib.sha256(make_dataset(5, widen4=False).encode()).hexdigest() == \
        "5472f28742127b2e7840fc5e65103523a8d19279f94a556e5a771869acb99da2"


def test_construct_results_are_compared_up_to_blank_node_renaming() -> None:
    # a CONSTRUCT giving one blank node for two solutions, where the template asks a fresh one
    # per solution, is a difference (blank nodes compared as "some blank node" hid it)
    iri = lambda x: ("iri", "http://e/" + x)
    bn = lambda x: ("bnode", x)
    case = Case(["construct", [], ["group"]])
    fresh = {(iri("a"), iri("p"), bn("x")), (bn("x"), iri("q"), iri("b")),
             (iri("c"), iri("p"), bn("y")), (bn("y"), iri("q"), iri("d"))}
    renamed = {(iri("a"), iri("p"), bn("1")), (bn("1"), iri("q"), iri("b")),
               (iri("c"), iri("p"), bn("2")), (bn("2"), iri("q"), iri("d"))}
    shared = {(iri("a"), iri("p"), bn("1")), (bn("1"), iri("q"), iri("b")),
              (iri("c"), iri("p"), bn("1")), (bn("1"), iri("q"), iri("d"))}
    assert compare(case, fresh, renamed).status == "agree"
    assert compare(case, fresh, shared).status == "differ"
    engines = Engines(make_dataset(3))
    q = Case(["construct", [["triple", "?s", "ex:p0", "_:c"], ["triple", "_:c", "ex:p1", "?o"]],
              ["group", ["graph", "?g", ["group", ["triple", "?s", "ex:p0", "?o"]]]]])
    assert evaluate(engines, q).status == "agree"


def test_shrinking_never_keeps_a_slice_without_its_order() -> None:
    # a sub-select "ORDER BY ?agg ?v3 LIMIT 2" shrunk to "LIMIT 2" picks any two rows: the
    # shrunk query then "differs" by chance (seed 1100005)
    from kg_engine.testing.differential import _candidates
    sub = ["select", ["?v3"], ["group", ["triple", "?v3", "?pp", "?v2"]],
           {"distinct": False, "order": ["?v3"], "limit": 2, "offset": None, "group": [],
            "having": None}]
    case = Case(["select", ["?v3"], ["group", ["subquery", sub]],
                 {"distinct": False, "order": [], "limit": None, "offset": None, "group": [],
                  "having": None}])
    for cand in _candidates(case):
        text = cand.render()
        assert "LIMIT" not in text or "ORDER BY" in text, text


def test_fifth_widening_covers_its_constructs_and_can_be_turned_off() -> None:
    gen = QueryGenerator(1500300)
    text = " ".join(gen.query().render() for _ in range(800))
    for word in ("9007199254740993", '"NaN"^^xsd:double', "LANGMATCHES(LANG(", '"EN-US"', '"q"',
                 '""@en', '2021-01-01T00:00:00"', "TIMEZONE(", "GRAPH ?g { ?", "ex:zz", "(^ex:",
                 "SUM(DISTINCT", "/ 0)", "ex:nope", "SELECT REDUCED", "NOT EXISTS { VALUES",
                 "MINUS { VALUES", "OPTIONAL { VALUES", "sameTerm("):
        assert word in text, word
    data = make_dataset(5)
    assert '"NaN"^^xsd:double' in data and "9007199254740993" in data
    # widen5=False: the queries and data runs before the widening had for the same seed (the
    # digests of what main gave before it)
    import hashlib
    gen = QueryGenerator(1500300, widen5=False)
    before = "\n".join(gen.query().render() for _ in range(50))
    assert hashlib.sha256(before.encode()).hexdigest() == \
        "8aef1b91de1384336e13de1abef070b28079311c826056006c4ff4d28b8e8311"
    assert hashlib.sha256(make_dataset(5, widen5=False).encode()).hexdigest() == \
        "45bce33d6ca0f4d063416eb88e60d2c23fbc73179bf34cc24935f2697aacb4fe"


def test_nan_is_not_ordered_when_checking_order_by() -> None:
    # a NaN key beside a number: the harness's order check crashed (decimal.InvalidOperation)
    from kg_engine.testing.differential import _key_cmp
    dbl = "http://www.w3.org/2001/XMLSchema#double"
    assert _key_cmp(("lit", "nan", dbl, ""), ("lit", "1.0", dbl, "")) is None
    assert _key_cmp(("lit", "2.0", dbl, ""), ("lit", "1.0", dbl, "")) == 1


def test_sixth_widening_covers_durations_and_can_be_turned_off() -> None:
    gen = QueryGenerator(2200300)
    text = " ".join(gen.query().render() for _ in range(800))
    for word in ('"PT1H"^^xsd:dayTimeDuration', '"P1M"^^xsd:yearMonthDuration', "?d6", "ORDER BY DESC(?d6)",
                 "(-?", "DATATYPE((", "NOT IN (", "MAX(("):
        assert word in text, word
    assert '"P30D"^^xsd:dayTimeDuration' in make_dataset(5)
    # widen6=False: the queries and data runs before the widening had for the same seed (the
    # digests of what main gave before it)
    import hashlib
    gen = QueryGenerator(2200300, widen6=False)
    before = "\n".join(gen.query().render() for _ in range(50))
    assert hashlib.sha256(before.encode()).hexdigest() == \
        "0b0ac4dec9f2e5f1daf826c65711cc57f31db63603055abe5beb014a4933f4c8"
    assert hashlib.sha256(make_dataset(5, widen6=False).encode()).hexdigest() == \
        "131d2c3bafd2616b54a08aede837c58ced0d50efef88424dcf4046ec990f7e05"
