"""The fast subset parser gives the same answers as rdflib's parser + translateQuery, and
declines (returns None) outside its subset."""

from __future__ import annotations

from collections import Counter

import pytest
from rdflib import BNode

from kg_engine.errors import QuerySyntaxError
from kg_engine.sparql.compiler import compile_query, parse_algebra
from kg_engine.sparql.compiler.fastparse import parse

from . import test_aggregates, test_basic, test_graphs, test_modifiers, test_paths

CORPUS = (
    [test_basic.P + q for q in test_basic.QUERIES]
    + [test_aggregates.P + q for q in test_aggregates.QUERIES]
    + [test_modifiers.P + q for q in test_modifiers.ORDERED + test_modifiers.UNORDERED]
    + [test_graphs.P + q for q in test_graphs.QUERIES]
    + [test_paths.P + q for q in test_paths.QUERIES]
    + [test_basic.P + q for q in [  # shapes the fast parser took on for issue 19
        "SELECT * WHERE { VALUES ?s { ex:alice ex:bob } ?s ?p ?o }",
        "SELECT * WHERE { VALUES (?s ?x) { (ex:alice 1) (UNDEF 2) } OPTIONAL { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o { SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?q ?r } GROUP BY ?s } }",
        "SELECT ?s WHERE { GRAPH ?g { { SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s LIMIT 2 } } }",
        "SELECT ?s WHERE { ?s ?p ?o FILTER NOT EXISTS { ?o ?q ?s } }",
        "SELECT ?s WHERE { ?s ?p ?o FILTER EXISTS { ?s ?q ?r FILTER(?r != ?o) } }",
        "SELECT ?s (GROUP_CONCAT(str(?o); separator='|') AS ?c) WHERE { ?s ?p ?o } GROUP BY ?s",
        "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY str(?o) DESC(?s)",
        ("SELECT (ucase(str(?o)) AS ?u) (substr(str(?o), 2) AS ?t) (if(isIRI(?o), 1, 2) AS ?i) "
         "(concat(str(?s), '-') AS ?c) (coalesce(?x, 3) AS ?k) WHERE { ?s ?p ?o }"),
        "SELECT ?s ?z WHERE { ?s (ex:knows|^ex:knows)/ex:knows? ?z }",
        "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s",
        "SELECT * WHERE { ?s !(ex:knows|^ex:name) ?o }",
        "SELECT * WHERE { ?s !ex:knows/a ?o }",
        "SELECT * WHERE { ?s (!^ex:knows)+ ?o }",
        # rdflib's evaluator de-duplicates the right side of a non-lazy join: the fast
        # algebra must carry translateQuery's lazy flags
        "SELECT (COUNT(?o) AS ?n) WHERE { BIND(1 AS ?b) ?s ex:knows|ex:knows ?o }",
        "CONSTRUCT { ?o ex:rev ?s . _:x ex:of ?s } WHERE { ?s ex:knows ?o } ORDER BY ?s LIMIT 3",
        # the rest of the SPARQL 1.1 query grammar (issue 19: pyparsing only as a fallback)
        "SELECT ?s WHERE { ?s ?p ?o } VALUES ?s { ex:alice ex:bob }",
        "SELECT * WHERE { ?s ?p ?o } VALUES (?s ?x) { (ex:alice 1) (UNDEF 2) }",
        "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s HAVING(COUNT(*) > 1) VALUES ?s { ex:alice }",
        "SELECT ?s WHERE { VALUES ?s { } }",
        "SELECT * WHERE { ?s ?p ?o VALUES (?x ?y) { } }",
        "ASK { ?s ?p ?o VALUES ?o { } }",
        "SELECT ?s WHERE { { SELECT * WHERE { ?s ?p ?o } } }",
        "SELECT * WHERE { ?s ex:knows ?x { SELECT * WHERE { ?x ?p ?o } ORDER BY ?o LIMIT 2 } }",
        ("SELECT ?s (xsd:integer(?a) AS ?i) (xsd:string(?s) AS ?t) WHERE { ?s ex:age ?a } "
         "ORDER BY xsd:decimal(?a) ?s"),
        "SELECT ?s WHERE { ?s ex:age ?a FILTER(xsd:double(?a) > 20) }",
        "SELECT ?k (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY (isIRI(?o) AS ?k)",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY (isIRI(?o)) str(?p)",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY xsd:string(?p)",
        "SELECT ?s WHERE { ?s ex:knows [ ex:knows ?x ] }",
        "SELECT ?s WHERE { ?s ex:knows [] ; ; ex:age ?a }",
        "SELECT ?s WHERE { [ ex:knows ?s ] . }",
        "SELECT ?l WHERE { ?s ex:list (1 ?l) }",
        "SELECT ?s WHERE { ?s ?p \"\"\"lo\"ng\nx\"\"\" }",
        ("SELECT (STRLEN(STRUUID()) AS ?n) (isBlank(BNODE()) AS ?b) (isIRI(UUID()) AS ?u) "
         "(datatype(NOW()) AS ?d) (RAND() < 1 AS ?r) WHERE { }"),
        "CONSTRUCT WHERE { ?s ex:knows ?o }",
        "CONSTRUCT { ?s ex:pair [ ex:a ?s ; ex:b ?o ] } WHERE { ?s ex:knows ?o }",
        "DESCRIBE ex:alice",
        "DESCRIBE ?s ex:bob WHERE { ?s ex:knows ex:bob }",
        "DESCRIBE * WHERE { ?s ex:knows ?o { SELECT ?x WHERE { ?x ex:age ?a } } }",
        "SELECT ?s FROM ex:g1 WHERE { ?s ?p ?o }",
    ]]
)


def _rows(store, algebra):
    cq = compile_query(store, algebra)
    if not cq.full:
        return None  # the engine hands it to rdflib's evaluator (whichever parser built it)
    res = cq.execute(store)
    if cq.form == "ASK":
        return res
    vars_, rows = res
    return [str(v) for v in vars_], Counter(rows)


@pytest.mark.parametrize("q", CORPUS)
def test_fast_parse_matches_rdflib(pair, q):
    fast = parse(q)
    if fast is None:
        return  # outside the subset: rdflib parses it
    ours = _rows(pair.store, fast)
    ref = _rows(pair.store, parse_algebra(q))
    if ref is None or ours is None:
        assert ref is None and ours is None, q
        return
    if isinstance(ref, bool):
        assert ours == ref
        return
    assert set(ours[0]) == set(ref[0])
    idx = [ref[0].index(v) for v in ours[0]]
    remapped = Counter({tuple(r[i] for i in idx): n for r, n in ref[1].items()})
    assert ours[1] == remapped, q


def test_subset_coverage():
    # most of the corpus is in the subset (so the fast path matters)
    covered = sum(parse(q) is not None for q in CORPUS)
    assert covered >= 0.8 * len(CORPUS)


def test_select_star_order_and_scope():
    # variables in order of first appearance; a sub-select contributes its projection only
    a = parse("SELECT * WHERE { ?b ?a ?c { SELECT ?b WHERE { ?b ?x ?y } } }")
    assert [str(v) for v in a.PV] == ["b", "a", "c"]


@pytest.mark.parametrize("q", [
    "SELECT ?s WHERE { SERVICE <x> { ?s ?p ?o } }",
    "SELECT ?s WHERE { ?s ?p ?o FILTER(COUNT(?s) > 1) }",
    "SELECT ?s WHERE { { SELECT ?s FROM <g> WHERE { ?s ?p ?o } } }",
    "CONSTRUCT WHERE { ?s ?p ?o FILTER(?o) }",  # only triples in CONSTRUCT WHERE
    "SELECT ?s WHERE { ?s ex:p ?o }",  # undeclared prefix
    "SELECT ?s WHERE { ?s ?p ?o } garbage",
    'SELECT ?s WHERE { ?s ?p """long"""" }',  # a quote after a long string: rdflib decides
    "SELECT ?x WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }",  # scope errors: sparql/scope.py reports
    "SELECT ?x (COUNT(*) AS ?n) WHERE { ?x ?p ?o }",
    "DESCRIBE *",  # without WHERE: rdflib's grammar reports it
])
def test_outside_subset_returns_none(q):
    assert parse(q) is None


def test_escapes_and_numbers():
    a = parse('SELECT ?s WHERE { ?s ?p "a\\tb\\u0041" . ?s ?q -1.5e0 . ?s ?r 007 }')
    triples = a.p.p.triples
    assert str(triples[0][2]) == "a\tbA"
    assert str(triples[1][2]) == "-1.5e0"
    assert str(triples[2][2]) == "007"  # lexical form kept exactly


def test_compile_query_uses_fast_path(pair):
    q = test_basic.P + "SELECT ?s WHERE { ?s a ex:Person }"
    cq = compile_query(pair.store, q)
    assert cq.full and cq._source == q


@pytest.mark.parametrize("q", CORPUS)
def test_fast_algebra_runs_on_rdflib_evaluator_like_rdflib_grammar(pair, q, monkeypatch):
    """The engine parses with the fast parser whenever it can, also for queries rdflib's
    evaluator runs: both parsers' algebra must give rdflib's evaluator the same answers."""
    from kg_engine.sparql import QueryEngine, parsing
    from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore

    if parsing._fast_query(q) is None:
        return
    ds = KgDataset(store=KgSparqlStore(store=pair.store))
    answers = []
    for fast in (True, False):
        monkeypatch.setattr(parsing, "USE_FAST_PARSER", fast)
        engine = QueryEngine(use_compiler=False)
        res = engine.query(ds, engine.prepare(q))
        if res.type == "ASK":
            answers.append(res.askAnswer)
        elif res.type in ("CONSTRUCT", "DESCRIBE"):
            answers.append(Counter(tuple("_:b" if isinstance(x, BNode) else x for x in t)
                                   for t in res.graph))
        else:
            names = [str(v) for v in res.vars]
            answers.append((names, Counter(tuple(zip(names, row)) for row in res)))
    assert answers[0] == answers[1], q


def _answers(engine, ds, query, limited: bool):
    """Answers in comparable form: bags of rows (sizes only under LIMIT without a total
    order: both algebras may then keep different rows), or the exception's class."""
    from kg_engine.testing.differential import _norm

    try:
        res = engine.query(ds, query)
    except Exception as exc:  # noqa: BLE001 - both parsers' algebra must fail alike
        return "error", type(exc).__name__
    if res.type == "ASK":
        return res.askAnswer
    if res.type in ("CONSTRUCT", "DESCRIBE"):
        graph = {tuple(_norm(t) for t in tr) for tr in res.graph}
        return len(res.graph) if limited else graph
    names = [str(v) for v in res.vars]
    rows = [tuple(sorted(zip(names, map(_norm, row)))) for row in res]
    return sorted(names), (len(rows) if limited else Counter(rows))


@pytest.mark.parametrize("seed", [3, 17])
def test_generated_queries_parse_fast_and_answer_like_rdflib_grammar(seed, monkeypatch):
    """Issue 19: on the differential harness's generated queries the fast parser takes every
    query rdflib's grammar accepts (pyparsing runs only as a fallback), and its algebra gives
    the same answers as the grammar's, compiled to SQL and on rdflib's evaluator."""
    from kg_engine.sparql import QueryEngine, parsing
    from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
    from kg_engine.store import open_store
    from kg_engine.testing import differential as diff

    ds = KgDataset(store=KgSparqlStore(store=open_store("sqlite://")))
    ds.parse(data=diff.make_dataset(seed), format="trig")
    gen = diff.QueryGenerator(seed)
    engines = [QueryEngine(use_compiler=True), QueryEngine(use_compiler=False)]
    fast_n = valid_n = 0
    for _ in range(80):
        case = gen.query()
        text = case.render()
        try:
            fast, fast_error = parsing._fast_query(text), None
        except QuerySyntaxError as exc:  # a scope rule: the rdflib path's error, same place
            fast, fast_error = None, (str(exc), exc.line, exc.column)
        monkeypatch.setattr(parsing, "USE_FAST_PARSER", False)
        try:
            ref = parsing.parse_query(text)
        except QuerySyntaxError as exc:
            assert fast is None, f"the fast parser accepts a query rdflib's refuses: {text}"
            assert fast_error in (None, (str(exc), exc.line, exc.column)), text
            continue
        finally:
            monkeypatch.setattr(parsing, "USE_FAST_PARSER", True)
        assert fast_error is None, f"the fast parser refuses a valid query: {text}"
        valid_n += 1
        if fast is None:
            continue
        fast_n += 1
        for engine in engines:
            ours = _answers(engine, ds, fast, case.limited)
            theirs = _answers(engine, ds, ref, case.limited)
            assert ours == theirs, (text, engine.use_compiler)
    assert valid_n >= 70 and fast_n == valid_n, (fast_n, valid_n)


@pytest.mark.parametrize("q", [
    "SELECT ?x WHERE { ?x ?p ?o BIND(1 AS ?x) }",
    "SELECT ?x WHERE { { ?x ?p ?o } UNION { ?s ?p ?x } BIND(1 AS ?x) }",
    "SELECT ?x WHERE { ?s ?p ?o FILTER EXISTS { ?s ?q ?x BIND(2 AS ?x) } }",
    "SELECT ?s (1 AS ?o) WHERE { ?s ?p ?o }",
    "SELECT ?s (1 AS ?s) WHERE { ?x ?p ?o }",
    "SELECT * WHERE { { SELECT ?s (1 AS ?s) WHERE { } } }",
    "SELECT ?g (SUM(?o) AS ?g) WHERE { ?g ?p ?o } GROUP BY ?g",  # aggregate queries
    "SELECT (SUM(?o) AS ?g) WHERE { ?g ?p ?o } GROUP BY ?g",
    "SELECT (SUM(?o) AS ?n) (COUNT(?o) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?s WHERE { { SELECT ?s (MAX(?o) AS ?s) WHERE { ?s ?p ?o } GROUP BY ?s } }",
])
def test_scope_errors_without_rdflib_grammar(q, monkeypatch):
    """A query whose one fault is a §18.2.1 scope rule is refused by the fast parser with
    sparql/scope.py's message and position (no pyparsing run for it)."""
    from kg_engine.sparql import parsing

    text = "# a comment line\n" + q
    assert parse(text) is None  # never an algebra
    with pytest.raises(QuerySyntaxError) as fast:
        parsing._fast_query(text)
    monkeypatch.setattr(parsing, "USE_FAST_PARSER", False)
    with pytest.raises(QuerySyntaxError) as ref:
        parsing.parse_query(text)
    assert (str(fast.value), fast.value.line, fast.value.column) == (
        str(ref.value), ref.value.line, ref.value.column)
    assert fast.value.line == 2


@pytest.mark.parametrize("q", [
    "SELECT ?x WHERE { ?x ?p ?o BIND(1 AS ?x) BIND(2 AS ?x) }",  # two: rdflib's path picks
    "SELECT ?x WHERE { ?x ?p ?o BIND(1 AS ?x) } LIMIT",  # a syntax error after it
    # an ungrouped variable before the alias: that is the first error (rdflib's path words it)
    "SELECT ?o (SUM(?o) AS ?g) WHERE { ?g ?p ?o } GROUP BY ?g",
])
def test_scope_rules_left_to_rdflib_path(q):
    from kg_engine.sparql import parsing

    assert parsing._fast_query(q) is None


def test_alias_of_a_values_variable_is_valid():
    from kg_engine.sparql import parsing

    # ?k is bound by the trailing VALUES, not in the WHERE clause (§18.2.1 does not apply)
    assert parsing._fast_query("SELECT (1 AS ?k) WHERE { } VALUES ?k { 1 }") is not None
