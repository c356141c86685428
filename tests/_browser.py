"""Debian's headless Chromium for the tests that drive one (the try-it page, Swagger UI, the
layout generator).

Without ``chromium`` and ``chromium-driver`` those tests are skipped, unless
``OCR_TESTS_REQUIRE_BROWSER`` is set (``.ci/run`` sets it after installing them), where their
absence fails them: CI cannot silently skip them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def require_browser() -> None:
    """Skip the calling test (or fail it, where the browser is required) without Chromium."""
    if shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER):
        return
    message = "Debian's chromium and chromium-driver are not installed"
    if os.environ.get("OCR_TESTS_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium(scratch: Path) -> Iterator[Any]:
    """Headless Chromium under Selenium (:func:`require_browser` first), with the browser's
    console log kept; its profile and singleton socket go to ``scratch`` (TMPDIR), not
    /tmp. Quit on exit."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, env={**os.environ, "TMPDIR": str(scratch)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
