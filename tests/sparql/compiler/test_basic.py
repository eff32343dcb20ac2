"""BGPs, FILTER, OPTIONAL, UNION, MINUS, EXISTS, BIND, VALUES: answers equal rdflib's."""

from __future__ import annotations

import pytest

from .conftest import assert_same

P = "PREFIX ex: <http://example.org/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "

QUERIES = [
    # BGP shapes
    "SELECT ?s ?n WHERE { ?s a ex:Person ; ex:name ?n }",
    "SELECT ?a ?c WHERE { ?a ex:knows ?b . ?b ex:worksFor ?o . ?o ex:locatedIn ?c }",
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT ?p WHERE { ex:alice ?p ex:bob }",
    "SELECT ?x WHERE { ?x ex:knows ?x }",
    "SELECT ?s WHERE { ?s ex:missing ?o }",
    "SELECT ?s WHERE { ?s ex:name \"Bob\" }",
    "SELECT ?s WHERE { ?s ex:age 30 }",
    "SELECT ?s ?o WHERE { ?s ex:knows ?o . ?o ex:knows ?s2 . ?s2 ex:worksFor ex:initech }",
    # FILTER
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a > 26) }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a >= 25 && ?a < 35) }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a = 25) }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a != 25) }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a * 2 > 55 || ?a - 1 < 25) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER regex(?n, '^a', 'i') }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER regex(?n, 'o') }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER regex(str(?s), 'bob$') }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(lang(?n) = 'en') }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER langMatches(lang(?n), '*') }",
    "SELECT ?s ?o WHERE { ?s ex:worksFor ?o FILTER(?o = ex:acme) }",
    "SELECT ?s ?o WHERE { ?s ex:worksFor ?o FILTER(?o != ex:acme) }",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o) && !isNumeric(?o)) }",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(isIRI(?o)) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(contains(?n, 'li')) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(strstarts(?n, 'B') || strends(?n, 'e')) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(strlen(?n) = 3) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(?n = 'Bob') }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(?n < 'C') }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a IN (30, 41.5)) }",
    "SELECT ?s WHERE { ?s ex:age ?a FILTER(?a NOT IN (30, 41.5)) }",
    "SELECT ?s ?b WHERE { ?s ex:born ?b FILTER(?b < '1989-01-01T00:00:00Z'^^xsd:dateTime) }",
    "SELECT ?s WHERE { ?s ex:active ?b FILTER(?b) }",
    "SELECT ?s WHERE { ?s ex:active ?b FILTER(!?b) }",
    "SELECT ?a ?b WHERE { ?a ex:score ?x . ?b ex:score ?y FILTER(?x = ?y && ?a != ?b) }",
    "SELECT ?a ?b WHERE { ?a ex:age ?x . ?b ex:age ?y FILTER(?x < ?y) }",
    "SELECT ?s WHERE { ?s ex:name ?n FILTER(sameTerm(?s, ex:bob)) }",
    "SELECT ?s ?d WHERE { ?s ex:age ?a BIND(datatype(?a) AS ?d) }",
    # OPTIONAL
    "SELECT ?s ?i WHERE { ?s a ex:Org OPTIONAL { ?s ex:industry ?i } }",
    "SELECT ?s ?e ?k WHERE { ?s a ex:Person OPTIONAL { ?s ex:email ?e } OPTIONAL { ?s ex:nick ?k } }",
    "SELECT ?s ?a WHERE { ?s a ex:Person OPTIONAL { ?s ex:age ?a FILTER(?a > 26) } }",
    "SELECT ?s ?o ?c WHERE { ?s a ex:Person OPTIONAL { ?s ex:worksFor ?o . ?o ex:industry ?c } }",
    "SELECT ?s WHERE { ?s a ex:Person OPTIONAL { ?s ex:email ?e } FILTER(!bound(?e)) }",
    "SELECT ?s ?x WHERE { ?s a ex:Person OPTIONAL { ?s ex:nick ?x } OPTIONAL { ?s ex:email ?x } }",
    # UNION / MINUS / EXISTS
    "SELECT ?x ?y WHERE { { ?x ex:email ?y } UNION { ?x ex:nick ?y } UNION { ?x ex:industry ?z } }",
    "SELECT ?x WHERE { ?x a ex:Person MINUS { ?x ex:worksFor ex:acme } }",
    "SELECT ?x WHERE { ?x a ex:Person MINUS { ?y ex:nick ?z } }",
    "SELECT ?x WHERE { ?x a ex:Person FILTER EXISTS { ?x ex:email ?e } }",
    "SELECT ?x WHERE { ?x a ex:Person FILTER NOT EXISTS { ?x ex:knows ?y . ?y ex:worksFor ex:acme } }",
    "SELECT ?x ?a WHERE { ?x ex:age ?a FILTER NOT EXISTS { ?y ex:age ?b FILTER(?b > ?a) } }",
    # BIND / VALUES
    "SELECT ?x ?z WHERE { ?x ex:score ?a BIND(?a + 1 AS ?z) }",
    "SELECT ?x ?z WHERE { ?x ex:name ?n BIND(str(?n) AS ?z) }",
    "SELECT ?x ?z WHERE { ?x ex:name ?n BIND(ex:const AS ?z) }",
    "SELECT ?x ?z WHERE { ?x ex:score ?a BIND(?a > 5 AS ?z) }",
    "SELECT ?x ?n WHERE { VALUES ?x { ex:alice ex:bob ex:nobody } ?x ex:name ?n }",
    "SELECT ?x ?y WHERE { VALUES (?x ?y) { (ex:alice UNDEF) (ex:zed \"new\") } }",
    "SELECT ?x WHERE { ?x ex:age ?a } VALUES ?a { 30 25 }",
    "ASK { ex:alice ex:knows ex:bob }",
    "ASK { ex:alice ex:knows ex:dave }",
    # sub-select
    "SELECT ?x ?n WHERE { ?x ex:name ?n { SELECT ?x WHERE { ?x ex:worksFor ex:acme } } }",
    "SELECT ?x WHERE { { SELECT ?x WHERE { ?x ex:score ?s } ORDER BY DESC(?s) ?x LIMIT 2 } }",
]


@pytest.mark.parametrize("q", QUERIES)
def test_same_answers_as_rdflib(pair, oracle_semantics, q):
    assert_same(pair, P + q)
