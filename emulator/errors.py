"""The one place that knows the service's error codes and writes its error bodies.

Read v3.2 answers errors with a flat ``{"code", "message", "requestId"}`` body
(``ComputerVisionOcrError`` in the contract). The API gateway in front of it answers 401 and
429 with the wrapped ``{"error": {"code", "message"}}`` shape instead.

Every error response the emulator sends is built by :func:`error_response`, and every error
the emulator raises is a :class:`ServiceError`, mostly made by the constructors below, so the
codes, statuses and messages live here and nowhere else. Clients depend on this: Microsoft's
official client raises ``TypeError`` instead of its own exception when an error status comes
with an empty body, so there is never one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from starlette.responses import Response

REQUEST_ID_HEADER = "apim-request-id"

UNAUTHORIZED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


#: Longest message an error carries. Messages quote the offending value so that a client
#: can see what was wrong; a value of megabytes must not come back whole.
MAX_MESSAGE = 300


def _clamp(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return message[: MAX_MESSAGE - 60] + " … " + message[-50:]


class ServiceError(Exception):
    """An error the emulator reports to the client in the service's format.

    Raised anywhere in the emulator (request parsing, document decoding, the store); the
    HTTP layer turns it into a response. ``wrapped`` selects the gateway's ``{"error": ...}``
    body shape used for 401 and 429.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        wrapped: bool = False,
        headers: dict[str, str] | None = None,
        inner: tuple[str, str] | None = None,
    ) -> None:
        message = _clamp(message)
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.wrapped = wrapped
        self.headers = dict(headers or {})
        #: A more specific (code, message), for APIs whose bodies carry an ``innererror``.
        self.inner = inner

    def __repr__(self) -> str:
        return f"ServiceError({self.status_code}, {self.code!r}, {self.message!r})"


def error_body(error: ServiceError, request_id: str | None) -> dict[str, object]:
    """The JSON body the service sends for ``error``."""
    if error.wrapped:
        return {"error": {"code": error.code, "message": error.message}}
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if request_id:
        body["requestId"] = request_id
    return body


BodyRenderer = Callable[[ServiceError, "str | None"], dict[str, object]]

#: How each API's errors look, by the path prefix of its routes; the rest get Read v3.2's
#: (:func:`error_body`). An API package adds itself with :func:`render_errors_under`.
_RENDERERS: dict[str, BodyRenderer] = {}
#: The path prefixes whose APIs name an error's code in a header as well (Azure Core's APIs).
_CODE_HEADER_PREFIXES: set[str] = set()
#: The header Azure Core's APIs name an error's code in.
ERROR_CODE_HEADER = "x-ms-error-code"


def render_errors_under(prefix: str, renderer: BodyRenderer, *, code_header: bool = False) -> None:
    """Render the errors of requests whose path starts with ``prefix`` with ``renderer``; with
    ``code_header``, the body's ``error.code`` is also sent as :data:`ERROR_CODE_HEADER`, as
    Azure Core's APIs (Document Intelligence, Image Analysis) send it."""
    _RENDERERS[prefix] = renderer
    if code_header:
        _CODE_HEADER_PREFIXES.add(prefix)


#: Sent with every response: its declared type is the only one a browser may give it.
NOSNIFF = ("X-Content-Type-Options", "nosniff")


def error_response(
    error: ServiceError, request_id: str | None, path: str | None = None
) -> Response:
    """Render ``error`` as the JSON response of the API ``path`` belongs to (Read v3.2's when
    no other API claims it), with the request id header."""
    headers = dict(error.headers)
    # An error can echo the client's input; no browser may take the JSON for anything else.
    headers[NOSNIFF[0]] = NOSNIFF[1]
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    render: BodyRenderer = error_body
    code_header = False
    for prefix, renderer in _RENDERERS.items():
        if path is not None and path.startswith(prefix):
            render = renderer
            code_header = prefix in _CODE_HEADER_PREFIXES
    body = render(error, request_id)
    inner = body.get("error")
    if code_header and not error.wrapped and isinstance(inner, dict) and "code" in inner:
        headers[ERROR_CODE_HEADER] = str(inner["code"])
    return Response(
        json.dumps(body).encode(),
        status_code=error.status_code,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


# --- 400: the request is wrong --------------------------------------------------------------


def bad_argument(message: str) -> ServiceError:
    """400 ``BadArgument``: a parameter or the body is malformed."""
    return ServiceError(400, "BadArgument", message)


def uri_too_long(limit: int) -> ServiceError:
    """414 ``BadArgument``: the request's path and query are longer than ``limit`` bytes."""
    return ServiceError(
        414, "BadArgument", f"The request URI is too long: the limit is {limit} bytes."
    )


def headers_too_large(limit: int) -> ServiceError:
    """431 ``BadArgument``: the request's header fields add up to more than ``limit`` bytes."""
    return ServiceError(
        431,
        "BadArgument",
        f"The request's header fields are too large: the limit is {limit} bytes.",
    )


def malformed_http() -> ServiceError:
    """400 ``BadArgument``: the bytes received are not an HTTP/1.1 request."""
    return ServiceError(400, "BadArgument", "The request is not a valid HTTP/1.1 request.")


def invalid_image_format(message: str = "Input data is not a valid image.") -> ServiceError:
    """400 ``InvalidImageFormat``: the bytes are not a supported image or PDF."""
    return ServiceError(400, "InvalidImageFormat", message)


def invalid_image_size(message: str) -> ServiceError:
    """400 ``InvalidImageSize``: the document is empty or larger than the tier allows."""
    return ServiceError(400, "InvalidImageSize", message)


def empty_document() -> ServiceError:
    """The error for an empty body."""
    return invalid_image_size("The request body is empty: send the document's bytes.")


def invalid_page_range(message: str) -> ServiceError:
    """400 ``InvalidPageRange``: the ``pages`` parameter is malformed or out of range."""
    return ServiceError(400, "InvalidPageRange", message)


def not_supported_language(language: str) -> ServiceError:
    """400 ``NotSupportedLanguage``: ``language`` is not one of the contract's codes."""
    return ServiceError(
        400,
        "NotSupportedLanguage",
        f"The language {language!r} is not supported. See https://aka.ms/ocr-languages.",
    )


def invalid_reading_order(value: str) -> ServiceError:
    """400 ``InvalidReadingOrder``: ``readingOrder`` is neither ``basic`` nor ``natural``."""
    return ServiceError(
        400,
        "InvalidReadingOrder",
        f"The reading order {value!r} is not supported. Use 'basic' or 'natural'.",
    )


def invalid_image_url(message: str) -> ServiceError:
    """400 ``InvalidImageUrl``: the URL is malformed, not http(s), or not allowed."""
    return ServiceError(400, "InvalidImageUrl", message)


def failed_to_download(message: str) -> ServiceError:
    """400 ``FailedToDownloadImage``: the URL could not be fetched."""
    return ServiceError(400, "FailedToDownloadImage", message)


def unsupported_media_type(content_type: str) -> ServiceError:
    """415 ``UnsupportedMediaType``: neither a JSON URL body nor a binary document."""
    shown = content_type or "(none)"
    return ServiceError(
        415,
        "UnsupportedMediaType",
        f"Unsupported Content-Type {shown!r}: send application/json with a url, "
        "or application/octet-stream with the document.",
    )


# --- gateway-style errors: wrapped body -----------------------------------------------------


def unauthorized() -> ServiceError:
    """401 with the gateway's wrapped body: the key is missing or wrong."""
    return ServiceError(401, "401", UNAUTHORIZED_MESSAGE, wrapped=True)


def invalid_token(reason: str) -> ServiceError:
    """401 with the gateway's wrapped body: a bearer token that does not authenticate, with
    ``WWW-Authenticate`` naming the scheme and the error (RFC 6750)."""
    return ServiceError(
        401,
        "401",
        f"Access denied due to an invalid bearer token: {reason} Make sure the token is for "
        "https://cognitiveservices.azure.com and has not expired.",
        wrapped=True,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def rate_limited(retry_after: float) -> ServiceError:
    """429 with the gateway's wrapped body: the tier's request rate is exceeded."""
    seconds = max(1, math.ceil(retry_after))
    return ServiceError(
        429,
        "429",
        f"Rate limit is exceeded. Try again in {seconds} seconds.",
        wrapped=True,
        headers=_retry_after(seconds),
    )


def queue_full(retry_after: float) -> ServiceError:
    """429 with the gateway's wrapped body: the job queue is full; nothing was accepted."""
    return ServiceError(
        429,
        "429",
        "The emulator's job queue is full; the request was not accepted. Retry later.",
        wrapped=True,
        headers=_retry_after(retry_after),
    )


# --- routing and resources --------------------------------------------------------------------


def operation_not_found() -> ServiceError:
    """404: no such operation, or it expired or was deleted."""
    return ServiceError(
        404, "NotFound", "Operation not found. It may have expired or been deleted."
    )


def resource_not_found(path: str) -> ServiceError:
    """404: no route for this path."""
    return ServiceError(404, "NotFound", f"Resource not found: {path}")


def method_not_allowed(method: str, path: str) -> ServiceError:
    """405: the path exists but not for this method."""
    return ServiceError(405, "MethodNotAllowed", f"Method {method} is not allowed on {path}.")


def invalid_operation_id(value: str) -> ServiceError:
    """400 ``BadArgument``: the operation id is not a UUID."""
    return ServiceError(400, "BadArgument", f"Operation id {value!r} is not a valid UUID.")


def not_ready(reason: str | None = None) -> ServiceError:
    """503: the OCR engine is still loading, or ``reason`` (the shared store is unreachable,
    an engine failed to load) keeps the emulator from running jobs."""
    return ServiceError(
        503,
        "ServiceUnavailable",
        f"The emulator cannot run jobs: {reason}."
        if reason
        else "The OCR engine is still loading.",
        headers=_retry_after(1),
    )


def internal_error() -> ServiceError:
    """500 ``InternalServerError``: a bug; the message never includes details of the input."""
    return ServiceError(500, "InternalServerError", "An internal error occurred.")


def storage_error() -> ServiceError:
    """500 ``StorageException``: the store failed (disk full, database error). Nothing about
    the input or the file system goes into the message."""
    return ServiceError(
        500,
        "StorageException",
        "The emulator could not store or read the operation's data. Retry later.",
    )


def service_unavailable(retry_after: float = 1) -> ServiceError:
    """503 ``ServiceUnavailable`` with ``Retry-After``: the service is briefly unable to serve."""
    return ServiceError(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable. Retry later.",
        headers=_retry_after(retry_after),
    )


def server_busy(message: str, retry_after: float = 1) -> ServiceError:
    """503 ``ServiceUnavailable`` with ``Retry-After``: a limit on the emulator's connections
    or on the uploads it receives at once is reached; ``message`` says which."""
    return ServiceError(503, "ServiceUnavailable", message, headers=_retry_after(retry_after))


def request_timeout(message: str) -> ServiceError:
    """408 ``Timeout``: the client took too long to send its request (``message`` says which
    part); the connection is closed."""
    return ServiceError(408, "Timeout", message)


def sync_read_timeout(time_limit: float, retry_after: float) -> ServiceError:
    """503 ``ServiceUnavailable`` with ``Retry-After``: a synchronous read (the container's
    ``syncAnalyze``) was not finished within the job time limit, and was discarded."""
    return ServiceError(
        503,
        "ServiceUnavailable",
        f"The document was not read within the time limit of {time_limit:g} seconds and was "
        "discarded. Retry later, or submit it to read/analyze and poll for the result.",
        headers=_retry_after(retry_after),
    )


def injected(status: int, retry_after: int | None = None) -> ServiceError:
    """The error a fault rule answers with: the body and headers the service uses for
    ``status`` (429 wrapped as the gateway sends it, the rest flat). 429 and 503 always carry
    ``Retry-After`` (1 s unless ``retry_after`` says otherwise)."""
    if status == 429:
        error = rate_limited(1 if retry_after is None else retry_after)
    elif status == 503:
        error = service_unavailable(1 if retry_after is None else retry_after)
    elif status == 500:
        error = internal_error()
    elif status == 408:
        error = request_timeout("The operation timed out. Retry the request.")
    elif status == 502:
        error = ServiceError(502, "BadGateway", "The service's gateway got no valid answer.")
    elif status == 504:
        error = ServiceError(504, "GatewayTimeout", "The service's gateway timed out.")
    else:
        raise ValueError(f"no injected error for status {status}")
    if retry_after is not None:
        error.headers["Retry-After"] = str(retry_after)
    return error


def from_http_status(status_code: int, method: str, path: str) -> ServiceError:
    """Map a routing-level HTTP status (Starlette's ``HTTPException``) to a service error."""
    if status_code == 404:
        return resource_not_found(path)
    if status_code == 405:
        return method_not_allowed(method, path)
    if status_code >= 500:
        return internal_error()
    return ServiceError(status_code, "BadArgument", f"The request was rejected ({status_code}).")
