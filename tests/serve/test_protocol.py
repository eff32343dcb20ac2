"""The SPARQL 1.1 Protocol over HTTP, with real clients (SPARQLWrapper, httpx)."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.sparql.results.xmlresults import XMLResultParser

from kg_engine.api import KnowledgeGraph

from .conftest import EX, INFERRED
from .conftest import PEOPLE_QUERY as PEOPLE

SPARQLWrapper = pytest.importorskip("SPARQLWrapper")


def _expected(db: str, query: str, **kw) -> list[tuple]:
    with KnowledgeGraph(db) as kg:
        return [tuple(r) for r in kg.query(query, **kw)]


def _wrapper(server, query: str, fmt: str, method: str = "GET"):
    from SPARQLWrapper import SPARQLWrapper as Client

    client = Client(server.sparql)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client.query()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_json_with_sparqlwrapper(serve, demo_db, method):
    server = serve(demo_db)
    result = _wrapper(server, PEOPLE, "json", method).convert()
    got = [(URIRef(b["p"]["value"]), Literal(b["name"]["value"]))
           for b in result["results"]["bindings"]]
    assert result["head"]["vars"] == ["p", "name"]
    assert got == _expected(demo_db, PEOPLE) and len(got) >= 2


def test_select_xml_csv_tsv_agree(serve, demo_db):
    server = serve(demo_db)
    expected = _expected(demo_db, PEOPLE)
    xml = _wrapper(server, PEOPLE, "xml").response.read()
    parsed = XMLResultParser().parse(io.BytesIO(xml))
    assert [tuple(r) for r in parsed] == expected
    text = httpx.get(server.sparql, params={"query": PEOPLE}, headers={"Accept": "text/csv"})
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.text)))
    assert rows[0] == ["p", "name"] and rows[1:] == [[str(a), str(b)] for a, b in expected]
    tsv = httpx.get(server.sparql, params={"query": PEOPLE},
                    headers={"Accept": "text/tab-separated-values"}).text.splitlines()
    assert tsv[0] == "?p\t?name"
    assert tsv[1:] == [f"<{a}>\t\"{b}\"" for a, b in expected]


def test_post_sparql_query_body_and_form(serve, demo_db):
    server = serve(demo_db)
    direct = httpx.post(server.sparql, content=PEOPLE.encode(),
                        headers={"Content-Type": "application/sparql-query"})
    form = httpx.post(server.sparql, data={"query": PEOPLE})
    assert direct.status_code == form.status_code == 200
    assert direct.json() == form.json()


def test_ask_and_construct(serve, demo_db):
    server = serve(demo_db)
    ask = _wrapper(server, f"ASK {{ <{EX}ada> ?p ?o }}", "json").convert()
    assert ask["boolean"] is True
    construct = (f"PREFIX ex: <{EX}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                 "CONSTRUCT { ?p <urn:named> ?n } WHERE { ?p a ex:Professor ; rdfs:label ?n }")
    for accept, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"),
                        ("application/ld+json", "json-ld")):
        r = httpx.get(server.sparql, params={"query": construct}, headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
        g = Graph().parse(data=r.content, format=fmt)
        assert len(g) == len(_expected(demo_db, PEOPLE))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_sparqlwrapper_return_format(serve, demo_db, method):
    """SPARQLWrapper names the format in `format`, `output` and `results`, twice for some
    (``format=tsv&format=text/tab-separated-values``, an empty second value for others), and
    asks ``xml`` / ``n3`` / ``json`` for graphs, meaning RDF/XML, Turtle and JSON-LD: each
    answered 400 "2 `format` parameters" or 406 before."""
    server = serve(demo_db)
    expected = _expected(demo_db, PEOPLE)
    tsv = _wrapper(server, PEOPLE, "tsv", method).convert().decode().splitlines()
    assert tsv[0] == "?p\t?name" and len(tsv) == len(expected) + 1
    assert len(_wrapper(server, PEOPLE, "csv", method).convert().decode().splitlines()) == len(
        expected) + 1
    construct = (f"PREFIX ex: <{EX}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                 "CONSTRUCT { ?p <urn:named> ?n } WHERE { ?p a ex:Professor ; rdfs:label ?n }")
    for fmt, parse_as in (("turtle", "turtle"), ("n3", "turtle"), ("xml", "xml"),
                          ("rdf+xml", "xml"), ("json-ld", "json-ld"), ("json", "json-ld")):
        result = _wrapper(server, construct, fmt, method)
        body = result.response.read()
        g = Graph().parse(data=body, format=parse_as)
        assert len(g) == len(expected), fmt


def test_format_parameter_choices(serve, demo_db):
    server = serve(demo_db)
    # Fuseki's `output=`; the first available of several names wins; none available: 406
    r = httpx.get(server.sparql, params={"query": PEOPLE, "output": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    r = httpx.get(server.sparql, params=[("query", PEOPLE), ("format", "ttl"), ("format", "tsv")])
    assert r.headers["content-type"].startswith("text/tab-separated-values")
    r = httpx.get(server.sparql, params=[("query", PEOPLE), ("format", "ttl")])
    assert r.status_code == 406 and "'ttl' is not available" in r.text


def test_dataset_parameters(serve, demo_db):
    server = serve(demo_db)
    query = f"SELECT ?o WHERE {{ <{EX}ada> <{EX}collaborator> ?o }} ORDER BY ?o"
    plain = httpx.get(server.sparql, params={"query": query}).json()
    inferred_graph = "urn:kg-engine:inferred:owl-rl"
    only = httpx.get(server.sparql, params={"query": query,
                                            "default-graph-uri": inferred_graph}).json()
    union = httpx.get(server.sparql, params={"query": query,
                                             "union-default-graph": "true"}).json()
    values = lambda r: {b["o"]["value"] for b in r["results"]["bindings"]}
    # the store has a reasoning profile: its default graph answers with the inferences, as
    # kg.query does (test_select_sees_the_reasoning_profiles_inferences)
    assert str(INFERRED[2]) in values(only) and str(INFERRED[2]) in values(plain)
    assert values(union) == values(plain) | values(only)
    # FROM in the query is overridden by default-graph-uri (protocol §2.1.4), also on the
    # path that rdflib's evaluator finishes
    from_query = query.replace("WHERE", f"FROM <{inferred_graph}> WHERE")
    assert values(httpx.get(server.sparql, params={"query": from_query}).json()) == values(only)
    over = httpx.get(server.sparql, params={"query": from_query,
                                            "default-graph-uri": "urn:none"}).json()
    assert values(over) == set()
    # a query with computed values is materialised (not streamed): the same dataset rules
    computed = (f"SELECT (STR(?o) AS ?x) FROM <{inferred_graph}> "
                f"WHERE {{ <{EX}ada> <{EX}collaborator> ?o }}")
    strs = lambda r: {b["x"]["value"] for b in r["results"]["bindings"]}
    assert strs(httpx.get(server.sparql, params={"query": computed}).json()) == values(only)
    assert strs(httpx.get(server.sparql, params={"query": computed,
                                                 "default-graph-uri": "urn:none"}).json()) == set()
    named = ("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    r = httpx.get(server.sparql, params={"query": named, "named-graph-uri": inferred_graph}).json()
    assert [b["g"]["value"] for b in r["results"]["bindings"]] == [inferred_graph]


def test_service_description(serve, demo_db):
    server = serve(demo_db)
    r = httpx.get(server.sparql, headers={"Accept": "text/turtle"})
    g = Graph().parse(data=r.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in g
    assert (None, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Update")) not in g
    assert (None, URIRef(sd + "endpoint"), URIRef(server.sparql)) in g
    # the default graph's size is the one queries see (inferences of the profile included)
    triples = next(g.objects(None, URIRef("http://rdfs.org/ns/void#triples")))
    n = httpx.get(server.sparql, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    assert int(triples) == int(n.json()["results"]["bindings"][0]["n"]["value"])


def test_malformed_query_is_400_with_line_and_column(serve, demo_db):
    server = serve(demo_db)
    r = httpx.get(server.sparql, params={"query": "SELECT * WHERE {\n  ?s ?p }"})
    assert r.status_code == 400
    assert ":2:" in r.text and "near" in r.text
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    with pytest.raises(QueryBadFormed):
        _wrapper(server, "SELEC nothing", "json")


@pytest.mark.parametrize("request_kw, status", [
    ({"params": {"query": ["ASK {}", "ASK {}"]}}, 400),              # two queries
    ({"params": {"update": "CLEAR ALL"}}, 405),                      # update via GET
    ({"method": "POST", "content": b"x", "headers": {"Content-Type": "text/plain"}}, 415),
    ({"params": {"query": "SELECT * {}"}, "headers": {"Accept": "image/png"}}, 406),
    ({"method": "POST", "data": {"query": "ASK {}", "update": "CLEAR ALL"}}, 400),
    ({"method": "POST", "content": b"ASK {\xff}",
      "headers": {"Content-Type": "application/sparql-query"}}, 400),   # not UTF-8
])
def test_protocol_errors(serve, demo_db, request_kw, status):
    server = serve(demo_db)
    method = request_kw.pop("method", "GET")
    r = httpx.request(method, server.sparql, **request_kw)
    assert r.status_code == status, r.text


def test_read_only_by_default(serve, demo_copy):
    server = serve(demo_copy)
    before = _expected(demo_copy, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    r = httpx.post(server.sparql, data={"update": "CLEAR DEFAULT"})
    assert r.status_code == 403 and "--update" in r.text
    r = httpx.post(server.url + "/update", content=b"CLEAR DEFAULT",
                   headers={"Content-Type": "application/sparql-update"})
    assert r.status_code == 403
    assert _expected(demo_copy, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == before


def test_update_and_token(serve, demo_copy):
    server = serve(demo_copy, update=True, token="s3cret")
    insert = f'INSERT DATA {{ <{EX}new> <{EX}name> "new" }}'
    assert httpx.post(server.sparql, data={"update": insert}).status_code == 401
    wrong = httpx.post(server.sparql, data={"update": insert},
                       headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "Bearer" in wrong.headers["www-authenticate"]
    ok = httpx.post(server.sparql, content=insert.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": "Bearer s3cret"})
    assert ok.status_code == 204
    ask = httpx.get(server.sparql, params={"query": f"ASK {{ <{EX}new> ?p ?o }}"}).json()
    assert ask["boolean"] is True
    bad = httpx.post(server.sparql, data={"update": "INSERT DATA { <a> }"},
                     headers={"Authorization": "Bearer s3cret"})
    assert bad.status_code == 400 and ":1:" in bad.text
    load = httpx.post(server.sparql, data={"update": "LOAD <file:///etc/hostname>"},
                      headers={"Authorization": "Bearer s3cret"})
    assert load.status_code == 400 and "Graph Store" in load.text
    # queries need no token
    assert httpx.get(server.sparql, params={"query": "ASK {}"}).status_code == 200


def test_update_via_sparqlwrapper(serve, demo_copy):
    from SPARQLWrapper import POST
    from SPARQLWrapper import SPARQLWrapper as Client

    server = serve(demo_copy, update=True)
    client = Client(server.sparql, updateEndpoint=server.sparql)
    client.setMethod(POST)
    client.setQuery(f"INSERT DATA {{ <{EX}w> <{EX}p> 1 }}")
    client.query()
    assert _expected(demo_copy, f"SELECT ?o WHERE {{ <{EX}w> <{EX}p> ?o }}") == [(Literal(1),)]


def _big_store(url: str, n: int) -> None:
    with KnowledgeGraph(url) as kg:
        kg.add((URIRef(f"urn:s{i}"), URIRef("urn:p"), Literal(i)) for i in range(n))


def test_timeout_cancels_sql_and_answers_503(serve, tmp_path):
    db = f"sqlite:///{tmp_path / 'big.sqlite'}"
    _big_store(db, 3000)
    server = serve(db, timeout=0.3)
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"
    # 27e9 rows: an answer at all (within the client's timeout) means the SQL was cancelled
    r = httpx.get(server.sparql, params={"query": slow}, timeout=120)
    assert r.status_code == 503 and "timeout" in r.text
    streamed = "SELECT ?a ?b WHERE { ?a ?p ?x . ?b ?q ?y }"  # streamed path, 9e6 rows
    r = httpx.get(server.sparql, params={"query": streamed + " ORDER BY DESC(?b)"}, timeout=120)
    assert r.status_code == 503
    # the connections are usable again
    ok = httpx.get(server.sparql, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    assert ok.json()["results"]["bindings"][0]["n"]["value"] == "3000"


def test_select_streams_from_the_cursor(serve, tmp_path):
    db = f"sqlite:///{tmp_path / 'rows.sqlite'}"
    _big_store(db, 20_000)
    server = serve(db)
    query = "SELECT ?s ?o WHERE { ?s <urn:p> ?o }"
    with httpx.stream("GET", server.sparql, params={"query": query},
                      headers={"Accept": "text/tab-separated-values"}) as r:
        assert r.headers.get("transfer-encoding") == "chunked"
        chunks = list(r.iter_raw())
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 20_001 and len(chunks) > 5
    # a client that leaves early gives its connection back
    pool = server.app.state.pool
    with httpx.stream("GET", server.sparql, params={"query": query}) as r:
        next(r.iter_raw())
    deadline = time.monotonic() + 60  # the lease comes back when the worker notices
    while len(pool._idle) != len(pool._all) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pool._idle) == len(pool._all)


def test_json_results_are_valid_json_with_literals(serve, tmp_path):
    db = f"sqlite:///{tmp_path / 'lit.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.add([(URIRef("urn:a"), URIRef("urn:p"), Literal('tab\t"quote"\nline', lang="en")),
                (URIRef("urn:a"), URIRef("urn:q"), Literal(2.5))])
    server = serve(db)
    r = httpx.get(server.sparql, params={"query": "SELECT ?p ?o { <urn:a> ?p ?o } ORDER BY ?p"})
    bindings = json.loads(r.content)["results"]["bindings"]
    assert bindings[0]["o"] == {"type": "literal", "value": 'tab\t"quote"\nline', "xml:lang": "en"}
    assert bindings[1]["o"]["datatype"] == "http://www.w3.org/2001/XMLSchema#double"
    tsv = httpx.get(server.sparql, params={"query": "SELECT ?o { <urn:a> <urn:p> ?o }"},
                    headers={"Accept": "text/tab-separated-values"}).text
    assert tsv == '?o\n"tab\\t\\"quote\\"\\nline"@en\n'




def test_rdflib_sparqlstore_client(serve, demo_db):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    server = serve(demo_db)
    remote = Graph(SPARQLStore(server.sparql))
    assert [tuple(r) for r in remote.query(PEOPLE)] == _expected(demo_db, PEOPLE)
    assert (URIRef(EX + "ada"), None, None) in remote


# cases of the W3C SPARQL 1.1 Protocol test suite (protocol/manifest.ttl) not covered above
@pytest.mark.parametrize("name, request_kw, status", [
    ("bad_query_method", {"method": "PUT", "content": b"ASK {}",
                          "headers": {"Content-Type": "application/sparql-query"}}, 405),
    ("bad_multiple_updates", {"method": "POST",
                              "data": {"update": ["CLEAR NAMED", "CLEAR DEFAULT"]}}, 400),
    ("bad_update_wrong_media_type", {"method": "POST", "content": b"CLEAR NAMED",
                                     "headers": {"Content-Type": "text/plain"}}, 415),
    ("bad_query_missing_form_type", {"method": "POST", "content": b"query=ASK%20%7B%7D"}, 415),
    ("bad_query_wrong_media_type", {"method": "POST", "content": b"ASK {}",
                                    "headers": {"Content-Type": "text/plain"}}, 415),
])
def test_w3c_protocol_bad_requests(serve, demo_copy, name, request_kw, status):
    server = serve(demo_copy, update=True)
    method = request_kw.pop("method")
    assert httpx.request(method, server.sparql, **request_kw).status_code == status, name


def test_w3c_protocol_content_types(serve, demo_db):
    server = serve(demo_db)
    ask = httpx.post(server.sparql, data={"query": "ASK {}"},
                     headers={"Accept": "application/sparql-results+xml"})
    assert ask.headers["content-type"].startswith("application/sparql-results+xml")
    assert "<boolean>true</boolean>" in ask.text
    describe = httpx.get(server.sparql, params={"query": f"DESCRIBE <{EX}ada>"},
                         headers={"Accept": "application/n-triples, text/turtle;q=0.5"})
    assert describe.status_code == 200
    assert describe.headers["content-type"].startswith("application/n-triples")
    assert len(Graph().parse(data=describe.text, format="nt")) > 5


def test_a_store_locked_by_another_process_is_503_not_400():
    """A write that waited out the busy timeout (a long `kg load` holds the lock) is the
    server's state: 503 with Retry-After, so clients retry; it was a 400."""
    import sqlite3

    from kg_engine.errors import StoreError
    from kg_engine.serve.errors import error_response
    from kg_engine.store.database import database_error

    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    try:
        try:
            raise busy
        except sqlite3.OperationalError as exc:
            raise database_error(exc, "sqlite:///kg.sqlite") from exc
    except StoreError as err:
        response = error_response(err)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert b"locked by another process" in response.body
    # a failing update operation (no SILENT) stays the client's 400
    assert error_response(StoreError("graph <urn:g> does not exist")).status_code == 400


def test_a_full_disk_is_507_not_400():
    """The server's disk full or its file size limit reached: 507 Insufficient Storage (the
    server's state) with the message naming the cause; it was a 400, the client's fault.
    A driver error that reached the boundary raw gets the same (tests/testing/
    test_iofaults.py runs kg serve --update under a file size limit)."""
    import errno
    import sqlite3

    from kg_engine.core.files import write_failure
    from kg_engine.serve.errors import error_response
    from kg_engine.store.database import database_error

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorname = "SQLITE_FULL"
    store_error = database_error(full, "sqlite:///kg.sqlite")
    store_error.__cause__ = full  # as the API's boundary raises it
    for exc in (full, store_error,
                write_failure(OSError(errno.EFBIG, "File too large"), "out.ttl")):
        response = error_response(exc, "sqlite:///kg.sqlite")
        assert response.status_code == 507, exc
        assert b"disk is full" in response.body or b"too large" in response.body


def test_cors_only_when_asked(serve, demo_db):
    """A web page of another origin (a hosted YASGUI, a notebook front end) could not call the
    endpoint: no preflight answer (405), no Access-Control-Allow-Origin. `--cors ORIGIN` turns
    it on; without it nothing changes, so other sites cannot read a store served on localhost."""
    from kg_engine.errors import ConfigError
    from kg_engine.serve import ServerConfig, create_app

    origin = {"Origin": "https://yasgui.example.org"}
    plain = serve(demo_db)
    r = httpx.get(plain.sparql, params={"query": "ASK {}"}, headers=origin)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    server = serve(demo_db, cors=("https://yasgui.example.org",))
    pre = httpx.options(server.sparql, headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://yasgui.example.org"
    assert "POST" in pre.headers["access-control-allow-methods"]
    r = httpx.post(server.sparql, content=PEOPLE.encode(), headers={
        **origin, "Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and r.json()["results"]["bindings"]
    assert r.headers["access-control-allow-origin"] == "https://yasgui.example.org"
    other = httpx.get(server.sparql, params={"query": "ASK {}"},
                      headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    with pytest.raises(ConfigError, match="scheme://host"):
        create_app(ServerConfig(demo_db, cors=("yasgui.example.org",)), KnowledgeGraph)


def test_select_sees_the_reasoning_profiles_inferences(serve, demo_db):
    """With a reasoning profile, kg query / kg.query answer asserted ∪ inferred, and so did
    /sparql for ASK and CONSTRUCT, but a streamed SELECT read the default graph alone: the
    same query gave different answers over HTTP and in Python."""
    server = serve(demo_db)
    s, p, o = INFERRED
    query = f"SELECT ?o WHERE {{ <{s}> <{p}> ?o }} ORDER BY ?o"
    expected = _expected(demo_db, query)
    assert (o,) in expected
    got = httpx.get(server.sparql, params={"query": query}).json()["results"]["bindings"]
    assert [(URIRef(b["o"]["value"]),) for b in got] == expected
    ask = httpx.get(server.sparql, params={"query": f"ASK {{ <{s}> <{p}> <{o}> }}"}).json()
    assert ask["boolean"] is True
    # FROM still decides the default graph: only the named graph's statements
    from_graph = f"SELECT ?o FROM <urn:kg-engine:inferred:owl-rl> WHERE {{ <{s}> <{p}> ?o }}"
    got = httpx.get(server.sparql, params={"query": from_graph}).json()["results"]["bindings"]
    assert [(URIRef(b["o"]["value"]),) for b in got] == _expected(demo_db, from_graph)


def test_xml_results_keep_a_cr_and_refuse_u0001(serve, tmp_path):
    """Found by the transport differential: streamed SPARQL XML wrote a CR raw (a parser
    reads it as LF) and U+0001 raw (an ill-formed document); now ``&#13;`` and a 400."""
    url = f"sqlite:///{tmp_path / 'cr.sqlite'}"
    with KnowledgeGraph(url) as kg:
        kg.update(r'INSERT DATA { <urn:a> <urn:p> "a\r\nb" . <urn:z> <urn:q> "c\u0001" }')
    srv = serve(url)
    xml = "application/sparql-results+xml"
    r = httpx.get(srv.sparql, params={"query": "SELECT ?o WHERE { ?s <urn:p> ?o }"},
                  headers={"Accept": xml})
    res = XMLResultParser().parse(io.BytesIO(r.content))
    assert [str(row[0]) for row in res] == ["a\r\nb"]
    r = httpx.get(srv.sparql, params={"query": "SELECT ?o WHERE { ?s <urn:q> ?o }"},
                  headers={"Accept": xml})
    assert r.status_code == 400 and "U+0001" in r.text


def test_construct_as_turtle_uses_the_stores_prefixes(serve, demo_db):
    """A new user's catalogue: CONSTRUCT answered as Turtle named the store's IRIs with
    rdflib's made-up prefixes (``@prefix ns1: <https://library.example.net/ns#>``, ``ns1:wrote``)
    although the store knows the file's own (``lib:``), which kg export uses."""
    server = serve(demo_db)
    construct = f"CONSTRUCT {{ ?p <{EX}named> ?n }} WHERE {{ ?p a <{EX}Professor> ; ?x ?n }}"
    r = httpx.get(server.sparql, params={"query": construct}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200, r.text
    assert f"@prefix ex: <{EX}> ." in r.text and "ns1:" not in r.text, r.text
    assert len(Graph().parse(data=r.text, format="turtle")) > 0


def test_construct_as_turtle_uses_the_stores_empty_prefix(serve, tmp_path):
    """A store loaded from a file with ``@prefix :`` answered a Turtle CONSTRUCT (and a
    Graph Store GET) with ``ns1:`` names."""
    src = tmp_path / "books.ttl"
    src.write_text("@prefix : <http://books.example/> .\n:narnia :writtenBy :lewis .\n")
    db = f"sqlite:///{tmp_path / 'books.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.load(src)
    server = serve(db)
    construct = ("CONSTRUCT { ?a <http://books.example/wrote> ?b } "
                 "WHERE { ?b <http://books.example/writtenBy> ?a }")
    r = httpx.get(server.sparql, params={"query": construct}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200, r.text
    assert "@prefix : <http://books.example/> ." in r.text, r.text
    assert ":lewis :wrote :narnia" in r.text and "ns1:" not in r.text, r.text


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_broken_off_stream_closes_its_cursor_before_the_connection_is_reused(
        serve, tmp_path, request, monkeypatch, backend):
    """A streamed XML result broken off by U+0001 after its first chunk gave its connection
    back with the database cursor still open: the garbage collector closed it later, on the
    thread of whichever request then used that connection. On PostgreSQL that thread held the
    connection's lock in a fetch: the request hung for good (transport differential, http-csv
    after http-xml, seed 1700022: 'timed out' after 120 s)."""
    import gc
    import weakref

    from kg_engine.store.database import Database

    url = (f"sqlite:///{tmp_path / 'broken.sqlite'}" if backend == "sqlite"
           else request.getfixturevalue("pg_server").new_database_url())
    with KnowledgeGraph(url) as kg:  # 300 KB of rows before the one XML cannot carry
        kg.add((URIRef(f"urn:s{i}"), URIRef("urn:p"), Literal(f"{i:05d} " + "x" * 94)) for i in range(3000))
        kg.add([(URIRef("urn:z"), URIRef("urn:p"), Literal("zz\u0001"))])
    streams = []
    original = Database.stream

    def recorded(self, *args, **kwargs):
        stream = original(self, *args, **kwargs)
        streams.append(weakref.ref(stream))  # a reference here would keep it open
        return stream

    monkeypatch.setattr(Database, "stream", recorded)
    srv = serve(url, pool_size=1)  # the next request gets the same connection
    query = "SELECT ?o WHERE { ?s <urn:p> ?o } ORDER BY ?o"
    gc.disable()  # what the collector would close at some moment must be closed already
    try:
        with pytest.raises(httpx.HTTPError):  # the stream ends without its closing tags
            httpx.get(srv.sparql, params={"query": query},
                      headers={"Accept": "application/sparql-results+xml"}, timeout=60).read()
        r = httpx.get(srv.sparql, params={"query": "SELECT ?o WHERE { <urn:z> <urn:p> ?o }"},
                      headers={"Accept": "text/csv"}, timeout=60)
        assert r.status_code == 200 and "zz" in r.text
        open_ = [s() for s in streams if s() is not None and s().gi_frame is not None]
        assert streams and not open_, f"{len(open_)} cursor(s) left open"
    finally:
        gc.enable()


def test_a_lock_error_the_driver_raised_is_503_too():
    """Graph Store PUT/DELETE while another process held the write lock answered 500
    "internal error: OperationalError: database is locked": the driver's error reached the
    server unwrapped. Now any database error is read as the store's error (URL named, its
    password hidden), and a lock is 503 with Retry-After."""
    import sqlite3

    from kg_engine.serve.errors import error_response

    for name in ("SQLITE_BUSY", "SQLITE_LOCKED_SHAREDCACHE"):
        busy = sqlite3.OperationalError("database is locked")
        busy.sqlite_errorname = name
        response = error_response(busy, "sqlite:///kg.sqlite")
        assert response.status_code == 503 and response.headers["Retry-After"] == "5", name
        assert response.body.startswith(b"sqlite:///kg.sqlite ")
    assert error_response(busy).body.startswith(b"the store ")
    corrupt = sqlite3.DatabaseError("database disk image is malformed")
    corrupt.sqlite_errorname = "SQLITE_CORRUPT"
    assert error_response(corrupt, "sqlite:///kg.sqlite").status_code == 400  # as a StoreError
    assert error_response(sqlite3.OperationalError("no such column: x")).status_code == 500


def test_store_prefixes_are_not_declared_over_the_protocol(serve, demo_copy):
    """kg.query declares the prefixes bound in the store (for notebook users); the endpoint
    did so too for queries it does not stream, but not for updates or queries with a
    dataset: a protocol request is the text alone, on every path."""
    with KnowledgeGraph(demo_copy) as kg:
        kg.graph.bind("zz", URIRef(EX))
    server = serve(demo_copy)
    for query in ("SELECT ?s WHERE { ?s zz:name ?n }",
                  "CONSTRUCT { ?s zz:name ?n } WHERE { ?s zz:name ?n }"):
        r = httpx.get(server.sparql, params={"query": query})
        assert r.status_code == 400 and "zz:" in r.text, r.text
