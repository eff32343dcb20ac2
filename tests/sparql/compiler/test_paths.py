"""Property paths: / | ^ * + ? and negated sets, same answers as rdflib."""

from __future__ import annotations

import pytest

from .conftest import Pair, assert_same

P = "PREFIX ex: <http://example.org/> "

DATA = """@prefix ex: <http://example.org/> .
ex:a ex:p ex:b . ex:b ex:p ex:c . ex:c ex:p ex:a . ex:c ex:p ex:d . ex:d ex:q ex:e .
ex:x ex:p ex:y . ex:e ex:r "lit" .
"""

QUERIES = [
    "SELECT ?x ?y WHERE { ?x ex:p/ex:p ?y }",
    "SELECT ?x ?y WHERE { ?x ex:p/ex:q ?y }",
    "SELECT ?x ?y WHERE { ?x ex:p|ex:q ?y }",
    "SELECT ?x ?y WHERE { ?x ^ex:p ?y }",
    "SELECT ?x ?y WHERE { ?x ex:p/^ex:p ?y }",
    "SELECT ?y WHERE { ex:a ex:p+ ?y }",
    "SELECT ?y WHERE { ex:a ex:p* ?y }",
    "SELECT ?x WHERE { ?x ex:p* ex:a }",
    "SELECT ?x ?y WHERE { ?x ex:p+ ?y }",
    "SELECT ?x ?y WHERE { ?x ex:p* ?y }",
    "SELECT ?y WHERE { ex:a ex:p? ?y }",
    "SELECT ?x ?y WHERE { ?x ex:p? ?y }",
    "SELECT ?y WHERE { ex:a (ex:p|ex:q)+ ?y }",
    "SELECT ?y WHERE { ex:a ex:p+/ex:q ?y }",
    "SELECT ?x ?y WHERE { ?x !ex:p ?y }",
    "SELECT ?x ?y WHERE { ?x !(ex:p|ex:q) ?y }",
    "SELECT ?y WHERE { ex:zzz ex:p* ?y }",
    "SELECT ?x ?z WHERE { ?x ex:p ?y . ?y ex:p+ ?z }",
    "ASK { ex:a ex:p+ ex:d }",
]


@pytest.fixture(scope="module")
def ppair() -> Pair:
    return Pair(DATA)


@pytest.mark.parametrize("q", QUERIES)
def test_paths(ppair, oracle_semantics, q):
    # rdflib repeats the start node of a cyclic `*` path; SPARQL (and we) return it once
    assert_same(ppair, P + q, as_set="*" in q)
