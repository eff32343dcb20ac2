"""kg serve's request guards: cross-origin writes, non-UTF-8 parameters, oversized forms,
updates that run forever and a pool every slow query holds (kg_engine/serve/guards.py, pool.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from kg_engine.api import KnowledgeGraph
from kg_engine.serve import ServerConfig, create_app

INSERT = 'INSERT DATA { <urn:csrf> <urn:p> "x" }'
#: a three-way cross product of 600 statements: 2.16e8 rows, far past a 1 s timeout
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(url) as kg:
        kg.update("INSERT DATA { " + " ".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(600))
                  + " }")
    return url


def _client(db: str, **options: object) -> TestClient:
    return TestClient(create_app(ServerConfig(db, **options), KnowledgeGraph))  # type: ignore[arg-type]


def _size(db: str) -> int:
    with KnowledgeGraph(db) as kg:
        return len(kg)


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_a_write_from_another_sites_page_is_refused(db: str, origin: str) -> None:
    # any web page could make a visitor's browser POST update=DROP ALL to a localhost
    # `kg serve --update` (a form post needs no CORS preflight): it was applied (204)
    with _client(db, update=True) as c:
        r = c.post("/sparql", data={"update": INSERT}, headers={"Origin": origin})
        assert r.status_code == 403 and "--cors" in r.text
        r = c.put("/store?graph=urn:g", content=b"<urn:a> <urn:p> <urn:b> .",
                  headers={"Origin": origin, "Content-Type": "application/n-triples"})
        assert r.status_code == 403
        assert c.delete("/store?default", headers={"Origin": origin}).status_code == 403
    assert _size(db) == 600


def test_writes_from_the_servers_own_pages_allowed_origins_and_non_browsers(db: str) -> None:
    with _client(db, update=True, cors=("https://app.example",)) as c:
        assert c.post("/sparql", data={"update": INSERT},
                      headers={"Origin": "http://testserver"}).status_code == 204
        assert c.post("/sparql", data={"update": 'INSERT DATA { <urn:b> <urn:p> 1 }'},
                      headers={"Origin": "https://app.example"}).status_code == 204
        assert c.post("/sparql", data={"update": 'INSERT DATA { <urn:c> <urn:p> 1 }'}
                      ).status_code == 204
    assert _size(db) == 603


@pytest.mark.parametrize("request_kind", ["get", "form", "graph-store"])
def test_parameters_that_are_not_utf8_are_refused(db: str, request_kind: str) -> None:
    # %E9 (Latin-1 é) was decoded to U+FFFD: a query looked for "caf\ufffd", a Graph Store
    # write went to the graph <urn:caf\ufffd>
    with _client(db, update=True) as c:
        if request_kind == "get":
            r = c.get("/sparql?query=ASK%20%7B%3Fs%20%3Fp%20%22caf%E9%22%7D")
        elif request_kind == "form":
            r = c.post("/sparql", content=b"update=INSERT%20DATA%20%7B%3Curn:a%3E%20%3Curn:p%3E"
                       b"%20%22caf%E9%22%7D",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            r = c.put("/store?graph=urn:caf%E9", content=b"<urn:a> <urn:p> <urn:b> .",
                      headers={"Content-Type": "application/n-triples"})
        assert r.status_code == 400 and "not UTF-8" in r.text and "%C3%A9" in r.text
    assert _size(db) == 600


def test_a_form_field_past_one_megabyte_is_read(db: str) -> None:
    # Starlette's form parser caps a field at 1 MB: a large VALUES query sent as a form
    # was a 500 "internal error: HTTPException"
    query = f'SELECT (STRLEN(?x) AS ?n) WHERE {{ VALUES ?x {{ "{"a" * 1_200_000}" }} }}'
    with _client(db) as c:
        r = c.post("/sparql", data={"query": query}, headers={"Accept": "text/csv"})
        assert r.status_code == 200 and r.text.split() == ["n", "1200000"]
        r = c.post("/sparql", files={"query": ("q.rq", query.encode())},
                   headers={"Accept": "text/csv"})
        assert r.status_code == 200 and r.text.split() == ["n", "1200000"]


def test_an_update_that_runs_forever_is_cancelled_and_frees_the_writer(db: str) -> None:
    # updates ran without the server's timeout: one slow WHERE held the write lock (and
    # SQLite's write transaction) until it ended, however long that took
    slow_update = f"INSERT {{ <urn:x> <urn:count> ?n }} WHERE {{ {{ {SLOW} }} }}"
    with _client(db, update=True, timeout=1) as c:
        r = c.post("/sparql", data={"update": slow_update})
        assert r.status_code == 503 and "timeout" in r.text
        assert c.post("/sparql", data={"update": INSERT}).status_code == 204
    assert _size(db) == 601


def test_a_pool_held_by_slow_queries_answers_503_not_a_queue(db: str) -> None:
    # a request waited for a free connection for as long as it took: behind N slow queries
    # on a pool of N it waited a whole timeout per round (16 connections, 30 s: a flood of
    # slow queries queued requests for minutes); now it waits at most the timeout
    app = create_app(ServerConfig(db, timeout=1, pool_size=1), KnowledgeGraph)
    pool = app.state.pool
    held = pool.acquire()  # a slow query holds the only connection
    try:
        with TestClient(app) as c:
            r = c.get("/sparql", params={"query": "ASK {}"})
            assert r.status_code == 503 and "busy" in r.text and r.headers["Retry-After"]
    finally:
        pool.release(held)
    with TestClient(app) as c:
        assert c.get("/sparql", params={"query": "ASK {}"}).status_code == 200


def test_a_rebound_host_name_is_refused(db: str) -> None:
    # DNS rebinding: a page of rebound.example re-resolved to 127.0.0.1 is same-origin with
    # a local server and read the store (200); the Host header still names its domain
    hosts = ("localhost", "127.0.0.1", "[::1]")
    with _client(db, hosts=hosts) as c:
        r = c.get("/sparql", params={"query": "ASK {}"}, headers={"Host": "rebound.example:7878"})
        assert r.status_code == 400 and "--allow-host" in r.text
        for ok in ("127.0.0.1:7878", "localhost", "[::1]:7878", "LOCALHOST:80"):
            assert c.get("/sparql", params={"query": "ASK {}"},
                         headers={"Host": ok}).status_code == 200, ok
    with _client(db) as c:  # no names configured: any (a server behind a proxy)
        assert c.get("/sparql", params={"query": "ASK {}"},
                     headers={"Host": "rebound.example"}).status_code == 200


@pytest.mark.parametrize("value", ["yes", "on", "maybe"])
def test_an_unreadable_union_default_graph_is_refused(db: str, value: str) -> None:
    # anything but true/1/empty was read as false: the query ran over another dataset
    # than the client asked for, silently
    with _client(db) as c:
        r = c.get("/sparql", params={"query": "ASK {}", "union-default-graph": value})
        assert r.status_code == 400 and "true or false" in r.text
        for ok in ("true", "false", "1", "0", ""):
            assert c.get("/sparql", params={"query": "ASK {}",
                                            "union-default-graph": ok}).status_code == 200
