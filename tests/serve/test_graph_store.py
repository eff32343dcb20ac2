"""The SPARQL 1.1 Graph Store HTTP Protocol with httpx."""

from __future__ import annotations

import httpx
from rdflib import Graph, Literal, URIRef

from kg_engine.api import KnowledgeGraph

from .conftest import EX

TTL = f"""@prefix ex: <{EX}> .
ex:x ex:name "x" ; ex:knows ex:y .
ex:y ex:name "y" .
"""
G = "urn:test:graph"


def _triples(db: str, graph: str | None) -> set[tuple]:
    with KnowledgeGraph(db) as kg:
        from kg_engine.core.terms import DEFAULT_GRAPH

        return {q[:3] for q in kg.triples(graph=DEFAULT_GRAPH if graph is None else URIRef(graph))}


def test_put_get_post_delete_named_graph(serve, demo_copy):
    server = serve(demo_copy, update=True)
    store = server.url + "/store"
    ttl = {"Content-Type": "text/turtle"}
    r = httpx.put(store, params={"graph": G}, content=TTL.encode(), headers=ttl)
    assert r.status_code == 201
    assert len(_triples(demo_copy, G)) == 3
    r = httpx.get(store, params={"graph": G}, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    assert len(Graph().parse(data=r.text, format="nt")) == 3
    assert httpx.head(store, params={"graph": G}).status_code == 200
    r = httpx.post(store, params={"graph": G}, headers={"Content-Type": "application/n-triples"},
                   content=f'<{EX}z> <{EX}name> "z" .\n'.encode())
    assert r.status_code == 204 and len(_triples(demo_copy, G)) == 4
    r = httpx.put(store, params={"graph": G}, headers=ttl,
                  content=f'<{EX}only> <{EX}name> "only" .'.encode())
    assert r.status_code == 204
    assert _triples(demo_copy, G) == {(URIRef(EX + "only"), URIRef(EX + "name"), Literal("only"))}
    assert httpx.delete(store, params={"graph": G}).status_code == 204
    assert httpx.get(store, params={"graph": G}).status_code == 404
    assert httpx.delete(store, params={"graph": G}).status_code == 404


def test_default_graph_and_dataset(serve, demo_copy):
    server = serve(demo_copy, update=True)
    store = server.url + "/store"
    before = _triples(demo_copy, None)
    r = httpx.get(store, params={"default": ""}, headers={"Accept": "text/turtle"})
    assert len(Graph().parse(data=r.text, format="turtle")) == len(before)
    r = httpx.post(store + "?default", content=TTL.encode(), headers={"Content-Type": "text/turtle"})
    assert r.status_code == 204 and len(_triples(demo_copy, None)) == len(before) + 3
    dump = httpx.get(store).text  # the whole dataset as N-Quads
    assert "<urn:kg-engine:inferred:owl-rl> ." in dump
    assert httpx.delete(store + "?default").status_code == 204
    assert _triples(demo_copy, None) == set()
    assert _triples(demo_copy, "urn:kg-engine:extracted:demo")  # named graphs untouched


def test_malformed_body_changes_nothing(serve, demo_copy):
    server = serve(demo_copy, update=True)
    before = _triples(demo_copy, None)
    r = httpx.put(server.url + "/store?default", content=b"<a> <b> .",
                  headers={"Content-Type": "text/turtle"})
    assert r.status_code == 400 and "request body" in r.text
    assert _triples(demo_copy, None) == before
    r = httpx.put(server.url + "/store?default", content=b"x", headers={"Content-Type": "image/png"})
    assert r.status_code == 415


def test_turtle_bodies_go_through_the_strict_parser(serve, demo_copy):
    server = serve(demo_copy, update=True)
    before = _triples(demo_copy, None)
    r = httpx.post(server.url + "/store?default", content=b"<urn:a> <urn:p> 1.2.3 .",
                   headers={"Content-Type": "text/turtle"})  # rdflib's parser stored 1.2
    assert r.status_code == 400 and "request body:1:20" in r.text
    assert _triples(demo_copy, None) == before
    r = httpx.post(server.url + "/store?default", content=b"<urn:a> <urn:p> +01, [] .",
                   headers={"Content-Type": "text/turtle"})
    assert r.status_code == 204
    added = _triples(demo_copy, None) - before
    assert any(str(o) == "+01" for _, _, o in added) and len(added) == 2


def test_writes_need_update_and_token(serve, demo_copy):
    ro = serve(demo_copy)
    assert httpx.delete(ro.url + "/store?default").status_code == 403
    assert httpx.get(ro.url + "/store?default").status_code == 200
    rw = serve(demo_copy, update=True, token="t")
    assert httpx.delete(rw.url + "/store?default").status_code == 401
    ok = httpx.delete(rw.url + "/store?default", headers={"Authorization": "Bearer t"})
    assert ok.status_code == 204


def test_bad_target(serve, demo_db):
    server = serve(demo_db)
    assert httpx.get(server.url + "/store", params={"default": "", "graph": G}).status_code == 400


def test_every_body_format_keeps_lexical_forms_and_is_guarded(serve, demo_copy):
    server = serve(demo_copy, update=True)
    url = server.url + "/store?default"
    before = _triples(demo_copy, None)
    xsd_int = "http://www.w3.org/2001/XMLSchema#integer"
    bodies = {  # rdflib's parsers rewrote each "01" to "1"
        "application/n-triples": f'<urn:nt> <urn:p> "01"^^<{xsd_int}> .\n',
        "application/ld+json": f'{{"@id": "urn:jsonld", "urn:p": {{"@value": "01", '
                               f'"@type": "{xsd_int}"}}}}',
        "application/rdf+xml": f'<r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                               f'<r:Description r:about="urn:xml"><p xmlns="urn:" '
                               f'r:datatype="{xsd_int}">01</p></r:Description></r:RDF>',
    }
    for mtype, body in bodies.items():
        r = httpx.post(url, content=body.encode(), headers={"Content-Type": mtype})
        assert r.status_code == 204, (mtype, r.text)
    added = _triples(demo_copy, None) - before
    assert {(str(s), str(o)) for s, _, o in added} == {
        ("urn:nt", "01"), ("urn:jsonld", "01"), ("urn:xml", "01")}
    # a remote JSON-LD context is not fetched by the server (it would be a request forgery)
    r = httpx.post(url, content=b'{"@context": "http://127.0.0.1:9/c", "@id": "urn:a"}',
                   headers={"Content-Type": "application/ld+json"})
    assert r.status_code == 400 and "not fetched" in r.text
    # a bad N-Triples line: a 400 naming the line, and a PUT keeps the graph it would replace
    r = httpx.put(url, content=b'<urn:a> <urn:p> "x" .\n<urn:a> <urn:p> x .\n',
                  headers={"Content-Type": "application/n-triples"})
    assert r.status_code == 400 and "request body:2:17" in r.text
    assert _triples(demo_copy, None) - before == added


def test_get_answers_keep_lexical_forms(serve, demo_copy):
    # rdflib's serializers answered 1e+02, 36 and (JSON-LD) false for these
    server = serve(demo_copy, update=True)
    xsd = "http://www.w3.org/2001/XMLSchema#"
    body = (f'<urn:a> <urn:p> "1.0E2"^^<{xsd}double>, "036"^^<{xsd}integer>, '
            f'" true"^^<{xsd}boolean> .\n')
    r = httpx.put(server.url + "/store", params={"graph": G}, content=body.encode(),
                  headers={"Content-Type": "text/turtle"})
    assert r.status_code == 201, r.text
    for mtype, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
        r = httpx.get(server.url + "/store", params={"graph": G}, headers={"Accept": mtype})
        assert r.status_code == 200
        from kg_engine.core.terms import exact_literals

        with exact_literals():
            back = Graph().parse(data=r.text, format=fmt)
        assert {str(o) for o in back.objects()} == {"1.0E2", "036", " true"}, (fmt, r.text)


def test_relative_or_malformed_graph_iris_are_refused(serve, demo_copy):
    """`PUT /store?graph=fam` stored a graph named by the relative IRI "fam" (201), which no
    query can name back; now it is a 400 naming the parameter, and nothing is written."""
    server = serve(demo_copy, update=True)
    with KnowledgeGraph(demo_copy) as kg:
        before = kg.store.count()
    for bad in ("fam", "my graph", "http://ex.org/a b", "<urn:g>"):
        r = httpx.put(server.url + "/store", params={"graph": bad}, content=TTL.encode(),
                      headers={"Content-Type": "text/turtle"})
        assert r.status_code == 400 and "not an absolute IRI" in r.text, (bad, r.text)
    r = httpx.get(server.sparql, params={"query": "ASK {}", "named-graph-uri": "fam"})
    assert r.status_code == 400 and "named-graph-uri='fam'" in r.text
    with KnowledgeGraph(demo_copy) as kg:
        assert kg.store.count() == before
    r = httpx.put(server.url + "/store", params={"graph": "urn:x:fam"}, content=TTL.encode(),
                  headers={"Content-Type": "text/turtle"})
    assert r.status_code == 201


def test_the_dataset_dump_posts_back(serve, demo_db, tmp_path):
    """GET /store dumps every graph as N-Quads, but nothing took it back (400 'name the
    graph'): POST /store with N-Quads or TriG adds each statement to its own graph."""
    dump = httpx.get(serve(demo_db).url + "/store")
    assert dump.status_code == 200 and dump.headers["content-type"].startswith(
        "application/n-quads")
    target = serve(f"sqlite:///{tmp_path / 'copy.sqlite'}", update=True)
    r = httpx.post(target.url + "/store", content=dump.content,
                   headers={"Content-Type": "application/n-quads"})
    assert r.status_code == 204, r.text
    back = httpx.get(target.url + "/store")
    assert sorted(back.text.splitlines()) == sorted(dump.text.splitlines())
    trig = "@prefix ex: <urn:x:> .\nex:g { ex:a ex:p ex:b }\nex:c ex:p ex:d .\n"
    r = httpx.post(target.url + "/store", content=trig.encode(),
                   headers={"Content-Type": "application/trig"})
    assert r.status_code == 204
    assert httpx.get(target.url + "/store", params={"graph": "urn:x:g"},
                     headers={"Accept": "application/n-triples"}).text.strip() == (
        "<urn:x:a> <urn:x:p> <urn:x:b> .")
    r = httpx.post(target.url + "/store", content=b"<urn:a> <urn:p> <urn:o> <urn:g> . oops",
                   headers={"Content-Type": "application/n-quads"})
    assert r.status_code == 400 and "request body:1:" in r.text
    r = httpx.post(target.url + "/store", content=TTL.encode(),
                   headers={"Content-Type": "text/turtle"})
    assert r.status_code == 415 and "whole dataset" in r.text
    assert sorted(httpx.get(target.url + "/store").text.splitlines()) == sorted(
        dump.text.splitlines() + ["<urn:x:a> <urn:x:p> <urn:x:b> <urn:x:g> .",
                                  "<urn:x:c> <urn:x:p> <urn:x:d> ."])


def test_a_graph_store_write_is_recorded_and_explained(serve, tmp_path):
    """A statement PUT through the Graph Store Protocol was explained as loaded from the
    files of its graph (the write left no record); it is written by the request, and a PUT
    that replaces the graph drops the records of what the graph held before."""
    (tmp_path / "a.ttl").write_text(f"<{EX}a> <{EX}name> 'a' .\n")
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.load(tmp_path / "a.ttl", graph=G)
    server = serve(db, update=True)
    ttl = {"Content-Type": "text/turtle"}
    r = httpx.post(server.url + "/store", params={"graph": G}, headers=ttl,
                   content=f"<{EX}b> <{EX}name> 'b' .".encode())
    assert r.status_code == 204
    with KnowledgeGraph(db) as kg:
        text = str(kg.explain((URIRef(EX + "b"), URIRef(EX + "name"), Literal("b"))))
    assert "one of: loaded from " in text and "a.ttl or written by a Graph Store Protocol " \
           "POST request at " in text, text
    r = httpx.put(server.url + "/store", params={"graph": G}, headers=ttl,
                  content=f"<{EX}c> <{EX}name> 'c' .".encode())
    assert r.status_code == 204
    with KnowledgeGraph(db) as kg:
        text = str(kg.explain((URIRef(EX + "c"), URIRef(EX + "name"), Literal("c"))))
        assert [(r["source"], r["format"]) for r in kg.store.loads()] == [
            ("Graph Store Protocol PUT request", "graph-store")]
    assert "written by a Graph Store Protocol PUT request at " in text, text
    assert "a.ttl" not in text and "POST" not in text, text


def test_a_graph_read_as_turtle_uses_the_stores_prefixes(serve, demo_copy):
    """GET /store?graph=… as Turtle wrote ``ns1:`` for the namespace the store binds to ``ex:``."""
    server = serve(demo_copy, update=True)
    store = server.url + "/store"
    r = httpx.put(store, params={"graph": G}, content=TTL.encode(),
                  headers={"Content-Type": "text/turtle"})
    assert r.status_code == 201
    r = httpx.get(store, params={"graph": G}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    assert f"@prefix ex: <{EX}> ." in r.text and "ns1:" not in r.text, r.text
    assert len(Graph().parse(data=r.text, format="turtle")) == 3
