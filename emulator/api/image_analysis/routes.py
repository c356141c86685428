"""``POST /computervision/imageanalysis:analyze?features=read``: Image Analysis 4.0's OCR,
answered in the same call.

The image (the body's bytes, or ``{"url"}``) becomes an ordinary job on the shared queue,
workers and store, accepted under this API's limits (20 MB, 50 to 16000 pixels a side, the
image formats the engine decodes, first frame only), and the request waits for it as the Read
container's ``syncAnalyze`` does (:mod:`emulator.api.synchronous`); the job is deleted once
answered. Only the ``read`` feature is served: the others (captions, tags, objects, people,
smart crops) need models this emulator does not have and are refused as the service refuses
a feature it does not support.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import errors
from emulator.api.http import MAX_JSON_BODY, download_into, json_response, service_of
from emulator.api.image_analysis.errors import error_body, invalid_request
from emulator.api.image_analysis.results import analysis_result
from emulator.api.synchronous import CLIENT_CLOSED_REQUEST, answer_when_finished
from emulator.documents.formats import Limits
from emulator.http import bodies
from emulator.http.middleware.auth import caller_of
from emulator.store import JobOptions

log = logging.getLogger("emulator.api.image_analysis")

API_PREFIX = "/computervision"
ANALYZE_PATH = f"{API_PREFIX}/imageanalysis:analyze"
#: The api-versions served (the SDK's default first).
API_VERSIONS = ("2023-10-01", "2024-02-01")
#: What a job accepted through this API carries as its ``api``.
API = "image-analysis-4.0"
#: The visual features of the contract; only ``read`` is served.
FEATURES = ("tags", "caption", "denseCaptions", "objects", "read", "smartCrops", "people")
#: Image Analysis 4.0's input limits (its documentation): 20 MB, 50 to 16000 pixels a side;
#: one image (a TIFF's first frame).
LIMITS = Limits(max_bytes=20 * 1024 * 1024, max_pages=1, min_dimension=50, max_dimension=16000)
#: The formats it takes: JPEG, PNG, GIF (its first frame), BMP, WEBP, ICO (its largest
#: image), TIFF (its first page); PDF is refused.
FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "webp", "ico", "tiff"})
_MODEL_VERSION = re.compile(r"^(latest|\d{4}-\d{2}-\d{2})(-preview)?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_LONGEST_VALUE = 256

errors.render_errors_under(API_PREFIX + "/", error_body, code_header=True)


def routes() -> list[Route]:
    """This API's one route."""
    return [Route(ANALYZE_PATH, analyze, methods=["POST"])]


def check_query(params: Mapping[str, str]) -> None:
    """The query of an analyze request: a served api-version (else the gateway's 404),
    ``features`` naming ``read`` and nothing this emulator cannot do, and well-formed
    ``language`` and ``model-version``."""
    if params.get("api-version") not in API_VERSIONS:
        raise errors.ServiceError(404, "404", "Resource not found", wrapped=True)
    for name, value in params.items():
        if len(value) > _LONGEST_VALUE:
            raise invalid_request("InvalidParameter", f"The {name} parameter is too long.")
    asked = [f.strip() for f in params.get("features", "").split(",") if f.strip()]
    if not asked:
        raise invalid_request(
            "InvalidParameter", "The features parameter must name at least one visual feature."
        )
    for feature in asked:
        known = next((f for f in FEATURES if f.lower() == feature.lower()), None)
        if known != "read":
            what = "is not a visual feature" if known is None else "is not supported here"
            raise invalid_request(
                "NotSupportedVisualFeature",
                f"The visual feature {feature[:40]!r} {what}: this emulator reads text "
                "(features=read) only.",
            )
    language = params.get("language", "en")
    if not _LANGUAGE.fullmatch(language):
        raise invalid_request(
            "NotSupportedLanguage", f"The language {language[:40]!r} is not supported."
        )
    model_version = params.get("model-version", "latest")
    if not (6 <= len(model_version) <= 18 and _MODEL_VERSION.fullmatch(model_version)):
        raise invalid_request(
            "InvalidModelVersion", f"The model-version {model_version[:40]!r} is not valid."
        )


async def analyze(request: Request) -> Response:
    """Read the image's text and answer ``200`` with the ``ImageAnalysisResult``."""
    service = service_of(request)
    check_query(request.query_params)
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    await run_in_threadpool(service.check_capacity)
    length = request.headers.get("content-length")
    with service.new_document() as writer:
        if media == "application/json":
            body = await bodies.read_body(
                request.stream(), MAX_JSON_BODY, length, bodies.json_too_large
            )
            await download_into(service, _url(body), writer, LIMITS.max_bytes)
        elif media in ("application/octet-stream", "") or media.startswith("image/"):
            await bodies.copy_body(request.stream(), writer, LIMITS.max_bytes, length)
        else:
            raise invalid_request(
                "InvalidContentType",
                f"Content-Type {media[:60]!r} is not supported: send the image's bytes as "
                "application/octet-stream, or JSON with a url.",
                status=415,
            )
        document = writer.close()
    options = JobOptions(
        reading_order="natural",
        api=API,
        billing_key=service.billing_key(caller_of(request.scope)),
    )
    job = await run_in_threadpool(service.submit, document, None, options, LIMITS, FORMATS)
    view = await answer_when_finished(request, service, job.id, API)
    if view is None:
        log.info("image analysis %s abandoned by its client; discarded", job.id)
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    if view.job.status != "succeeded" or not view.pages:
        raise errors.internal_error()
    return json_response(analysis_result(view.pages[0]))


def _url(body: bytes) -> str:
    """The ``url`` of an ``ImageUrl`` body."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid_request("InvalidArgument", "The request body is not valid JSON.") from None
    url = document.get("url") if isinstance(document, dict) else None
    if not isinstance(url, str) or not url.strip():
        raise invalid_request("InvalidArgument", 'The request body must be {"url": "..."}.')
    return url.strip()
