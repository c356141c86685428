"""Request parsing for Document Intelligence's ``prebuilt-read`` and ``prebuilt-layout``: the
API version of each path prefix, the model id, the query options and the
``AnalyzeDocumentRequest`` JSON body.

Microsoft's clients validate nothing (``pages="bogus"`` and ``output=["png"]`` go out as they
are), so everything is checked here, with the error a client of the service would get.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from emulator import errors
from emulator.api.document_intelligence.errors import (
    invalid_content_source,
    invalid_parameter,
    model_not_found,
    unknown_api_version,
)
from emulator.api.http import MAX_JSON_BODY
from emulator.http import bodies
from emulator.http.bodies import BodySink


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One served API version: its value, its path prefix and what it knows."""

    version: str
    prefix: str
    features: frozenset[str]
    #: Has ``outputContentFormat``, ``output=pdf``, DELETE and ``/pdf`` (2024-11-30).
    v4: bool
    #: The preview (and older) api-versions answered with this version's shape: the nearest
    #: version served to each, unless ``--strict-api-version``.
    stands_for: tuple[str, ...] = ()
    #: The api-version the request asked for, when it is one of :attr:`stands_for`.
    asked: str | None = None

    def api_of(self, model_id: str) -> str:
        """The ``api`` a job of ``model_id`` accepted through this version carries: a job is
        read back only through the version and model that made it (a preview's jobs are its
        nearest version's: either can read them)."""
        api = f"document-intelligence-{self.version}"
        return api if model_id == MODEL_ID else f"{api}/{model_id}"

    @property
    def echoed(self) -> str:
        """The api-version the answers name (``Operation-Location``, ``apiVersion``): the one
        the client asked for."""
        return self.asked or self.version


_FEATURES_V31 = frozenset(
    {"ocrHighResolution", "languages", "barcodes", "formulas", "keyValuePairs", "styleFont"}
)
V4 = ApiVersion(
    "2024-11-30",
    "/documentintelligence",
    _FEATURES_V31 | {"queryFields"},
    True,
    # The previews of the Document Intelligence API (azure-ai-documentintelligence 1.0.0b1
    # to b4; markitdown sends 2024-07-31-preview).
    stands_for=("2023-10-31-preview", "2024-02-29-preview", "2024-07-31-preview"),
)
V31 = ApiVersion(
    "2023-07-31",
    "/formrecognizer",
    _FEATURES_V31,
    False,
    # Form Recognizer's previews, and 2022-08-31 (azure-ai-formrecognizer 3.2).
    stands_for=("2022-06-30-preview", "2022-08-31", "2023-02-28-preview"),
)
VERSIONS = (V4, V31)

MODEL_ID = "prebuilt-read"
LAYOUT_MODEL_ID = "prebuilt-layout"
#: The models served: text only, and text with tables, figures, selection marks and roles.
MODEL_IDS = (MODEL_ID, LAYOUT_MODEL_ID)
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


def check_api_version(
    params: Mapping[str, str], expected: ApiVersion, strict: bool = False
) -> ApiVersion:
    """The version a request on ``expected``'s path is served as: ``expected`` itself, or, for
    one of the api-versions it stands for (unless ``strict``), ``expected`` naming the one
    asked. Anything else is the gateway's 404."""
    asked = params.get("api-version")
    if asked == expected.version:
        return expected
    if not strict and asked in expected.stands_for:
        return replace(expected, asked=asked)
    raise unknown_api_version()


def check_model(model_id: str) -> str:
    """The model asked for, one of :data:`MODEL_IDS`; any other id, well-formed or not (the
    contract's pattern is :data:`MODEL_ID_PATTERN`), is ``ModelNotFound``."""
    if model_id not in MODEL_IDS:
        raise model_not_found(model_id[:64])
    return model_id


@dataclass(frozen=True, slots=True)
class AnalyzeQuery:
    """The validated query of an analyze request."""

    pages: tuple[str, ...] | None
    locale: str | None
    string_index_type: str
    features: tuple[str, ...]
    content_format: ContentFormat
    output_pdf: bool
    output_figures: bool = False


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def parse_query(
    params: Mapping[str, str], version: ApiVersion, model_id: str = MODEL_ID
) -> AnalyzeQuery:
    """Check and collect the analyze options ``version`` knows for ``model_id``; an unknown
    value of a known parameter is ``InvalidArgument`` / ``InvalidParameter`` naming it.

    Every feature of the version is accepted. Those the emulator honours: ``languages``
    (``languages[]``) and ``ocrHighResolution`` (the engine already reads every page at the
    resolution its small text needs). The others (``barcodes``, ``formulas``,
    ``keyValuePairs``, ``styleFont``, ``queryFields``) are accepted and find nothing."""
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
    output_pdf = output_figures = False
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
            elif output.lower() == "figures" and model_id == LAYOUT_MODEL_ID:
                output_figures = True
            elif output.lower() == "figures":
                raise invalid_parameter(f"output=figures is not supported by {model_id}.")
            else:
                raise invalid_parameter(f"Invalid output {output!r}: use pdf or figures.")
    return AnalyzeQuery(
        pages, locale, string_index_type, features, content_format, output_pdf, output_figures
    )


BodyKind = Literal["json", "binary"]


def body_kind(content_type: str | None) -> BodyKind:
    """JSON (an ``AnalyzeDocumentRequest``) or the document's bytes, by ``Content-Type``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return "json"
    if not media or media.startswith(_BINARY_TYPES):
        return "binary"
    raise errors.unsupported_media_type(media)


def max_json_body(max_bytes: int) -> int:
    """The largest JSON body an analyze request may have on a tier that takes documents of
    ``max_bytes``: the base64 of such a document (4 characters for every 3 bytes, padded)
    and :data:`~emulator.api.http.MAX_JSON_BODY` for the JSON around it."""
    return -(-max_bytes // 3) * 4 + MAX_JSON_BODY


# What stands in for a large body's base64Source string while the rest of the JSON is parsed:
# a JSON string no base64 can be (base64 has no control characters).
_STAND_IN = b'"\\u0000"'
_STAND_IN_TEXT = "\x00"
# Base64 characters decoded at a time (a multiple of 4): 768 KiB of document per step.
_BASE64_STEP = 1024 * 1024


def read_source(body: bytes, sink: BodySink, max_bytes: int) -> str | None:
    """Take the source an ``AnalyzeDocumentRequest`` body names (exactly one of ``urlSource``
    and ``base64Source``): return the URL to download, or decode the base64 into ``sink``
    (refusing a document over ``max_bytes``) and return None.

    CPU-bound on a large body (a second for hundreds of megabytes): call it off the event
    loop. Nothing large is built from the body: a body up to
    :data:`~emulator.api.http.MAX_JSON_BODY` is parsed whole; a larger one must be a
    ``base64Source`` request, whose string is found in place, the rest of the JSON (what is
    left without it, at most that much) parsed with a stand-in for it, and the string decoded
    into ``sink`` a slice at a time. Any other large body (a huge array, say, which as Python
    objects would take ten times its size) is refused without being parsed.
    """
    large: tuple[int, int] | None = None
    if len(body) <= MAX_JSON_BODY:
        document = _json_object(body)
    else:
        large = _large_string(body)
        start, end = large
        document = _json_object(body[: start - 1] + _STAND_IN + body[end + 1 :])
    url, encoded = document.get("urlSource"), document.get("base64Source")
    if (url is None) == (encoded is None):
        raise invalid_content_source("Either urlSource or base64Source must be specified.")
    if large is not None and encoded != _STAND_IN_TEXT:
        raise _not_base64_request()
    if url is not None:
        if not isinstance(url, str) or not url.strip():
            raise invalid_content_source("urlSource must be a non-empty string.")
        return url.strip()
    if not isinstance(encoded, str):
        raise invalid_content_source("base64Source must be a base64 string.")
    if large is None:
        _decode_into(memoryview(encoded.encode("ascii", "replace")), sink, max_bytes)
        return None
    start, end = large
    if body.find(b"\\", start, end) < 0:
        with memoryview(body) as view:
            _decode_into(view[start:end], sink, max_bytes)
        return None
    # Escaped characters (some JSON encoders write "/" as "\/"): the JSON parser undoes them,
    # at the cost of holding the string once more while it is decoded.
    try:
        text: str = json.loads(body[start - 1 : end + 1])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid_content_source("The request body is not valid JSON.") from None
    encoded_bytes = text.encode("ascii", "replace")
    del text
    _decode_into(memoryview(encoded_bytes), sink, max_bytes)
    return None


def _json_object(body: bytes) -> dict[str, object]:
    """``body`` parsed: a JSON object, or ``InvalidContentSourceFormat``."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise invalid_content_source("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise invalid_content_source(
            'The request body must be a JSON object with "urlSource" or "base64Source".'
        )
    return document


def _not_base64_request() -> errors.ServiceError:
    return invalid_content_source(
        f"A request body over {MAX_JSON_BODY} bytes must be a base64Source request: only the "
        "base64Source string may be that large."
    )


def _large_string(body: bytes) -> tuple[int, int]:
    """Where in ``body`` (between its quotes) the string is that holds all of it but
    :data:`~emulator.api.http.MAX_JSON_BODY` bytes; refused if there is none.

    Strings are found by their quotes from the start, skipping each whole, so only quotes
    outside strings open one. Such a string starts in the first ``MAX_JSON_BODY`` bytes; an
    escaped quote past them is in a string that is no base64 (nor ends a short one), so the
    search never walks the rest of the body quote by quote.
    """
    least = len(body) - MAX_JSON_BODY
    position = 0
    while (quote := body.find(b'"', position, MAX_JSON_BODY)) >= 0:
        start = quote + 1
        end = body.find(b'"', start)
        while end >= 0 and _escaped(body, start, end):
            if end > MAX_JSON_BODY:
                raise _not_base64_request()
            end = body.find(b'"', end + 1)
        if end < 0:
            raise invalid_content_source("The request body is not valid JSON.")
        if end - start >= least:
            return start, end
        position = end + 1
    raise _not_base64_request()


def _escaped(body: bytes, start: int, quote: int) -> bool:
    """Whether the quote at ``quote`` (in a string opened at ``start``) is escaped: preceded
    by an odd number of backslashes."""
    backslashes = 0
    while quote - backslashes > start and body[quote - backslashes - 1] == 0x5C:
        backslashes += 1
    return backslashes % 2 == 1


def _decode_into(encoded: memoryview, sink: BodySink, max_bytes: int) -> None:
    """Decode ``encoded`` (strict base64: its alphabet only, padded, nothing after the
    padding) into ``sink`` a slice at a time; ``InvalidContentSourceFormat`` if it is not
    base64, the tier's size error past ``max_bytes``."""
    total = 0
    length = len(encoded)
    for offset in range(0, length, _BASE64_STEP):
        piece = encoded[offset : offset + _BASE64_STEP]
        # Padding ends the data: only the last slice may end with it (strict mode refuses any
        # inside a slice).
        last = offset + _BASE64_STEP >= length
        try:
            if not last and piece[-1] == ord("="):
                raise binascii.Error("padding before the end")
            decoded = binascii.a2b_base64(piece, strict_mode=True)
        except binascii.Error:
            raise invalid_content_source("base64Source is not valid base64.") from None
        total += len(decoded)
        if total > max_bytes:
            raise bodies.too_large(max_bytes)
        sink.write(decoded)
        del decoded
