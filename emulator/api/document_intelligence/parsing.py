"""Request parsing for Document Intelligence's ``prebuilt-read``: the API version of each path
prefix, the model id, the query options and the ``AnalyzeDocumentRequest`` JSON body.

Microsoft's clients validate nothing (``pages="bogus"`` and ``output=["png"]`` go out as they
are), so everything is checked here, with the error a client of the service would get.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from emulator import errors
from emulator.api.document_intelligence.errors import (
    invalid_content_source,
    invalid_parameter,
    model_not_found,
    unknown_api_version,
)


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One served API version: its value, its path prefix and what it knows."""

    version: str
    prefix: str
    features: frozenset[str]
    #: Has ``outputContentFormat``, ``output=pdf``, DELETE and ``/pdf`` (2024-11-30).
    v4: bool

    @property
    def api(self) -> str:
        """The ``api`` a job accepted through this version carries."""
        return f"document-intelligence-{self.version}"


_FEATURES_V31 = frozenset(
    {"ocrHighResolution", "languages", "barcodes", "formulas", "keyValuePairs", "styleFont"}
)
V4 = ApiVersion("2024-11-30", "/documentintelligence", _FEATURES_V31 | {"queryFields"}, True)
V31 = ApiVersion("2023-07-31", "/formrecognizer", _FEATURES_V31, False)
VERSIONS = (V4, V31)

MODEL_ID = "prebuilt-read"
MODEL_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._~-]{1,63}$")
_PAGES = re.compile(r"^(\d+(-\d+)?)(,\s*(\d+(-\d+)?))*$")
# A language code or BCP 47 tag: "en", "fr", "en-US", "zh-Hans", "sr-Latn-RS".
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
STRING_INDEX_TYPES = {
    "textelements": "textElements",
    "unicodecodepoint": "unicodeCodePoint",
    "utf16codeunit": "utf16CodeUnit",
}
ContentFormat = Literal["text", "markdown"]
#: Longest value any query parameter may have (the longest legitimate one, ``pages``, is
#: far shorter): numbers stay under Python's 4300-digit ``int()`` limit.
MAX_QUERY_VALUE = 4096

# The binary media types the service takes (images, PDF, and Office and HTML documents, of
# which this emulator reads images and PDF; the others are refused as unreadable content).
_BINARY_TYPES = (
    "application/octet-stream",
    "application/pdf",
    "image/",
    "text/html",
    "application/vnd.openxmlformats-officedocument.",
)


def check_api_version(params: Mapping[str, str], expected: ApiVersion) -> None:
    """The path's API version must be asked for: anything else is the gateway's 404."""
    if params.get("api-version") != expected.version:
        raise unknown_api_version()


def check_model(model_id: str) -> None:
    """Only ``prebuilt-read`` is served: any other id, well-formed or not (the contract's
    pattern is :data:`MODEL_ID_PATTERN`), is ``ModelNotFound``."""
    if model_id != MODEL_ID:
        raise model_not_found(model_id[:64])


@dataclass(frozen=True, slots=True)
class AnalyzeQuery:
    """The validated query of an analyze request."""

    pages: tuple[str, ...] | None
    locale: str | None
    string_index_type: str
    features: tuple[str, ...]
    content_format: ContentFormat
    output_pdf: bool


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def parse_query(params: Mapping[str, str], version: ApiVersion) -> AnalyzeQuery:
    """Check and collect the analyze options ``version`` knows; an unknown value of a known
    parameter is ``InvalidArgument`` / ``InvalidParameter`` naming it."""
    for name, value in params.items():
        if len(value) > MAX_QUERY_VALUE:
            raise invalid_parameter(f"The {name} parameter is longer than {MAX_QUERY_VALUE}.")
    pages: tuple[str, ...] | None = None
    if raw_pages := params.get("pages"):
        if not _PAGES.match(raw_pages):
            raise invalid_parameter(
                f"Invalid pages {raw_pages!r}: use page numbers and ranges such as 1-3,5,7-9."
            )
        pages = tuple(item.strip() for item in raw_pages.split(","))
    locale = params.get("locale") or None
    if locale is not None and not _LOCALE.match(locale):
        raise invalid_parameter(f"Invalid locale {locale!r}: use a code such as en or en-US.")
    raw_index = params.get("stringIndexType") or "textElements"
    string_index_type = STRING_INDEX_TYPES.get(raw_index.lower())
    if string_index_type is None:
        raise invalid_parameter(
            f"Invalid stringIndexType {raw_index!r}: use textElements, unicodeCodePoint or "
            "utf16CodeUnit."
        )
    features = _csv(params.get("features"))
    for feature in features:
        if feature not in version.features:
            raise invalid_parameter(
                f"Invalid feature {feature!r}: supported are "
                + ", ".join(sorted(version.features))
                + "."
            )
    content_format: ContentFormat = "text"
    output_pdf = False
    if version.v4:
        raw_format = (params.get("outputContentFormat") or "text").lower()
        if raw_format not in ("text", "markdown"):
            raise invalid_parameter(
                f"Invalid outputContentFormat {raw_format!r}: use text or markdown."
            )
        content_format = "markdown" if raw_format == "markdown" else "text"
        for output in _csv(params.get("output")):
            if output.lower() == "pdf":
                output_pdf = True
            elif output.lower() == "figures":
                raise invalid_parameter("output=figures is not supported by prebuilt-read.")
            else:
                raise invalid_parameter(f"Invalid output {output!r}: use pdf.")
    return AnalyzeQuery(pages, locale, string_index_type, features, content_format, output_pdf)


BodyKind = Literal["json", "binary"]


def body_kind(content_type: str | None) -> BodyKind:
    """JSON (an ``AnalyzeDocumentRequest``) or the document's bytes, by ``Content-Type``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return "json"
    if not media or media.startswith(_BINARY_TYPES):
        return "binary"
    raise errors.unsupported_media_type(media)


@dataclass(frozen=True, slots=True)
class Source:
    """Where the document is: a URL to download, or its bytes (from ``base64Source``)."""

    url: str | None = None
    data: bytes | None = None


def parse_source(body: bytes) -> Source:
    """The source named by an ``AnalyzeDocumentRequest`` body: exactly one of ``urlSource``
    and ``base64Source``."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise invalid_content_source("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise invalid_content_source(
            'The request body must be a JSON object with "urlSource" or "base64Source".'
        )
    url, encoded = document.get("urlSource"), document.get("base64Source")
    if (url is None) == (encoded is None):
        raise invalid_content_source("Either urlSource or base64Source must be specified.")
    if url is not None:
        if not isinstance(url, str) or not url.strip():
            raise invalid_content_source("urlSource must be a non-empty string.")
        return Source(url=url.strip())
    if not isinstance(encoded, str):
        raise invalid_content_source("base64Source must be a base64 string.")
    try:
        return Source(data=base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise invalid_content_source("base64Source is not valid base64.") from None
