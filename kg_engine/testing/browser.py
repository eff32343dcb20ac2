"""Headless Chromium for the browser tests (Debian's ``chromium`` + ``chromium-driver``,
driven by Selenium; nothing downloads a browser build).

``chromium()`` yields a WebDriver, or skips the calling test with the reason when the
browser, its driver or Selenium is missing; with ``KG_REQUIRE_BROWSER=1`` (CI, set by
``.ci/run``) it fails instead. ``CANVAS_PIXELS_JS`` counts the non-transparent pixels of the
canvases under ``#graph``: more than a few hundred means nodes were really drawn.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["CANVAS_PIXELS_JS", "chromium"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--window-size=1280,1400")

CANVAS_PIXELS_JS = """
let n = 0;
for (const c of document.querySelectorAll('#graph canvas')) {
  if (!c.width || !c.height) continue;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
}
return n;"""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver, quit on exit (skips/fails the test when unavailable)."""
    import pytest

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if not (binary and driver_path and webdriver):
        message = "headless Chromium test needs chromium, chromium-driver and selenium"
        if os.environ.get("KG_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (KG_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
