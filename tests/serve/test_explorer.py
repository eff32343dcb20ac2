"""The explorer's JSON API: search, entity pages with the four kinds of fact, and "why"."""

from __future__ import annotations

import httpx

from kg_engine.api import KnowledgeGraph

from .conftest import EX, EXTRACTED, INFERRED, PREDICTED, SENTENCE


def _nt(t) -> str:
    return t.n3()


def test_pages_and_vendored_scripts_are_served(serve, demo_db):
    server = serve(demo_db)
    index = httpx.get(server.url + "/")
    assert index.status_code == 200 and "/static/explorer.js" in index.text
    assert "http" not in index.text.split("<body>")[0].replace("http-equiv", "")  # no CDN
    page = httpx.get(server.url + "/entity", params={"iri": EX + "ada"})
    assert "/static/vendor/cytoscape.min.js" in page.text
    js = httpx.get(server.url + "/static/vendor/cytoscape.min.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "MIT" in httpx.get(server.url + "/static/vendor/cytoscape.LICENSE").text or \
        "Permission is hereby granted" in httpx.get(server.url + "/static/vendor/cytoscape.LICENSE").text


def test_search_labels(serve, demo_db):
    server = serve(demo_db)
    hits = httpx.get(server.url + "/api/search", params={"q": "whitc"}).json()["results"]
    assert hits[0] == {"iri": EX + "ada", "label": "Ada Whitcombe"}
    assert httpx.get(server.url + "/api/search", params={"q": "%"}).json()["results"] == []


def test_search_limit_is_checked(serve, demo_db):
    """limit=abc was a 500 Internal Server Error; limit=-1 (a negative SQL LIMIT) returned
    every match."""
    server = serve(demo_db)
    search = server.url + "/api/search"
    for bad in ("abc", "-1", "0", "2.5"):
        r = httpx.get(search, params={"q": "a", "limit": bad})
        assert r.status_code == 400 and "whole number from 1 to 100" in r.text, (bad, r.text)
    assert len(httpx.get(search, params={"q": "a", "limit": "1"}).json()["results"]) == 1
    assert len(httpx.get(search, params={"q": "a"}).json()["results"]) > 1


def test_entity_tells_the_kinds_apart(serve, demo_db):
    server = serve(demo_db)
    data = httpx.get(server.url + "/api/entity", params={"iri": EX + "ada"}).json()
    assert data["label"] == "Ada Whitcombe"
    assert {t["value"] for t in data["types"]} >= {EX + "Professor", EX + "Person"}
    kinds = {(f["s"]["value"], f["p"]["value"], f["o"]["value"]): f["kind"] for f in data["facts"]}
    assert kinds[tuple(map(str, EXTRACTED))] == "extracted"
    assert kinds[tuple(map(str, PREDICTED))] == "predicted"
    assert kinds[tuple(map(str, INFERRED))] == "inferred"
    assert "asserted" in kinds.values()
    assert any(f["dir"] == "in" for f in data["facts"])
    assert httpx.get(server.url + "/api/entity", params={"iri": "urn:nothing"}).status_code == 404


def test_explain_extracted_inferred_predicted(serve, demo_db):
    server = serve(demo_db)
    url = server.url + "/api/explain"
    ex = httpx.get(url, params=dict(zip("spo", map(_nt, EXTRACTED)))).json()
    src = ex["trees"][0]["sources"][0]
    assert src["kind"] == "extracted" and src["text"] == SENTENCE
    assert [SENTENCE[a:b] for a, b in src["highlights"]] == ["Ada Whitcombe",
                                                            "Department of Computer Science"]
    inf = httpx.get(url, params=dict(zip("spo", map(_nt, INFERRED)))).json()
    assert inf["kind"] == "inferred" and inf["trees"][0]["rule"] == "prp-symp"
    assert "rule prp-symp" in inf["text"] and len(inf["trees"][0]["premises"]) == 2
    # (the first GNN explanation imports torch: seconds)
    pred = httpx.get(url, params=dict(zip("spo", map(_nt, PREDICTED))), timeout=120).json()
    assert pred["kind"] == "predicted" and pred["confidence"] == 0.71 and "nbfnet" in pred["text"]
    missing = httpx.get(url, params={"s": "<urn:a>", "p": "<urn:b>", "o": "<urn:c>"})
    assert missing.status_code == 404
    assert httpx.get(url, params={"s": "<urn:a>"}).status_code == 400


def test_explain_of_an_updated_fact_says_written_by_the_update(serve, demo_copy):
    """The explorer's "why?" of a fact written by SPARQL update named the files loaded into
    its graph; each source now carries the sentence kg explain prints (``summary``)."""
    with KnowledgeGraph(demo_copy) as kg:
        kg.update("INSERT DATA { <urn:x:a> <urn:x:p> <urn:x:b> }")
    server = serve(demo_copy)
    got = httpx.get(server.url + "/api/explain",
                    params={"s": "<urn:x:a>", "p": "<urn:x:p>", "o": "<urn:x:b>"}).json()
    [src] = got["trees"][0]["sources"]
    assert src["agent"] == "sparql-update"
    assert src["summary"].startswith("written by SPARQL update at "), src
    assert "written by SPARQL update" in got["text"] and "loaded from" not in got["text"]


def test_search_ignores_case_beyond_ascii(store_url):
    """SQLite's lower() changes ASCII letters only (and PostgreSQL's only under a locale that
    does): 'åbc' did not find the label "ÅBC Ünïcode", nor 'école' "ÉCOLE d'ÉTÉ" (transport
    differential, explorer-search, seed 1700099)."""
    from kg_engine.serve.explorer import search

    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    with KnowledgeGraph(store_url) as kg:
        kg.update(f'INSERT DATA {{ <{EX}a> {label} "ÅBC Ünïcode"@sv . <{EX}b> {label} "ÉCOLE d\'ÉTÉ" . '
                  f'<{EX}c> {label} "ΟΔΟΣ" . <{EX}d> {label} "50% off_now" }}')
        found = {q: [h["iri"] for h in search(kg, q)] for q in ("åbc", "ÜNÏ", "école", "été", "οδος", "0% OFF_")}
    assert found == {"åbc": [EX + "a"], "ÜNÏ": [EX + "a"], "école": [EX + "b"], "été": [EX + "b"],
                     "οδος": [EX + "c"], "0% OFF_": [EX + "d"]}


def test_a_blank_node_has_an_entity_page_and_why(tmp_path):
    """A blank node (an address written [ … ]) was a dead end in the explorer: /api/entity took
    only IRIs (404 "<b1f…_x> is not in the store"), the graph view sent a tap on it there, and
    /api/explain refused it. `_:label` (the label kg query prints) now names it."""
    from kg_engine.serve.explorer import entity, explain_fact

    src = tmp_path / "a.ttl"
    src.write_text(f"@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                   "ex:Address rdfs:subClassOf ex:Place .\n"
                   "ex:ada ex:address [ a ex:Address ; ex:city \"Leeds\" ] .\n", encoding="utf-8")
    with KnowledgeGraph("sqlite://") as kg:
        kg.load(src)
        kg.reason("rdfs")
        home = entity(kg, EX + "ada")
        blank = next(f["o"] for f in home["facts"] if f["p"]["value"] == EX + "address")
        assert blank["type"] == "bnode"
        page = entity(kg, "_:" + blank["value"])
        assert page["iri"] == "_:" + blank["value"]
        facts = {(f["dir"], f["p"]["value"], f["o"]["value"]) for f in page["facts"]}
        assert ("out", EX + "city", "Leeds") in facts and ("in", EX + "address", blank["value"]) in facts
        assert {t["value"] for t in page["types"]} == {EX + "Address", EX + "Place"}
        why = explain_fact(kg, "_:" + blank["value"], "a", f"<{EX}Place>")
        assert why["trees"][0]["kind"] == "inferred"
