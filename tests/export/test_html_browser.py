"""The static HTML view in headless Chromium: opened from file://, offline, it draws the
subgraph, shows a node's statements on click and finds nodes by label.

Skips without chromium + chromium-driver + selenium (CI sets KG_REQUIRE_BROWSER=1 to fail
instead, as for the serve explorer's browser test).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import EX, ex

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if not (CHROMIUM and DRIVER and webdriver):
        message = "headless Chromium test needs chromium, chromium-driver and selenium"
        if os.environ.get("KG_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (KG_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                 "--disable-background-networking", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


_DRAWN = """
let n = 0;
for (const c of document.querySelectorAll('#graph canvas')) {
  if (!c.width || !c.height) continue;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
}
return n;"""


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
    assert browser.execute_script(_DRAWN) > 300
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
