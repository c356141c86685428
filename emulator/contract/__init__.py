"""The contracts shipped as package data, and the facts the emulator derives from them.

``read-v3.2.openapi.json`` is a byte-for-byte copy of the upstream ``Ocr.json`` (see
``shared/contract/README.md``); ``document-intelligence-2024-11-30.openapi.json`` and
``form-recognizer-2023-07-31.openapi.json`` are Document Intelligence's, from
``Azure/azure-rest-api-specs`` (see ``shared/contract/document-intelligence/README.md``).
Deriving the language list and the query patterns from v3.2's, instead of restating them,
keeps the emulator from drifting away from the document it serves at ``/swagger.json``.

``examples/<document>/`` holds those contracts' ``x-ms-examples`` (Microsoft's, MIT-licensed,
copied verbatim from the same repository; the READMEs above name their commits), which the
Swagger UI documents inline. ``image-analysis-4.0.openapi.json`` and ``emulator.openapi.json``
are this emulator's own: what it serves of Image Analysis 4.0 (no Microsoft document is
shipped for it), and its health, admin and token routes.
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


DOCUMENT_INTELLIGENCE_FILES = {
    "2024-11-30": "document-intelligence-2024-11-30.openapi.json",
    "2023-07-31": "form-recognizer-2023-07-31.openapi.json",
}


@cache
def document_intelligence_openapi(version: str) -> dict[str, Any]:
    """Document Intelligence's contract for API ``version`` (``2024-11-30``, ``2023-07-31``)."""
    name = DOCUMENT_INTELLIGENCE_FILES[version]
    return cast(
        "dict[str, Any]", json.loads(resources.files(__package__).joinpath(name).read_bytes())
    )


@cache
def languages() -> frozenset[str]:
    """The 73 language codes of the ``OcrDetectionLanguage`` enum."""
    return frozenset(openapi()["parameters"]["OcrDetectionLanguage"]["enum"])


MODEL_LANGUAGES_FILE = "read-languages-2022-04-30.json"


@cache
def model_languages() -> frozenset[str]:
    """The codes of the 164 printed-text languages the service reads with model 2022-04-30
    (its language-support page; the file names the source): what ``language`` accepts, with
    the contract's 73 (the older list, which still counts)."""
    raw = json.loads(resources.files(__package__).joinpath(MODEL_LANGUAGES_FILE).read_bytes())
    return frozenset(raw["languages"]) | languages()


@cache
def pages_item_pattern() -> re.Pattern[str]:
    """The pattern every comma-separated ``pages`` item must match."""
    return re.compile(openapi()["parameters"]["Pages"]["items"]["pattern"])


@cache
def model_version_pattern() -> re.Pattern[str]:
    """The pattern of the ``model-version`` query parameter."""
    return re.compile(openapi()["parameters"]["OcrModelVersion"]["pattern"])


IMAGE_ANALYSIS_FILE = "image-analysis-4.0.openapi.json"
EMULATOR_FILE = "emulator.openapi.json"


def _document(name: str) -> dict[str, Any]:
    return cast(
        "dict[str, Any]", json.loads(resources.files(__package__).joinpath(name).read_bytes())
    )


@cache
def image_analysis_openapi() -> dict[str, Any]:
    """The emulator's own description of Image Analysis 4.0's ``read`` (Swagger 2.0)."""
    return _document(IMAGE_ANALYSIS_FILE)


@cache
def emulator_openapi() -> dict[str, Any]:
    """The emulator's own routes: health, admin, tokens and the contract (Swagger 2.0)."""
    return _document(EMULATOR_FILE)


@cache
def example(document: str, name: str) -> dict[str, Any] | None:
    """The ``x-ms-examples`` file ``name`` of ``document`` (a folder of ``examples/``, such as
    ``read-v3.2``), or None where that example is not shipped."""
    path = resources.files(__package__).joinpath("examples", document, name)
    if not path.is_file():
        return None
    return cast("dict[str, Any]", json.loads(path.read_bytes()))
