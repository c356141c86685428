"""Document Intelligence's errors: ``{"error": {"code", "message", "innererror"}}`` with its
own codes (its error guide: a top-level code per HTTP status, a more specific inner code).

The shared core raises :class:`~emulator.errors.ServiceError` with Read v3.2's codes (it was
the emulator's first API); :func:`error_body` translates those for every request under this
API's paths, so a bad image is ``InvalidRequest`` / ``InvalidContent`` here and
``InvalidImageFormat`` on v3.2, from the same check. Errors raised by this package carry their
Document Intelligence code already and pass through unchanged.
"""

from __future__ import annotations

from emulator.errors import ServiceError

#: The top-level code for each status (the error guide's table).
TOP_CODES = {
    400: "InvalidRequest",
    401: "401",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    429: "429",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}

# Read v3.2's codes, as the core raises them, to (top code, inner code) here.
_FROM_READ_V32: dict[str, tuple[str, str | None]] = {
    "BadArgument": ("InvalidArgument", "InvalidParameter"),
    "InvalidImageFormat": ("InvalidRequest", "InvalidContent"),
    "InvalidImageSize": ("InvalidRequest", "InvalidContentLength"),
    "InvalidImageDimension": ("InvalidRequest", "InvalidContentDimensions"),
    "InvalidPageRange": ("InvalidArgument", "InvalidParameter"),
    "InvalidImageUrl": ("InvalidRequest", "InvalidContentSourceFormat"),
    "FailedToDownloadImage": ("InvalidRequest", "ContentSourceNotAccessible"),
    "UnsupportedMediaType": ("UnsupportedMediaType", None),
    "NotFound": ("NotFound", None),
    "MethodNotAllowed": ("MethodNotAllowed", None),
    "InternalServerError": ("InternalServerError", None),
    "StorageException": ("InternalServerError", None),
    "ServiceUnavailable": ("ServiceUnavailable", None),
    "Timeout": ("ServiceUnavailable", None),
}

_TOP_MESSAGES = {
    "InvalidRequest": "Invalid request.",
    "InvalidArgument": "Invalid argument.",
    "NotFound": "Resource not found.",
    "MethodNotAllowed": "The requested HTTP method is not allowed.",
    "UnsupportedMediaType": "Request content type is not supported.",
    "InternalServerError": "An unexpected error occurred.",
    "ServiceUnavailable": "A transient error has occurred. Try again.",
}


def error_body(error: ServiceError, request_id: str | None) -> dict[str, object]:
    """The body Document Intelligence sends for ``error`` (the request id travels only in the
    ``apim-request-id`` header here)."""
    if error.wrapped:  # the gateway's 401 and 429 look the same for every Azure AI service
        return {"error": {"code": error.code, "message": error.message}}
    return {"error": error_object(error)}


def error_object(error: ServiceError) -> dict[str, object]:
    """The ``error`` object for ``error``: the top code and message, and the specific reason
    as ``innererror`` (also what a failed operation's body carries)."""
    inner = error.inner
    if error.code in _FROM_READ_V32:
        top, inner_code = _FROM_READ_V32[error.code]
        if inner is None and inner_code is not None:
            inner = (inner_code, error.message)
    else:
        top = error.code
    body: dict[str, object] = {
        "code": top,
        "message": _TOP_MESSAGES.get(top, error.message) if inner else error.message,
    }
    if inner is not None:
        body["innererror"] = {"code": inner[0], "message": inner[1]}
    return body


def invalid_parameter(message: str) -> ServiceError:
    """400 ``InvalidArgument`` / ``InvalidParameter``: a query parameter is malformed."""
    return ServiceError(400, "InvalidArgument", message, inner=("InvalidParameter", message))


def invalid_content_source(message: str) -> ServiceError:
    """400 ``InvalidRequest`` / ``InvalidContentSourceFormat``: the JSON body is not an
    ``AnalyzeDocumentRequest`` with one usable source."""
    return ServiceError(
        400, "InvalidRequest", message, inner=("InvalidContentSourceFormat", message)
    )


def model_not_found(model_id: str) -> ServiceError:
    """404 ``NotFound`` / ``ModelNotFound``: the emulator serves ``prebuilt-read`` and
    ``prebuilt-layout`` only."""
    return ServiceError(
        404,
        "NotFound",
        f"Model {model_id!r} was not found.",
        inner=(
            "ModelNotFound",
            "The requested model was not found. This emulator serves prebuilt-read and "
            "prebuilt-layout only.",
        ),
    )


def result_not_found() -> ServiceError:
    """404 ``NotFound`` / ``OperationNotFound``: no such result, or it expired or was deleted."""
    return ServiceError(
        404,
        "NotFound",
        "Resource not found.",
        inner=("OperationNotFound", "The analyze result was not found. It may have expired."),
    )


def output_not_available(message: str) -> ServiceError:
    """404 ``NotFound`` / ``OutputNotAvailable``: no searchable PDF for this result (not asked
    for with ``output=pdf``, or the job has not succeeded)."""
    return ServiceError(404, "NotFound", message, inner=("OutputNotAvailable", message))


def figure_not_found(figure_id: str) -> ServiceError:
    """404 ``NotFound`` / ``FigureNotFound``: the result has no figure of that id."""
    message = f"Figure {figure_id!r} was not found in this result."
    return ServiceError(404, "NotFound", message, inner=("FigureNotFound", message))


def unknown_api_version() -> ServiceError:
    """404 with the gateway's ``{"code": "404"}``: what the service answers for an
    ``api-version`` it does not serve (or none)."""
    return ServiceError(404, "404", "Resource not found", wrapped=True)


def analysis_failed() -> dict[str, object]:
    """The ``error`` a failed operation's body carries (the job's own reason is logged, not
    kept: it could quote the document)."""
    return {
        "code": "InternalServerError",
        "message": "An unexpected error occurred.",
        "innererror": {
            "code": "ModelAnalyzeError",
            "message": "The document could not be analyzed: it may be damaged, or a page "
            "could not be read in time.",
        },
    }


__all__ = [
    "TOP_CODES",
    "analysis_failed",
    "error_body",
    "error_object",
    "invalid_content_source",
    "invalid_parameter",
    "model_not_found",
    "output_not_available",
    "result_not_found",
    "unknown_api_version",
]
