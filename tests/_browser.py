"""Debian's headless Chromium for the tests that drive one (the try-it page, Swagger UI, the
layout generator).

Without ``chromium`` and ``chromium-driver`` those tests are skipped, unless
``OCR_TESTS_REQUIRE_BROWSER`` is set (``.ci/run`` sets it after installing them), where their
absence fails them: CI cannot silently skip them.
"""

from __future__ import annotations

import os
import shutil

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
