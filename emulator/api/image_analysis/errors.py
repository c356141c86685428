"""Image Analysis 4.0's errors: Azure Core's ``{"error": {"code", "message", "innererror"}}``.

The shared core raises :class:`~emulator.errors.ServiceError` with Read v3.2's codes; under
this API's path they become what Image Analysis answers: ``InvalidRequest`` with the specific
reason as ``innererror`` (``InvalidImageFormat``, ``InvalidImageSize``, ...). Errors raised
by this package carry an inner code already (:func:`invalid_request`).
"""

from __future__ import annotations

from emulator.errors import ServiceError

# Read v3.2's codes, as the core raises them, to (top code, inner code) here.
_FROM_READ_V32: dict[str, tuple[str, str | None]] = {
    "BadArgument": ("InvalidRequest", "InvalidArgument"),
    "InvalidImageFormat": ("InvalidRequest", "InvalidImageFormat"),
    "InvalidImage": ("InvalidRequest", "InvalidImage"),
    "InvalidImageSize": ("InvalidRequest", "InvalidImageSize"),
    "InvalidImageDimension": ("InvalidRequest", "InvalidImageDimension"),
    "InvalidImageUrl": ("InvalidRequest", "InvalidImageUrl"),
    "FailedToDownloadImage": ("InvalidRequest", "InvalidImageUrl"),
    "NotSupportedLanguage": ("InvalidRequest", "NotSupportedLanguage"),
    "UnsupportedMediaType": ("InvalidRequest", "InvalidContentType"),
    "NotFound": ("NotFound", None),
    "MethodNotAllowed": ("MethodNotAllowed", None),
    "InternalServerError": ("InternalServerError", None),
    "StorageException": ("InternalServerError", None),
    "ServiceUnavailable": ("ServiceUnavailable", None),
    "Timeout": ("Timeout", None),
}


def invalid_request(inner: str, message: str, status: int = 400) -> ServiceError:
    """``InvalidRequest`` with the inner code ``inner`` (raised by this package)."""
    return ServiceError(status, "InvalidRequest", message, inner=(inner, message))


def error_body(error: ServiceError, request_id: str | None) -> dict[str, object]:
    """The body Image Analysis sends for ``error`` (the request id travels in the
    ``apim-request-id`` header)."""
    if error.wrapped:  # the gateway's 401, 404 and 429 look the same for every Azure AI API
        return {"error": {"code": error.code, "message": error.message}}
    inner = error.inner
    top = error.code
    if error.code in _FROM_READ_V32:
        top, inner_code = _FROM_READ_V32[error.code]
        if inner is None and inner_code is not None:
            inner = (inner_code, error.message)
    body: dict[str, object] = {"code": top, "message": error.message}
    if inner is not None:
        body["innererror"] = {"code": inner[0], "message": inner[1]}
    return {"error": body}
