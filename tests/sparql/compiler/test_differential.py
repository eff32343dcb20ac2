"""Differential test: random small graphs and random BGP/OPTIONAL/FILTER/aggregate queries;
our answers must equal rdflib's in-memory evaluator's (W3C dataset semantics)."""

from __future__ import annotations

import os
from collections import Counter

import rdflib.plugins.sparql as rsparql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_engine.sparql.compiler import compile_query

from .conftest import Pair, norm_rows

PFX = "PREFIX ex: <http://example.org/> "
NODES = ["ex:a", "ex:b", "ex:c", "ex:d"]
PREDS = ["ex:p", "ex:q"]
OBJS = NODES + ['"x"', '"y"', '"x"@en', "1", "2", "3"]
VARS = ["?v1", "?v2", "?v3"]

triples = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(NODES), st.sampled_from(PREDS), st.sampled_from(OBJS)),
        st.tuples(st.sampled_from(NODES), st.just("ex:n"), st.sampled_from(["1", "2", "5", "7"])),
    ),
    min_size=0, max_size=14)

term_s = st.sampled_from(VARS + NODES[:2])
term_o = st.sampled_from(VARS + VARS + ["ex:a", '"x"', "2"])
pattern = st.tuples(term_s, st.sampled_from(PREDS + ["ex:n", "?pp"]), term_o)


def filters(var: str) -> st.SearchStrategy[str]:
    return st.sampled_from([
        f"FILTER({var} = ex:a)", f"FILTER({var} != ex:b)", f"FILTER(isNumeric({var}) && {var} > 1)",
        f"FILTER(isNumeric({var}) && {var} <= 2)", f"FILTER(bound({var}))", f"FILTER(!bound({var}))",
        f"FILTER(isIRI({var}))", f"FILTER(isLiteral({var}))", f'FILTER(regex(str({var}), "^[ax]"))',
        f"FILTER(isIRI({var}) || (isNumeric({var}) && {var} > 2))", f'FILTER(lang({var}) = "en")',
        f"FILTER NOT EXISTS {{ {var} ex:p ?zz }}", f"FILTER EXISTS {{ ?zz ex:q {var} }}",
    ])


@st.composite
def queries(draw) -> str:
    pats = draw(st.lists(pattern, min_size=1, max_size=3))
    body = " . ".join(" ".join(p) for p in pats)
    used = sorted({t for p in pats for t in p if t.startswith("?")})
    parts = [body]
    if draw(st.booleans()):
        o = draw(st.lists(pattern, min_size=1, max_size=2))
        parts.append("OPTIONAL { " + " . ".join(" ".join(p) for p in o) + " }")
        used = sorted(set(used) | {t for p in o for t in p if t.startswith("?")})
    if used and draw(st.booleans()):
        parts.append(draw(filters(draw(st.sampled_from(used)))))
    where = "{ " + " ".join(parts) + " }"
    kind = draw(st.sampled_from(["select", "select", "distinct", "count", "agg"]))
    if kind == "select" or not used:
        return f"SELECT * WHERE {where}"
    if kind == "distinct":
        return f"SELECT DISTINCT {' '.join(used)} WHERE {where}"
    key = draw(st.sampled_from(used))
    if kind == "count":
        return f"SELECT {key} (COUNT(*) AS ?c) WHERE {where} GROUP BY {key}"
    fn = draw(st.sampled_from(["SUM", "MIN", "MAX", "AVG", "COUNT"]))
    # §18.5.1: an unbound ?nv in a group makes SUM/MIN/MAX/AVG an error (unbound), as Oxigraph
    # and Jena answer; rdflib skips it. Only COUNT sees the raw OPTIONAL value here; the spec
    # case itself is checked against pyoxigraph in tests/sparql/differential/.
    arg = "?nv" if fn == "COUNT" else "COALESCE(?nv, 0)"
    return (f"SELECT {key} ({fn}({arg}) AS ?r) WHERE {{ {where[1:-1]} OPTIONAL {{ {key} ex:n ?nv }} }} "
            f"GROUP BY {key}")


def _graph(ts: list[tuple[str, str, str]]) -> str:
    return "@prefix ex: <http://example.org/> .\n" + "\n".join(f"{s} {p} {o} ." for s, p, o in ts)


# fixed example count (≈ 30 s); deterministic examples in CI (CI=1), fresh ones locally
@settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.too_slow])
@given(ts=triples, q=queries())
def test_random_queries_match_rdflib(ts, q):
    pair = Pair(_graph(ts))
    saved = rsparql.SPARQL_DEFAULT_GRAPH_UNION
    rsparql.SPARQL_DEFAULT_GRAPH_UNION = False
    try:
        theirs = pair.ds.query(PFX + q)
        tv = [str(v) for v in theirs.vars]
        # `SELECT * WHERE { ex:b ex:q ex:a }`: each match is an empty row, which iterating
        # rdflib's Result leaves out (and iterating first would use up its bindings)
        trows = [() for _ in theirs.bindings] if not tv else [tuple(r) for r in theirs]
    finally:
        rsparql.SPARQL_DEFAULT_GRAPH_UNION = saved
    cq = compile_query(pair.store, PFX + q)
    assert cq.full, (q, cq.declined)
    vars_, rows = cq.execute(pair.store)
    ours = norm_rows([str(v) for v in vars_], list(rows), tv)
    expected = norm_rows(tv, trows, tv)
    assert Counter(ours) == Counter(expected), f"{q}\n{_graph(ts)}\nours {ours}\ntheirs {expected}"
