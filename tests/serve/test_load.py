"""Bounded load on loopback: parallel clients mixing queries and updates; nothing lost, no
error, and no reader ever sees half of an update (each update writes a pair of triples)."""

from __future__ import annotations

import threading

import httpx
import pytest

from kg_engine.api import KnowledgeGraph

from .conftest import PEOPLE_QUERY

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:load:pair> ?o }"


def _run_load(server, clients: int, requests: int, update_every: int) -> tuple[list, int]:
    errors: list[str] = []
    written = [0] * clients

    def client(k: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i in range(requests):
                try:
                    if i % update_every == 0:
                        r = http.post("/sparql", data={"update": (
                            f"INSERT DATA {{ <urn:load:a{k}-{i}> <urn:load:pair> {i} . "
                            f"<urn:load:b{k}-{i}> <urn:load:pair> {i} }}")})
                        if r.status_code != 204:
                            errors.append(f"update {r.status_code} {r.text}")
                        else:
                            written[k] += 2
                    elif i % 2:
                        r = http.get("/sparql", params={"query": COUNT})
                        n = int(r.json()["results"]["bindings"][0]["n"]["value"])
                        if n % 2:
                            errors.append(f"a reader saw half an update: {n} pair triples")
                    else:
                        r = http.post("/sparql", data={"query": PEOPLE_QUERY},
                                      headers={"Accept": "text/csv"})
                        if r.status_code != 200 or not r.text.startswith("p,name"):
                            errors.append(f"query {r.status_code} {r.text[:200]}")
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors, sum(written)


def _check(server, db: str, clients: int, requests: int, update_every: int) -> None:
    errors, written = _run_load(server, clients, requests, update_every)
    assert errors == []
    with KnowledgeGraph(db) as kg:
        stored = int(next(iter(kg.query(COUNT)))[0])
    assert stored == written == 2 * clients * len(range(0, requests, update_every))


def test_load_small(serve, demo_copy):
    """CI size: 8 clients x 50 requests (a fifth of them updates)."""
    server = serve(demo_copy, update=True)
    _check(server, demo_copy, 8, 50, 5)


@pytest.mark.slow
def test_load_20_clients_200_requests(serve, demo_copy):
    """The issue's size: 20 clients x 200 requests, one in five an update."""
    server = serve(demo_copy, update=True)
    _check(server, demo_copy, 20, 200, 5)


@pytest.mark.postgres
def test_load_small_postgres(serve, pg_server):
    """The same on PostgreSQL (pooled connections, REPEATABLE READ snapshots)."""
    from .conftest import build_demo_store

    db = pg_server.new_database_url()
    build_demo_store(db)
    server = serve(db, update=True)
    _check(server, db, 8, 50, 5)
