"""Request parsing and validation for Read v3.2's ``POST /read/analyze``: query options, the
body kind and the URL body. I/O-free; raises the service's 400/415 errors from
:mod:`emulator.errors`. Reading the body itself is :mod:`emulator.http.bodies`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from emulator import contract, errors
from emulator.engine.base import ReadingOrder

BodyKind = Literal["url", "stream"]

# The Read model versions the service has served through v3.2 (GA 2021-04-12 and 2022-04-30,
# previews 2021-09-30 and 2022-01-30), each named by the version a result reports: ``latest``
# is the newest GA model and ``latest-preview`` the newest preview. One local model reads for
# all of them; a well-formed but unknown date is refused like the service.
SERVED_MODEL_VERSIONS: dict[str, str] = {
    "latest": "2022-04-30",
    "latest-preview": "2022-01-30-preview",
    "2021-04-12": "2021-04-12",
    "2021-09-30-preview": "2021-09-30-preview",
    "2022-01-30-preview": "2022-01-30-preview",
    "2022-04-30": "2022-04-30",
}
KNOWN_MODEL_VERSIONS = frozenset(SERVED_MODEL_VERSIONS)


def served_model_version(requested: str) -> str:
    """The dated version a result names for the ``requested`` (validated) ``model-version``."""
    return SERVED_MODEL_VERSIONS.get(requested, SERVED_MODEL_VERSIONS["latest"])


@dataclass(frozen=True, slots=True)
class AnalyzeQuery:
    """The validated query of an analyze request."""

    language: str | None
    pages: tuple[str, ...] | None
    reading_order: ReadingOrder
    model_version: str


def _canonical_languages() -> dict[str, str]:
    return {code.lower(): code for code in contract.model_languages()}


def parse_language(value: str | None) -> str | None:
    """The service's spelling of ``value`` (matched case-insensitively) among the languages
    of model 2022-04-30 and the contract's list, or None if absent."""
    if value is None or value == "":
        return None
    canonical = _canonical_languages().get(value.lower())
    if canonical is None:
        raise errors.not_supported_language(value)
    return canonical


def parse_pages(value: str | None) -> tuple[str, ...] | None:
    """Split the comma-joined ``pages`` parameter and check each item's syntax and order.

    Resolving the ranges against the document's page count happens once the document is
    known (:func:`emulator.documents.formats.select_pages`).
    """
    if value is None:
        return None
    items = tuple(item.strip() for item in value.split(","))
    pattern = contract.pages_item_pattern()
    for item in items:
        if not pattern.match(item):
            raise errors.invalid_page_range(
                f"Invalid page range {item!r}: use N, N-M, N- or -M, separated by commas."
            )
        bounds = [int(part) for part in item.split("-") if part]
        if any(bound < 1 for bound in bounds):
            raise errors.invalid_page_range(f"Invalid page range {item!r}: pages start at 1.")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise errors.invalid_page_range(
                f"Invalid page range {item!r}: the start is after the end."
            )
    return items


def parse_reading_order(value: str | None) -> ReadingOrder:
    """``basic`` (the default) or ``natural``, case-insensitively."""
    if value is None or value == "":
        return "basic"
    lowered = value.lower()
    if lowered == "basic":
        return "basic"
    if lowered == "natural":
        return "natural"
    raise errors.invalid_reading_order(value)


def parse_model_version(value: str | None) -> str:
    """The requested model version (default ``latest``), checked against the contract."""
    if value is None or value == "":
        return "latest"
    if not contract.model_version_pattern().match(value):
        raise errors.bad_argument(
            f"Invalid model-version {value!r}: expected 'latest' or a date such as 2022-04-30."
        )
    if value not in KNOWN_MODEL_VERSIONS:
        raise errors.bad_argument(
            f"The model-version {value!r} is not supported. Supported: "
            + ", ".join(sorted(KNOWN_MODEL_VERSIONS))
            + "."
        )
    return value


def parse_query(params: Mapping[str, str]) -> AnalyzeQuery:
    """Validate the analyze query parameters; unknown parameters are ignored like the service."""
    return AnalyzeQuery(
        language=parse_language(params.get("language")),
        pages=parse_pages(params.get("pages")),
        reading_order=parse_reading_order(params.get("readingOrder")),
        model_version=parse_model_version(params.get("model-version")),
    )


_STREAM_TYPES = ("application/octet-stream", "application/pdf", "image/")


def body_kind(content_type: str | None) -> BodyKind:
    """Tell the two operations on one path apart by Content-Type, as the service does:
    JSON is ``Read`` (a URL), binary is ``ReadInStream``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return "url"
    if media.startswith(_STREAM_TYPES):
        return "stream"
    raise errors.unsupported_media_type(media)


def parse_url_body(body: bytes) -> str:
    """The ``url`` of an ``ImageUrl`` JSON body."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.bad_argument("The request body is not valid JSON.") from None
    if not isinstance(document, dict) or "url" not in document:
        raise errors.bad_argument('The request body must be a JSON object {"url": "..."}.')
    url = document["url"]
    if not isinstance(url, str) or not url.strip():
        raise errors.invalid_image_url("The url must be a non-empty string.")
    return url.strip()
