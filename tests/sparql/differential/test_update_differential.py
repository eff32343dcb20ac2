"""The SPARQL Update differential (kg_engine.testing.updatediff): the store comparer, the
generator, and a small fixed-seed slice that must agree with pyoxigraph.

The long run is ``benchmarks/sparql_differential.py --update`` (fresh seeds, a JSON report)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyoxigraph")

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.testing.updatediff import (
    Request,
    State,
    UpdateEngines,
    UpdateGenerator,
    compare_states,
    evaluate,
    existing_statements,
    run,
    same_quads,
    shrink,
)

A, P, G = URIRef("http://example.org/a"), URIRef("http://example.org/p"), "http://example.org/g"


def test_states_equal_up_to_blank_node_renaming() -> None:
    b1, b2, c1, c2 = BNode(), BNode(), BNode(), BNode()
    kg = State({(b1, P, b2, ""), (b2, P, A, G)}, {G})
    ox = State({(c1, P, c2, ""), (c2, P, A, G)}, {G})
    assert compare_states(kg, ox).status == "agree"
    # the same shapes, but the node shared by two quads is not shared on one side
    ox2 = State({(c1, P, c2, ""), (c1, P, A, G)}, {G})
    assert compare_states(kg, ox2).status == "differ"
    # one blank node where the other store has two distinct ones (fresh nodes reused)
    ox3 = State({(c1, P, c1, ""), (c2, P, A, G)}, {G})
    assert compare_states(kg, ox3).status == "differ"


def _fresh_leaves(n: int) -> set[tuple]:
    """The state shape on which update seed 990022 hung: ``n`` interchangeable fresh blank
    nodes (``INSERT { ex:n6 ex:p1 _:t } WHERE …`` over ``n`` solutions) beside a blank node
    with a self-loop and quads in named graphs (rdflib's ``isomorphic`` is exponential here:
    40 nodes took 25 s, 260 never finished)."""
    n6, p1 = URIRef("http://example.org/n6"), URIRef("http://example.org/p1")
    b = BNode()
    return {(n6, p1, BNode(), "") for _ in range(n)} | {(b, P, b, ""), (b, P, A, G), (A, P, b, G)}


def test_many_interchangeable_blank_nodes_compare_quickly() -> None:
    assert same_quads(_fresh_leaves(300), _fresh_leaves(300)) is True
    assert compare_states(State(_fresh_leaves(300), {G}), State(_fresh_leaves(300), {G})).status \
        == "agree"
    # one fresh node replaced by a second self-looped node: same size, not isomorphic
    y = BNode()
    other = _fresh_leaves(299) | {(y, P, y, "")}
    assert len(other) == len(_fresh_leaves(300))
    assert same_quads(_fresh_leaves(300), other) is False


def test_a_comparison_that_does_not_finish_is_undecided(monkeypatch) -> None:
    import os
    import time

    from kg_engine.testing import updatediff

    if not hasattr(os, "fork"):
        pytest.skip("the time box needs fork")
    monkeypatch.setattr(updatediff, "_canonical_equal", lambda a, b: time.sleep(60))
    assert same_quads(_fresh_leaves(20), _fresh_leaves(20), limit=0.2) is None
    monkeypatch.setattr(updatediff, "COMPARE_SECONDS", 0.2)
    out = compare_states(State(_fresh_leaves(20), set()), State(_fresh_leaves(20), set()))
    assert out.status == "undecided"  # reported, never counted as agreement
    assert "did not finish" in out.detail


def test_lost_quads_refusals_and_empty_graphs() -> None:
    one = Literal("1", datatype=XSD.integer)
    kg = State({(A, P, one, "")}, set())
    assert compare_states(kg, State(set(), set())).status == "differ"
    assert "1 vs 0 quads" in compare_states(kg, State(set(), set())).detail
    assert compare_states(State({(A, P, one, "")}, set(), error="UpdateError: x"),
                          State({(A, P, one, "")}, set())).status == "kg-error"
    assert compare_states(State({(A, P, one, "")}, set()),
                          State({(A, P, one, "")}, set(), error="SyntaxError")).status == "ox-error"
    # a graph one store keeps empty: allowed by the spec
    assert compare_states(State({(A, P, one, "")}, {G}),
                          State({(A, P, one, "")}, set())).status == "deviation:empty-graph"
    # …but not a graph that holds quads
    assert compare_states(State({(A, P, one, G)}, {G}),
                          State({(A, P, one, G)}, set())).status == "differ"


def test_generator_is_deterministic_and_covers_the_update_grammar() -> None:
    existing = ["<http://example.org/n0> <http://example.org/p0> <http://example.org/n1> ."]
    a = [UpdateGenerator(9, existing).request().render() for _ in range(3)]
    assert a == [UpdateGenerator(9, existing).request().render() for _ in range(3)]
    gen = UpdateGenerator(4, existing)
    text = " ".join(gen.request().render() for _ in range(300))
    for word in ("INSERT DATA", "DELETE DATA", "DELETE WHERE", "WITH ex:", "USING ex:",
                 "USING NAMED", "INSERT {", "DELETE {", "CLEAR", "DROP", "CREATE", "ADD", "COPY",
                 "MOVE", "SILENT", " ;\n", "GRAPH ex:g3", "_:", "DEFAULT", "ALL", "NAMED"):
        assert word in text, word


def test_existing_statements_keep_lexical_forms() -> None:
    trig = ('@prefix ex: <http://example.org/> .\nex:a ex:p "10"^^<http://www.w3.org/2001/'
            'XMLSchema#double> .\nex:g1 { ex:a ex:p ex:b . _:x ex:p ex:b . }\n')
    got = existing_statements(trig)
    assert got == [('<http://example.org/a> <http://example.org/p> '
                    '"10"^^<http://www.w3.org/2001/XMLSchema#double> .'),
                   ('GRAPH <http://example.org/g1> { <http://example.org/a> <http://example.org/p> '
                    '<http://example.org/b> . }')]


def test_evaluate_and_shrink_find_a_planted_difference() -> None:
    trig = "@prefix ex: <http://example.org/> .\nex:n0 ex:p0 ex:n1 .\n"
    eng = UpdateEngines(trig)
    ins = {"kind": "INSERT DATA", "data": [["", "ex:n0 ex:p1 ex:n2 ."]]}
    clear = {"kind": "CLEAR", "silent": False, "target": "DEFAULT"}
    assert evaluate(eng, Request([ins, clear])).status == "agree"
    # a planted fault: kg-engine's store loses a statement after the update
    real = eng.run_kg

    def lossy(text: str) -> State:
        st = real(text)
        st.quads = {q for q in st.quads if "p1" not in str(q[1])}
        return st
    eng.run_kg = lossy  # type: ignore[method-assign]
    req = Request([clear, ins, {"kind": "CREATE", "silent": True, "target": "ex:g3"}])
    assert evaluate(eng, req).status == "differ"
    small = shrink(req, lambda r: evaluate(eng, r).status == "differ")
    assert small.ops == [ins]


def test_fixed_seed_slice_agrees_on_sqlite() -> None:
    report = run(21, 60, datasets=2, max_shrunk=3)
    bad = [f for f in report.failures if f["status"] in ("differ", "kg-error")]
    assert not bad, "\n".join(f"{f['status']}: {f.get('shrunk', f['query'])}\n  {f['detail']}"
                              for f in bad)
    assert report.counts["agree"] >= 50


@pytest.mark.postgres
def test_fixed_seed_slice_agrees_on_postgres(pg_server) -> None:
    report = run(22, 30, url=pg_server.new_database_url, datasets=1, max_shrunk=2)
    bad = [f for f in report.failures if f["status"] in ("differ", "kg-error")]
    assert not bad, "\n".join(f"{f['status']}: {f.get('shrunk', f['query'])}" for f in bad)
