"""The common query shapes compile to ONE SQL statement: they never fall back to rdflib."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg_engine.sparql.compiler import compile_query

from .conftest import DATA, Pair

UB = "PREFIX ub: <http://swat.cse.lehigh.edu/onto/univ-bench.owl#>\n"
EXP = "PREFIX ex: <http://example.org/kg/>\n"
SHAPES = {
    "star": EXP + "SELECT ?name ?age ?email WHERE { ?p a ex:Person ; ex:worksFor <http://example.org/kg/org/42> ; "
                  "ex:name ?name ; ex:age ?age ; ex:email ?email }",
    "chain": EXP + "SELECT ?a ?b WHERE { ?a ex:knows ?b . ?b ex:worksFor ?o . ?o ex:locatedIn <http://example.org/kg/city/7> }",
    "optional": EXP + "SELECT ?org ?name ?ind WHERE { ?org a ex:Organization ; ex:name ?name . OPTIONAL { ?org ex:industry ?ind } }",
    "regex": EXP + 'SELECT ?p ?name WHERE { ?p a ex:Person ; ex:name ?name . FILTER regex(?name, "^ann", "i") }',
    "groupby": EXP + "SELECT ?org (COUNT(?p) AS ?n) WHERE { ?p ex:worksFor ?org } GROUP BY ?org ORDER BY DESC(?n) ?org LIMIT 10",
    "lubm_star": UB + "SELECT ?x ?n WHERE { ?x a ub:GraduateStudent ; ub:memberOf ?d ; ub:name ?n }",
    "distinct_order": EXP + "SELECT DISTINCT ?o WHERE { ?s ex:worksFor ?o } ORDER BY ?o LIMIT 5",
    "not_exists": EXP + "SELECT ?p WHERE { ?p a ex:Person FILTER NOT EXISTS { ?p ex:email ?e } }",
    "union": EXP + "SELECT ?x WHERE { { ?x a ex:Person } UNION { ?x a ex:Organization } }",
    "path": EXP + "SELECT ?x WHERE { ?x ex:knows+ <http://example.org/kg/person/1> }",
    "having": EXP + "SELECT ?o (AVG(?a) AS ?m) WHERE { ?p ex:worksFor ?o ; ex:age ?a } GROUP BY ?o HAVING (COUNT(?a) > 3)",
    "values_bind": EXP + "SELECT ?p ?y WHERE { VALUES ?p { ex:a ex:b } ?p ex:age ?a BIND(?a + 1 AS ?y) }",
    "graph": EXP + "SELECT ?g ?s WHERE { GRAPH ?g { ?s a ex:Person } }",
    "ask": EXP + "ASK { ?p ex:knows ?q }",
}


def _lubm_dir() -> Path:
    base = Path(os.environ.get("KG_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    return base / "lubm"


@pytest.fixture(scope="module")
def store():
    return Pair(DATA).store


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_compiles_fully(store, name):
    cq = compile_query(store, SHAPES[name])
    assert cq.full, cq.declined
    assert cq.sql.lstrip().upper().startswith("SELECT") and ";" not in cq.sql


@pytest.mark.parametrize("n", range(1, 15))
def test_lubm_query_compiles_fully(store, n):
    path = _lubm_dir() / f"q{n:02d}.rq"
    if not path.exists():
        pytest.skip(f"LUBM queries not found in {path.parent} (shared data folder absent)")
    cq = compile_query(store, path.read_text())
    assert cq.full, cq.declined
    # the SQL runs (on a store without LUBM data: no rows)
    _, rows = cq.execute(store)
    assert list(rows) == []
