"""Quickstart: a knowledge graph in a file, loaded, queried, reasoned over and explained.

Run from the repository root::

    python examples/quickstart.py [sqlite:///quickstart.sqlite]
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import RDF, Literal, Namespace

from kg_engine import KnowledgeGraph

EX = Namespace("https://example.org/kg/")
DATA = Path(__file__).resolve().parents[1] / "data" / "sample" / "university.ttl"


def main(url: str = "sqlite://") -> None:
    with KnowledgeGraph(url) as kg:
        result = kg.load(DATA)
        print(f"loaded {result.statements} statements in {result.seconds:.2f} s")

        # Python API: rdflib terms in and out
        kg.add([(EX.hana, EX.advisor, EX.bruno), (EX.hana, EX.publications, Literal(2))])
        print("advisees of Bruno:", sorted(str(s) for s, *_ in kg.triples((None, EX.advisor, EX.bruno))))

        # SPARQL 1.1, compiled to SQL
        rows = kg.query("""
            PREFIX ex: <https://example.org/kg/>
            SELECT ?who (SUM(?n) AS ?total) WHERE { ?who ex:publications ?n }
            GROUP BY ?who ORDER BY DESC(?total) LIMIT 3""")
        for row in rows:
            print(f"{row.who}  {row.total}")

        # rules: inferred triples go to a graph of their own, each with its derivation
        inferred = kg.reason("owl-rl")
        print(f"{inferred.derived} triples inferred in {inferred.rounds} rounds")
        print(kg.explain((EX.dana, RDF.type, EX.Person)))  # inferred: its derivation tree
        print(kg.explain((EX.ada, EX.headOf, EX.CompSci)))  # asserted: its source


if __name__ == "__main__":
    main(*sys.argv[1:])
