"""Document Intelligence's ``prebuilt-read`` and ``prebuilt-layout`` over HTTP, for API
2024-11-30 (under ``/documentintelligence``) and 2023-07-31 (under ``/formrecognizer``);
:func:`routes` is the table. The jobs are the core's: the same queue, workers, store,
encryption, retention, keys, rate limit and faults as Read v3.2, so a page costs the same
through either API (``prebuilt-layout`` adds its table, selection-mark and figure search,
:mod:`emulator.structure`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import errors
from emulator.api.document_intelligence import parsing
from emulator.api.document_intelligence.errors import (
    error_body,
    figure_not_found,
    output_not_available,
    result_not_found,
)
from emulator.api.document_intelligence.parsing import V4, V31, ApiVersion
from emulator.api.document_intelligence.results import operation_body
from emulator.api.http import download_into, json_response, service_of
from emulator.http import bodies
from emulator.http.middleware.auth import caller_of
from emulator.jobs.runner import SEARCHABLE_PDF, figure_file
from emulator.pages.paragraphs import paragraphs_of
from emulator.store import Job, JobOptions

log = logging.getLogger("emulator.api.document_intelligence")

Handler = Callable[[Request], Awaitable[Response]]

for _version in (V4, V31):
    errors.render_errors_under(_version.prefix + "/", error_body, code_header=True)


def routes() -> list[Route]:
    """The routes of both API versions."""
    table: list[Route] = []
    for version in (V4, V31):
        models = f"{version.prefix}/documentModels"
        result = f"{models}/{{model_id}}/analyzeResults/{{result_id}}"
        table += [
            Route(f"{models}/{{model_id}}:analyze", _bind(analyze, version), methods=["POST"]),
            Route(result, _bind(get_result, version), methods=["GET"]),
        ]
        if version.v4:
            table += [
                Route(result, _bind(delete_result, version), methods=["DELETE"]),
                Route(f"{result}/pdf", _bind(get_pdf, version), methods=["GET"]),
                Route(
                    f"{result}/figures/{{figure_id}}", _bind(get_figure, version), methods=["GET"]
                ),
            ]
    return table


def _bind(
    handler: Callable[[Request, ApiVersion], Awaitable[Response]], version: ApiVersion
) -> Handler:
    async def bound(request: Request) -> Response:
        strict: bool = request.app.state.settings.strict_api_version
        served = parsing.check_api_version(request.query_params, version, strict)
        parsing.check_model(request.path_params["model_id"])
        return await handler(request, served)

    bound.__name__ = f"{handler.__name__}_{version.version.replace('-', '_')}"
    bound.__doc__ = handler.__doc__
    return bound


def result_url(request: Request, version: ApiVersion, job: Job) -> str:
    """The ``Operation-Location`` of ``job``: absolute, on the host the client called, with
    the ``api-version`` (Microsoft's clients poll it verbatim and never add one)."""
    base = str(request.base_url).rstrip("/")
    return (
        f"{base}{version.prefix}/documentModels/{job.options.model_id}/analyzeResults/{job.id}"
        f"?api-version={version.echoed}"
    )


async def analyze(request: Request, version: ApiVersion) -> Response:
    """``POST .../documentModels/{prebuilt-read|prebuilt-layout}:analyze``: the document's
    bytes, or JSON with ``urlSource`` or ``base64Source``; ``202`` with
    ``Operation-Location``."""
    service = service_of(request)
    model_id: str = request.path_params["model_id"]
    query = parsing.parse_query(request.query_params, version, model_id)
    kind = parsing.body_kind(request.headers.get("content-type"))
    await run_in_threadpool(service.check_capacity)
    limits = service.settings.limits
    length = request.headers.get("content-length")
    # A body refused halfway discards the writer (and its spool file).
    with service.new_document() as writer:
        if kind == "binary":
            await bodies.copy_body(request.stream(), writer, limits.max_bytes, length)
        else:
            # No larger than the base64 of the largest document the tier takes (a body past
            # that is the tier's "document too large", before it is read).
            body = await bodies.read_body(
                request.stream(),
                parsing.max_json_body(limits.max_bytes),
                length,
                lambda _cap: bodies.too_large(limits.max_bytes),
            )
            # Parsed, and any base64Source decoded into the writer, off the event loop: that
            # is seconds of CPU for a large body, and every other request would wait.
            url = await run_in_threadpool(parsing.read_source, body, writer, limits.max_bytes)
            del body
            if url is not None:
                await download_into(service, url, writer)
        document = writer.close()
    options = JobOptions(
        language=query.locale,
        reading_order="natural",  # the layout analysis's order, as the service reads
        api=version.api_of(model_id),
        output_pdf=query.output_pdf,
        output_figures=query.output_figures,
        model_id=model_id,
        content_format=query.content_format,
        string_index_type=query.string_index_type,
        features=query.features,
        billing_key=service.billing_key(caller_of(request.scope)),
    )
    job = await run_in_threadpool(service.submit, document, query.pages, options)
    hint = service.poll_hint(job)
    return Response(
        status_code=202,
        headers={"Operation-Location": result_url(request, version, job), **hint.headers},
    )


async def get_result(request: Request, version: ApiVersion) -> Response:
    """``GET .../analyzeResults/{resultId}``: the operation's status and, once it succeeded,
    the ``analyzeResult``; ``Retry-After`` while it runs."""
    service = service_of(request)
    try:
        view = await run_in_threadpool(
            service.view, request.path_params["result_id"], _api(request, version)
        )
    except errors.ServiceError as error:
        raise _not_found_here(error) from None
    body = operation_body(view.job, view.pages, version, paragraphs_of)
    return json_response(body, headers=view.headers or None)


async def delete_result(request: Request, version: ApiVersion) -> Response:
    """``DELETE .../analyzeResults/{resultId}`` (2024-11-30): input and result deleted now."""
    service = service_of(request)
    try:
        await run_in_threadpool(
            service.delete, request.path_params["result_id"], _api(request, version)
        )
    except errors.ServiceError as error:
        raise _not_found_here(error) from None
    return Response(status_code=204)


async def get_pdf(request: Request, version: ApiVersion) -> Response:
    """``GET .../analyzeResults/{resultId}/pdf`` (2024-11-30): the searchable PDF of a job
    analyzed with ``output=pdf``."""
    service = service_of(request)
    try:
        job, pdf = await run_in_threadpool(
            service.read_file,
            request.path_params["result_id"],
            SEARCHABLE_PDF,
            _api(request, version),
        )
    except errors.ServiceError as error:
        raise _not_found_here(error) from None
    if not job.options.output_pdf:
        raise output_not_available("This result was not analyzed with output=pdf.")
    if job.status != "succeeded" or pdf is None:
        raise output_not_available(
            "The searchable PDF is not available: the analysis has not succeeded."
        )
    return Response(pdf, media_type="application/pdf")


async def get_figure(request: Request, version: ApiVersion) -> Response:
    """``GET .../analyzeResults/{resultId}/figures/{figureId}`` (2024-11-30): the image of a
    figure of a ``prebuilt-layout`` job analyzed with ``output=figures``, as PNG."""
    service = service_of(request)
    figure_id: str = request.path_params["figure_id"]
    name = figure_file(figure_id)
    if name is None:
        raise figure_not_found(figure_id[:64])
    try:
        job, png = await run_in_threadpool(
            service.read_file, request.path_params["result_id"], name, _api(request, version)
        )
    except errors.ServiceError as error:
        raise _not_found_here(error) from None
    if not job.options.output_figures:
        raise output_not_available("This result was not analyzed with output=figures.")
    if job.status != "succeeded":
        raise output_not_available("The figures are not available: the analysis has not succeeded.")
    if png is None:
        raise figure_not_found(figure_id[:64])
    return Response(png, media_type="image/png")


def _api(request: Request, version: ApiVersion) -> str:
    return version.api_of(request.path_params["model_id"])


def _not_found_here(error: errors.ServiceError) -> errors.ServiceError:
    """The core's "no such operation" (and a malformed id) as this API's 404."""
    if error.status_code == 404 or error.code == "BadArgument":
        return result_not_found()
    return error
