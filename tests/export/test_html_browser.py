"""The static HTML view in headless Chromium: opened from file://, offline, it draws the
subgraph, shows a node's statements on click and finds nodes by label.

Skips without chromium + chromium-driver + selenium (CI sets KG_REQUIRE_BROWSER=1 to fail
instead, as for the serve explorer's browser test).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_engine.testing.browser import CANVAS_PIXELS_JS, chromium

from .conftest import EX, ex


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


def test_page_draws_and_reacts(sample_kg, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "ada.html"
    sample_kg.export(out, entity=ex("ada"), hops=2)
    browser.get(out.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "graph").get_attribute("data-rendered"))
    nodes = int(browser.find_element(By.ID, "graph").get_attribute("data-rendered"))
    assert nodes == browser.execute_script("return window.kgGraph.nodes().length") >= 4
    assert browser.execute_script(CANVAS_PIXELS_JS) > 300
    # click Ada: her statements appear in the side panel
    browser.execute_script(
        "const n = window.kgGraph.nodes().filter(x => x.data('iri') === arguments[0]);"
        "n.emit('tap');", f"{EX}ada")
    info = browser.find_element(By.ID, "info").text
    assert "Ada Lovelace" in info and "knows" in info and "asserted" in info
    search = browser.find_element(By.ID, "search")
    search.send_keys("charles")
    assert browser.execute_script("return window.kgGraph.nodes('.match').length") == 1
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
