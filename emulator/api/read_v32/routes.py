"""The HTTP protocol of Read v3.2: thin handlers that parse, call :class:`ReadService`, and
serialise; :func:`routes` is their table. Also the Read container's own routes
(``syncAnalyze``, ``read/operations/{id}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import contract, errors
from emulator.api.http import MAX_JSON_BODY, download_into, json_response
from emulator.api.http import service_of as _service
from emulator.api.read_v32 import parsing
from emulator.api.read_v32.results import analyze_result, operation_body
from emulator.api.synchronous import CLIENT_CLOSED_REQUEST, answer_when_finished
from emulator.http import bodies
from emulator.http.middleware.auth import caller_of
from emulator.jobs import billing
from emulator.jobs.service import PAGE_IMAGES_HEADER, OperationView
from emulator.store import READ_V32, Job, JobOptions

log = logging.getLogger("emulator.api.read_v32")

API_PREFIX = "/vision/v3.2"
ANALYZE_PATH = f"{API_PREFIX}/read/analyze"
RESULTS_PATH = f"{API_PREFIX}/read/analyzeResults"
#: The Read container's own routes, which the cloud service does not have: a read answered
#: when it is done, the container's name for the results path, and its liveness probe.
SYNC_ANALYZE_PATH = f"{API_PREFIX}/read/syncAnalyze"
OPERATIONS_PATH = f"{API_PREFIX}/read/operations"
#: The routes that submit a document: the billed transactions, which the rate limit counts.
SUBMIT_PATHS = (ANALYZE_PATH, SYNC_ANALYZE_PATH)


def routes() -> list[Route]:
    """The routes of Read v3.2 and of the Read container."""
    operation = "{operation_id}"
    return [
        Route(ANALYZE_PATH, analyze, methods=["POST"]),
        Route(SYNC_ANALYZE_PATH, sync_analyze, methods=["POST"]),
        Route(f"{RESULTS_PATH}/{operation}", get_result, methods=["GET"]),
        Route(f"{RESULTS_PATH}/{operation}", delete_result, methods=["DELETE"]),
        Route(f"{RESULTS_PATH}/{operation}/pages/{{page:int}}/image", page_image, methods=["GET"]),
        Route(f"{OPERATIONS_PATH}/{operation}", get_result, methods=["GET"]),
        Route("/swagger.json", swagger, methods=["GET"]),
    ]


def body_of(view: OperationView) -> dict[str, Any]:
    """The ``ReadOperationResult`` a GET answers for ``view``."""
    result = (
        None if view.pages is None else analyze_result(view.pages, view.job.options.model_version)
    )
    return operation_body(view.job, result)


#: Longest value a query parameter may have. The longest legitimate one is a ``pages`` list,
#: far shorter; the cap also keeps every number under Python's 4300-digit ``int()`` limit,
#: which otherwise turns ``pages=1-999…9`` into a ValueError (a 500).
MAX_QUERY_VALUE = 4096
_QUERY_ERRORS: dict[str, Callable[[str], errors.ServiceError]] = {
    "pages": errors.invalid_page_range,
    "language": lambda _message: errors.not_supported_language("(too long)"),
    "readingOrder": lambda _message: errors.invalid_reading_order("(too long)"),
}


def check_query_lengths(params: Any) -> None:
    """Refuse an absurdly long query value before any parsing, with its parameter's code."""
    for name in ("language", "pages", "readingOrder", "model-version"):
        value = params.get(name)
        if value is not None and len(value) > MAX_QUERY_VALUE:
            message = f"The {name} parameter is longer than {MAX_QUERY_VALUE} characters."
            raise _QUERY_ERRORS.get(name, errors.bad_argument)(message)


async def _accept(request: Request, page_images: bool = False) -> Job:
    """What ``analyze`` and ``syncAnalyze`` share: check the query and the queue, seal the
    document (the body, or the URL's download) and submit it as a new job (keeping an image
    of each page read with ``page_images``)."""
    service = _service(request)
    check_query_lengths(request.query_params)
    query = parsing.parse_query(request.query_params)
    kind = parsing.body_kind(request.headers.get("content-type"))
    await run_in_threadpool(service.check_capacity)  # a shared queue's depth is in Redis
    limits = service.settings.limits
    length = request.headers.get("content-length")
    # The document is sealed as it arrives (the body, or the URL's download): never held
    # in the clear, never held twice. A body refused halfway discards it (and its spool file).
    with service.new_document() as writer:
        if kind == "stream":
            await bodies.copy_body(request.stream(), writer, limits.max_bytes, length)
        else:
            body = await bodies.read_body(
                request.stream(), MAX_JSON_BODY, length, bodies.json_too_large
            )
            url = parse_url_body(body)
            await download_into(service, url, writer)
        document = writer.close()
    options = JobOptions(
        language=query.language,
        reading_order=query.reading_order,
        model_version=query.model_version,
        api=READ_V32,
        billing_key=service.billing_key(caller_of(request.scope)),
        page_images=page_images,
    )
    return await run_in_threadpool(service.submit, document, query.pages, options)


def asks_for_page_images(request: Request) -> bool:
    """Whether an ``analyze`` request carries the emulator-only header asking for page images
    (:data:`~emulator.jobs.service.PAGE_IMAGES_HEADER`: ``true``, in any case); the service has
    no such header and would ignore it."""
    return request.headers.get(PAGE_IMAGES_HEADER, "").strip().lower() == "true"


async def analyze(request: Request) -> Response:
    """``POST /read/analyze``: Read (JSON ``{"url"}``) or ReadInStream (binary body)."""
    service = _service(request)
    job = await _accept(request, asks_for_page_images(request))
    # The client takes the id from the last path segment; keep the URL on the host and
    # scheme the client used so it works behind port mappings too.
    base = str(request.base_url).rstrip("/")
    return Response(
        status_code=202,
        # The expected time to the result, so a client's first poll need not guess.
        headers={
            "Operation-Location": f"{base}{RESULTS_PATH}/{job.id}",
            **service.poll_hint(job).headers,
        },
    )


async def sync_analyze(request: Request) -> Response:
    """``POST /read/syncAnalyze`` (the Read container's route): ``analyze``, answered only
    when the job is finished, with ``200`` and the body a GET on it would answer then.

    The job is an ordinary one (same validation, queue, workers, store, 429s and faults); this
    handler only waits for it (:func:`~emulator.api.synchronous.answer_when_finished`). It
    gives up with ``503`` once the job time limit (``--job-timeout``, counted from acceptance,
    plus :data:`~emulator.api.synchronous.SYNC_GRACE`) has passed, and stops when the client
    leaves. Whichever way it ends, the job is deleted: nobody else was ever told its id, and
    keeping it for the retention period would hold a document's text for no one. An
    unfinished job deleted this way is dropped by its worker, so an abandoned read costs no
    more OCR either.
    """
    service = _service(request)
    job = await _accept(request)
    view = await answer_when_finished(request, service, job.id)
    if view is None:
        log.info("synchronous read %s abandoned by its client; discarded", job.id)
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    return json_response(body_of(view), headers=billing.header(view.job) or None)


async def get_result(request: Request) -> Response:
    """``GET /read/analyzeResults/{operationId}``: the operation's status and result. Also
    served as ``GET /read/operations/{operationId}``, the Read container's name for it."""
    view = await run_in_threadpool(_service(request).view, request.path_params["operation_id"])
    headers = {**view.headers, **billing.header(view.job)}
    return json_response(body_of(view), headers=headers or None)


async def page_image(request: Request) -> Response:
    """``GET /read/analyzeResults/{operationId}/pages/{page}/image`` (the emulator's own): the
    PNG of a page of an operation submitted with ``x-ms-emulator-page-images: true``, for the
    submitting caller only (:meth:`~emulator.jobs.service.ReadService.page_image`)."""
    service = _service(request)
    png = await run_in_threadpool(
        service.page_image,
        request.path_params["operation_id"],
        request.path_params["page"],
        service.billing_key(caller_of(request.scope)),
    )
    # A document's page: never cached by anyone along the way.
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def delete_result(request: Request) -> Response:
    """``DELETE /read/analyzeResults/{operationId}``: delete input and result now."""
    await run_in_threadpool(_service(request).delete, request.path_params["operation_id"])
    return Response(status_code=204)


async def swagger(request: Request) -> Response:
    """``GET /swagger.json``: the contract this emulator implements, verbatim."""
    return Response(contract.openapi_bytes(), media_type="application/json; charset=utf-8")


def parse_url_body(body: bytes) -> str:
    """:func:`.parsing.parse_url_body`, also refusing JSON nested too deeply to parse.

    ``json.loads`` raises ``RecursionError`` (not ``JSONDecodeError``) for about a thousand
    nested brackets, which fit easily in the 64 KB a URL body may have.
    """
    try:
        return parsing.parse_url_body(body)
    except RecursionError:
        raise errors.bad_argument("The request body is not valid JSON.") from None
