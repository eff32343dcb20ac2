"""A long-lived process answers right after another process's ``kg vacuum`` (SQLite and
PostgreSQL): its compiled plans and cached term ids are dropped before they are used.

Process B (a subprocess, run to its end before A goes on: no sleeps) deletes the only
statement using ``<o>``, vacuums (``<o>`` is deleted) and writes ``<s2> <p> <o>`` again: ``<o>``
now has a new id. Before the fix, process A's plan still held the old id and answered nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from rdflib import URIRef

from kg_engine import KnowledgeGraph
from kg_engine.sparql import default_engine

S1, S2, P, O = (URIRef(f"urn:kg-test:{x}") for x in ("s1", "s2", "p", "o"))
SELECT = f"SELECT ?s WHERE {{ ?s <{P}> <{O}> }}"
ASK = f"ASK {{ <{S2}> <{P}> <{O}> }}"

#: process B: remove S1 P O, vacuum (O is deleted), add S2 P O (O gets a new id)
_B = """
import sys
from rdflib import URIRef
from kg_engine.store import open_store
s1, s2, p, o = (URIRef(f"urn:kg-test:{x}") for x in ("s1", "s2", "p", "o"))
with open_store(sys.argv[1]) as store:
    store.remove((s1, p, o))
    assert store.vacuum(compact=True)["terms_removed"] >= 2
    store.add([(s2, p, o)])
"""


def vacuum_elsewhere(url: str) -> None:
    """Run process B (see the module docstring) to its end."""
    subprocess.run([sys.executable, "-c", _B, url], check=True, capture_output=True)


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'kg.sqlite'}"
    return request.getfixturevalue("pg_server").new_database_url()


def _subjects(result) -> list:
    return sorted(row[0] for row in result)


def test_queries_right_after_another_process_vacuum_are_right(url: str) -> None:
    with KnowledgeGraph(url) as kg:
        kg.add([(S1, P, O)])
        assert _subjects(kg.query(SELECT)) == [S1]  # plan compiled, <o>'s id cached
        assert not kg.query(ASK).askAnswer
        json_before = default_engine().select_json(kg.graph, SELECT)
        assert json_before is not None and str(S1) in json_before
        vacuum_elsewhere(url)
        assert _subjects(kg.query(SELECT)) == [S2]  # before: [] (the old id of <o>)
        assert kg.query(ASK).askAnswer
        json_after = default_engine().select_json(kg.graph, SELECT)
        assert str(S2) in json_after and str(S1) not in json_after
        assert [s for s, _, _, _ in kg.triples((None, P, O))] == [S2]


def test_serve_streamed_plans_right_after_another_process_vacuum(url: str) -> None:
    from kg_engine.serve.execution import run_query

    with KnowledgeGraph(url) as kg:
        kg.add([(S1, P, O)])
        with kg.store.db.snapshot():  # how kg serve reads (serve/pool.py)
            out = run_query(kg, SELECT)
            assert out.streamed and [r[0] for r in out.rows] == [S1]
        vacuum_elsewhere(url)
        with kg.store.db.snapshot():
            out = run_query(kg, SELECT)
            assert [r[0] for r in out.rows] == [S2]  # before: [] (a plan cached by URL)


def test_a_read_overtaken_by_a_vacuum_runs_again(url: str) -> None:
    """The vacuum commits while the read runs (after its check): the read runs again."""
    with KnowledgeGraph(url) as kg:
        kg.add([(S1, P, O)])
        assert _subjects(kg.query(SELECT)) == [S1]
        runs = []

        def read() -> list:
            answer = _subjects(kg.query(SELECT))
            if not runs:
                vacuum_elsewhere(url)  # lands after the answer: it is stale
            runs.append(answer)
            return answer

        assert kg.store.dictionary.current(read) == [S2]
        assert runs == [[S1], [S2]]


def test_an_rdflib_dataset_over_the_store_right_after_another_process_vacuum(url: str) -> None:
    """Without a KnowledgeGraph (no one clears the engine's plans for it): the engine notices
    the store's dictionary dropped its ids and drops its own plans."""
    from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
    from kg_engine.store import open_store

    with open_store(url) as store:
        ds = KgDataset(store=KgSparqlStore(store=store))
        store.add([(S1, P, O)])
        assert _subjects(default_engine().query(ds, SELECT)) == [S1]
        vacuum_elsewhere(url)
        assert _subjects(default_engine().query(ds, SELECT)) == [S2]  # before: [] on PostgreSQL
        assert default_engine().query(ds, ASK).askAnswer


def test_queries_right_after_this_process_vacuum_are_right() -> None:
    with KnowledgeGraph("sqlite://") as kg:
        kg.add([(S1, P, O)])
        assert _subjects(kg.query(SELECT)) == [S1]
        kg.remove((S1, P, O))
        assert kg.vacuum()["terms_removed"] >= 2
        kg.add([(S2, P, O)])
        assert _subjects(kg.query(SELECT)) == [S2]
