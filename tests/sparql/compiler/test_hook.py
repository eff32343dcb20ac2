"""The CUSTOM_EVALS hook: SQL answers the largest compilable sub-plans of a hybrid query."""

from __future__ import annotations

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql.parserutils import CompValue

from kg_engine.sparql.compiler import evaluate_part, install, uninstall
from kg_engine.sparql.compiler import hook as hook_mod
from kg_engine.store.rdflib_store import KgEngineStore

from .conftest import DATA, Pair, norm_rows

P = "PREFIX ex: <http://example.org/> "


@pytest.fixture
def hooked(oracle_semantics):
    saved = dict(CUSTOM_EVALS)
    CUSTOM_EVALS.clear()
    calls: list[tuple[str, bool]] = []

    def spy(ctx, part):
        try:
            res = evaluate_part(ctx, part)
        except NotImplementedError:
            calls.append((part.name, False))
            raise
        calls.append((part.name, True))
        return res
    CUSTOM_EVALS["kg_engine_test"] = spy
    yield calls
    CUSTOM_EVALS.clear()
    CUSTOM_EVALS.update(saved)


@pytest.fixture(scope="module")
def both():
    pair = Pair(DATA)
    ds = Dataset(store=KgEngineStore(store=pair.store))
    return pair, ds


def _cmp(pair, ds, q, calls=None):
    theirs = pair.ds.query(P + q)
    theirs = [tuple(r) for r in theirs], theirs.vars
    if calls is not None:
        calls.clear()  # only count the hook calls for our store
    ours = ds.query(P + q)
    tv = [str(v) for v in theirs[1]]
    a = norm_rows([str(v) for v in ours.vars], [tuple(r) for r in ours], tv)
    b = norm_rows(tv, theirs[0], tv)
    assert sorted(map(repr, a)) == sorted(map(repr, b)), q


def test_whole_query_compiled(both, hooked):
    pair, ds = both
    _cmp(pair, ds, "SELECT ?s ?n WHERE { ?s a ex:Person ; ex:name ?n FILTER regex(?n, 'a', 'i') }",
         hooked)
    assert hooked[0] == ("SelectQuery", True)
    assert len(hooked) == 1


def test_declined_node_children_compiled(both, hooked):
    pair, ds = both
    # BNODE() is not compiled (a fresh blank node per call): the Extend falls back, its
    # BGP child runs in SQL
    q = 'SELECT ?s ?u WHERE { ?s ex:name ?n . ?s ex:age ?a BIND(isBLANK(BNODE(?n)) AS ?u) }'
    _cmp(pair, ds, q, hooked)
    names = dict(hooked)
    assert names.get("Extend") is False
    assert ("BGP", True) in hooked or ("Join", True) in hooked


def test_bindings_from_ctx_are_honoured(both, hooked):
    pair, ds = both
    # OPTIONAL with a non-compiled filter: rdflib evaluates the LeftJoin, and evaluates the
    # right side under each left solution (ctx bindings) through the hook
    q = ("SELECT ?s ?o ?k WHERE { ?s ex:worksFor ?o OPTIONAL { ?s ex:nick ?k "
         "FILTER(isBLANK(BNODE(?k)) && ?k != 'D') } }")
    _cmp(pair, ds, q, hooked)
    assert any(n == "BGP" and ok for n, ok in hooked)


def test_init_bindings(both, hooked):
    _, ds = both
    res = ds.query(P + "SELECT ?n WHERE { ?s ex:name ?n }",
                   initBindings={"s": URIRef("http://example.org/bob")})
    assert [tuple(r) for r in res] == [(Literal("Bob"),)]


def test_other_graphs_are_declined(oracle_semantics):
    from rdflib import Graph
    from rdflib.plugins.sparql.sparql import QueryContext
    g = Graph()
    ctx = QueryContext(g)
    with pytest.raises(NotImplementedError):
        evaluate_part(ctx, CompValue("BGP", triples=[]))


def test_install_uninstall():
    saved = dict(CUSTOM_EVALS)
    try:
        install()
        assert CUSTOM_EVALS[hook_mod.HOOK_NAME] is evaluate_part
        uninstall()
        assert hook_mod.HOOK_NAME not in CUSTOM_EVALS
    finally:
        CUSTOM_EVALS.clear()
        CUSTOM_EVALS.update(saved)


def test_from_named_only_default_graph_is_compiled(monkeypatch):
    """FROM NAMED without FROM: the default graph is empty (an in-memory rdflib graph in the
    query's view); the hook compiles the patterns over it (no graph) and over the named
    graphs, with the rdflib path's answers."""
    from kg_engine import KnowledgeGraph
    from kg_engine.sparql import evaluation
    from kg_engine.sparql.engine import default_engine

    kg = KnowledgeGraph("sqlite://")
    kg.update(P + "INSERT DATA { ex:d ex:p ex:e . GRAPH ex:g1 { ex:a ex:p ex:b . ex:b ex:p 1 } "
                  "GRAPH ex:g2 { ex:c ex:p ex:d } }")
    declined: list[str] = []
    compiled = evaluation._compiler()

    def spy(ctx, part):
        try:
            return compiled(ctx, part)
        except NotImplementedError as exc:
            declined.append(f"{part.name}: {exc}")
            raise
    monkeypatch.setattr(evaluation, "_compiler", lambda: spy)
    queries = [
        "CONSTRUCT { ?s ex:q ?o } FROM NAMED ex:g1 WHERE { GRAPH ?g { ?s ex:p ?o } }",
        "CONSTRUCT { ?s ex:q ?o } FROM NAMED ex:g1 WHERE { ?s ex:p ?o }",
        ("CONSTRUCT { ?s ex:q ?o } FROM NAMED ex:g1 FROM NAMED ex:g2 WHERE { GRAPH ?g { ?s ex:p ?o } "
         "MINUS { ?s ex:p ?x } }"),
        "DESCRIBE ?s FROM NAMED ex:g2 WHERE { GRAPH ex:g2 { ?s ex:p ?o } }",
    ]
    engine = default_engine()
    for q in queries:
        ours = sorted(map(tuple, kg.query(P + q)))
        with monkeypatch.context() as m:
            m.setattr(engine, "use_compiler", False)
            theirs = sorted(map(tuple, kg.query(P + q)))
        assert ours == theirs, q
    assert sorted(map(tuple, kg.query(P + queries[0]))) == [
        (URIRef("http://example.org/a"), URIRef("http://example.org/q"), URIRef("http://example.org/b")),
        (URIRef("http://example.org/b"), URIRef("http://example.org/q"), Literal(1))]
    assert not list(kg.query(P + queries[1]))  # the default graph is empty
    assert not any("not backed" in d for d in declined), declined
