"""The explorer in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
an entity page of the demo graph draws its neighbourhood, and "why" shows the explanation.

CI installs the browser (.ci/run) and sets KG_REQUIRE_BROWSER=1, so there this test fails
instead of skipping when the browser is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from kg_engine.testing.browser import CANVAS_PIXELS_JS, chromium

from .conftest import EX, SENTENCE


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def test_entity_page_graph_and_why(serve, demo_db, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = serve(demo_db)
    browser.get(f"{server.url}/entity?iri={EX}ada")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(By.ID, "graph").get_attribute("data-rendered"))
    assert browser.find_element(By.ID, "title").text == "Ada Whitcombe"
    nodes = int(browser.find_element(By.ID, "graph").get_attribute("data-rendered"))
    assert nodes >= 5
    assert browser.execute_script("return window.kgGraph.nodes().length") == nodes
    assert browser.execute_script(CANVAS_PIXELS_JS) > 500
    kinds = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.fact td:first-child")}
    assert kinds == {"asserted", "inferred", "predicted", "extracted"}

    # why of the extracted fact: its sentence, the mentions highlighted
    browser.find_element(By.CSS_SELECTOR, "tr.fact.extracted button.why").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".explanation mark"))
    quote = browser.find_element(By.CSS_SELECTOR, ".explanation blockquote")
    assert quote.text == SENTENCE
    assert [m.text for m in quote.find_elements(By.TAG_NAME, "mark")] == [
        "Ada Whitcombe", "Department of Computer Science"]
    # why of an inferred fact: the rule and its premises
    inferred = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr.fact.inferred")
                    if "Chen Liwei" in r.text)
    inferred.find_element(By.CSS_SELECTOR, "button.why").click()
    wait.until(lambda d: "rule prp-symp" in d.find_element(By.TAG_NAME, "main").text)
    browser.save_screenshot(str(tmp_path / "entity-page.png"))
    assert (tmp_path / "entity-page.png").stat().st_size > 10_000

    # a result table links IRIs to entity pages
    browser.get(f"{server.url}/?query=SELECT%20%3Fs%20WHERE%20%7B%20%3Fs%20a%20%3C{EX}Professor%3E%20%7D")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.results a"))
    link = browser.find_element(By.CSS_SELECTOR, "table.results a")
    assert link.get_attribute("href").startswith(f"{server.url}/entity?iri=")


def test_why_of_a_fact_from_one_of_several_files_says_one_of(serve, browser, tmp_path: Path):
    """Two files loaded into one graph: the store knows the fact came from one of them, not
    which. The explorer listed "loaded from a.ttl" and "loaded from b.ttl" under every premise,
    as if each file held it; it now says "loaded from one of a.ttl or b.ttl", as kg explain."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from kg_engine.api import KnowledgeGraph

    (tmp_path / "family.ttl").write_text(
        "@prefix f: <http://family.example/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "f:hasFather rdfs:subPropertyOf f:hasParent .\nf:mia f:hasFather f:sven .\n")
    (tmp_path / "shop.ttl").write_text("<http://shop.example/p1> <http://shop.example/name> 'Teapot' .\n")
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.load([tmp_path / "family.ttl", tmp_path / "shop.ttl"])
        kg.reason("rdfs")
    server = serve(db)
    browser.get(f"{server.url}/entity?iri=http://family.example/mia")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.fact.inferred"))
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr.fact.inferred")
               if "hasParent" in r.text)
    row.find_element(By.CSS_SELECTOR, "button.why").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".explanation li.loads"))
    text = browser.find_element(By.CSS_SELECTOR, ".explanation").text
    files = f"{tmp_path / 'family.ttl'} or {tmp_path / 'shop.ttl'}"
    assert text.count(f"loaded from one of {files}") == 2, text
    assert f"loaded from {tmp_path / 'shop.ttl'}" not in text, text
    # no failed request on the page (GET /favicon.ico was a 404 on every page)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_big_result_draws_the_first_rows_only(serve, browser, tmp_path: Path):
    """SELECT * over 200,000 statements drew every row: the page froze for two minutes and the
    status said '200000 rows, 53 ms'. The table now holds the first 1,000; the status says so."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from kg_engine.api import KnowledgeGraph

    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.add([(URIRef(f"urn:x:n{i}"), URIRef("urn:x:p"), URIRef(f"urn:x:n{i + 1}"))
                for i in range(1500)])
    server = serve(db)
    browser.get(f"{server.url}/?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D")
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: "rows" in d.find_element(By.ID, "status").text)
    status = browser.find_element(By.ID, "status").text
    assert status.startswith("1,500 rows (the first 1,000 shown"), status
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.results tbody tr")) == 1000
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#downloads a")}
    assert set(links) == {"csv", "tsv", "json", "xml"}
