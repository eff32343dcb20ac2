"""A term holding U+0000: kept on SQLite; on PostgreSQL (text cannot hold it) a clear error, nothing written."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from kg_engine.api import KnowledgeGraph
from kg_engine.errors import StoreError

A, P = URIRef("http://e/a"), URIRef("http://e/p")


def test_nul_in_a_literal(store_url: str, tmp_path) -> None:
    kg = KnowledgeGraph(store_url)
    try:
        nt = tmp_path / "n.nt"
        nt.write_text('<http://e/b> <http://e/p> "x" .\n<http://e/a> <http://e/p> "a\\u0000b" .\n')
        writes = [lambda: kg.load(nt), lambda: kg.add([(A, P, Literal("a\x00b"))]),
                  lambda: kg.update('INSERT DATA { <http://e/a> <http://e/p> "a\\u0000b" }')]
        if store_url.startswith("postgresql"):
            for i, write in enumerate(writes):
                with pytest.raises(StoreError, match="U\\+0000"):
                    write()  # the first: a load into an empty store (its own COPY path)
                if i == 0:
                    assert len(kg) == 0
                    kg.add([(A, P, Literal("ok"))])
            assert [str(r[0]) for r in kg.query("SELECT ?o { ?s ?p ?o }")] == ["ok"]
        else:
            kg.add([(A, P, Literal("ok"))])
            for write in writes:
                write()
            assert {str(r[0]) for r in kg.query("SELECT ?o { ?s ?p ?o }")} == {"ok", "x", "a\x00b"}
    finally:
        kg.close()
