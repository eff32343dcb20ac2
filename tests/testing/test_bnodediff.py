"""The blank-node differential on fixed seeds (SQLite, and PostgreSQL when it is installed)."""

from __future__ import annotations

import pytest
from rdflib import BNode, URIRef

from kg_engine.testing import bnodediff as bd


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_fixed_seeds_agree_in_every_area(backend: str, request: pytest.FixtureRequest) -> None:
    url = "sqlite://" if backend == "sqlite" else request.getfixturevalue("pg_server").new_database_url
    rep = bd.run(2600000, 1 if backend == "postgres" else 2, url=url, queries=6, requests=6)
    assert not rep.findings, "\n".join(map(str, rep.findings[:5]))
    assert set(rep.cases) == set(bd.AREAS)
    # every format loaded four ways (triple formats also into two named graphs)
    assert rep.cases["load"] == (1 if backend == "postgres" else 2) * (6 * 4 + 3)
    assert rep.cases["sparql"] >= len(bd.FIXED_QUERIES) and rep.cases["update"] >= len(bd.FIXED_UPDATES)


def test_same_dataset_tells_merged_and_split_blank_nodes_apart() -> None:
    p, g = URIRef("urn:p"), URIRef("urn:g")
    x = BNode()
    one = {(x, p, URIRef("urn:a"), bd.DEFAULT), (x, p, URIRef("urn:b"), g)}
    split = {(BNode(), p, URIRef("urn:a"), bd.DEFAULT), (BNode(), p, URIRef("urn:b"), g)}
    assert bd.same_dataset(one, {(BNode("y"), p, URIRef("urn:a"), bd.DEFAULT),
                                 (BNode("y"), p, URIRef("urn:b"), g)})
    assert not bd.same_dataset(one, split)
    # graphs named by blank nodes: one node naming two graphs is not two nodes
    g1, g2 = BNode(), BNode()
    two = {(x, p, x, g1), (URIRef("urn:a"), p, x, g2)}
    assert bd.same_dataset(two, {(x, p, x, BNode("h1")), (URIRef("urn:a"), p, x, BNode("h2"))})
    assert not bd.same_dataset(two, {(x, p, x, g1), (URIRef("urn:a"), p, x, g1)})


def test_random_datasets_hold_blank_node_structure() -> None:
    texts = [bd.random_dataset(s) for s in range(20)]
    assert all("_:b" in t and "ex:g1 {" in t for t in texts)
    assert any("_:gb {" in t for t in texts) and any("( " in t for t in texts)
    assert bd.random_dataset(3) == bd.random_dataset(3)


def test_a_finding_names_its_area_and_seed() -> None:
    rep = bd.BnodeReport()
    rep.cases["load"] += 2
    rep.findings.append(bd.Finding("load", "seed 1: nt", "differs"))
    assert rep.summary() == "2 cases (load 2), 1 findings"
    assert str(rep.findings[0]) == "[load] seed 1: nt: differs"
