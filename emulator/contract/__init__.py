"""The Read v3.2 contract shipped as package data, and the facts the emulator derives from it.

``read-v3.2.openapi.json`` is a byte-for-byte copy of the upstream ``Ocr.json`` (see
``shared/contract/README.md``). Deriving the language list and the query patterns from it,
instead of restating them, keeps the emulator from drifting away from the document it serves
at ``/swagger.json``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any, cast

CONTRACT_FILE = "read-v3.2.openapi.json"


@cache
def openapi_bytes() -> bytes:
    """The contract document exactly as shipped (served verbatim at ``/swagger.json``)."""
    return resources.files(__package__).joinpath(CONTRACT_FILE).read_bytes()


@cache
def openapi() -> dict[str, Any]:
    """The parsed contract document."""
    return cast("dict[str, Any]", json.loads(openapi_bytes()))


@cache
def languages() -> frozenset[str]:
    """The 73 language codes of the ``OcrDetectionLanguage`` enum."""
    return frozenset(openapi()["parameters"]["OcrDetectionLanguage"]["enum"])


@cache
def pages_item_pattern() -> re.Pattern[str]:
    """The pattern every comma-separated ``pages`` item must match."""
    return re.compile(openapi()["parameters"]["Pages"]["items"]["pattern"])


@cache
def model_version_pattern() -> re.Pattern[str]:
    """The pattern of the ``model-version`` query parameter."""
    return re.compile(openapi()["parameters"]["OcrModelVersion"]["pattern"])
