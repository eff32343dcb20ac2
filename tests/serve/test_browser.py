"""The explorer in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
an entity page of the demo graph draws its neighbourhood, and "why" shows the explanation.

CI installs the browser (.ci/run) and sets KG_REQUIRE_BROWSER=1, so there this test fails
instead of skipping when the browser is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import EX, SENTENCE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--window-size=1280,1400")


@pytest.fixture
def browser():
    if not (CHROMIUM and DRIVER) or not _has_selenium():
        message = "headless Chromium test needs chromium, chromium-driver and selenium"
        if os.environ.get("KG_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (KG_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _has_selenium() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


# pixels of the graph's canvases that are not transparent: the nodes were really drawn
_DRAWN = """
let n = 0;
for (const c of document.querySelectorAll('#graph canvas')) {
  if (!c.width || !c.height) continue;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
}
return n;"""


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
    assert browser.execute_script(_DRAWN) > 500
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
