"""Every exception the SDK raises, in one tree.

::

    OcrError                      base: .status_code .code .message .request_id .body;
    │                             raised as-is for 408, other unexpected statuses and
    │                             success responses the SDK cannot use
    ├── AuthenticationError       401, 403: missing, wrong or unauthorised key
    ├── InvalidRequestError       400, 415, other 4xx but 408 (.code e.g. "InvalidImageFormat")
    ├── NotFoundError             404: unknown or expired operation (Azure: after 48 h)
    ├── RateLimitError            429 (.retry_after in seconds, or None)
    ├── ServiceError              5xx
    ├── OperationFailedError      the operation finished with status "failed"
    ├── PollingTimeoutError       result(timeout=...) ran out; the operation is resumable
    ├── OcrConnectionError        transport failure (DNS, refused, TLS, timeout, reset):
    │                             .reason names it, the message says what to try
    └── InsecureTransportError    refusing to send the API key over plain http (also ValueError)

Messages never contain the API key: errors are built only from the status line, the
response headers named below and the response body, none of which carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import ReadOperationResult

__all__ = [
    "OcrError",
    "AuthenticationError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "ServiceError",
    "OperationFailedError",
    "PollingTimeoutError",
    "OcrConnectionError",
    "InsecureTransportError",
]


class OcrError(Exception):
    """Base class of every SDK error.

    Attributes:
        status_code: HTTP status of the response that caused the error, or ``None`` when
            there was no response (transport failure, polling timeout, failed operation).
        code: the service's error code (``"InvalidImageFormat"``, ``"401"``...), or ``None``.
        message: human-readable explanation, from the service when it sent one.
        request_id: the ``apim-request-id`` header, else the body's ``requestId``, or ``None``.
        retry_after: seconds the service asked us to wait (``Retry-After``), or ``None``.
        body: the parsed JSON error body, the raw text when it was not JSON, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: object = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        details = []
        if self.status_code is not None:
            details.append(f"HTTP {self.status_code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{text} ({', '.join(details)})" if details else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(OcrError):
    """The service rejected the key (HTTP 401) or the key may not use this resource (403)."""


class InvalidRequestError(OcrError):
    """The service rejected the request itself (400, 415 and any other 4xx not listed here).

    ``code`` tells why, e.g. ``InvalidImageFormat``, ``InvalidImageSize``, ``InvalidPageRange``,
    ``NotSupportedLanguage``, ``UnsupportedMediaType``. Retrying the same request cannot help.
    """


class NotFoundError(OcrError):
    """HTTP 404: the operation id is unknown or its result expired (Azure keeps results 48
    hours, the emulator 24 hours unless ``--retention`` says otherwise)."""


class RateLimitError(OcrError):
    """HTTP 429 after retries were exhausted, or at once when ``Retry-After`` exceeds the cap.

    ``retry_after`` holds the server's requested wait in seconds (``None`` if it sent none).
    """


class ServiceError(OcrError):
    """HTTP 5xx after retries were exhausted (or at once for a POST status that is not retried)."""


class OperationFailedError(OcrError):
    """The Read operation finished with status ``failed``.

    The service gives no reason for a failed operation; ``result`` holds the last
    :class:`~ocr_sdk.ReadOperationResult` seen, and ``operation_id`` names the operation.
    """

    def __init__(
        self,
        message: str,
        *,
        operation_id: str,
        result: ReadOperationResult | None = None,
    ) -> None:
        self.operation_id = operation_id
        self.result = result
        super().__init__(message)


class PollingTimeoutError(OcrError):
    """``result(timeout=...)`` ran out of time before the operation finished.

    Nothing is cancelled: call ``result()`` again on the same poller, or
    ``client.resume_read(operation_id)`` from anywhere, to keep waiting.
    """

    def __init__(self, message: str, *, operation_id: str, status: str) -> None:
        self.operation_id = operation_id
        self.status = status
        super().__init__(message)


class OcrConnectionError(OcrError):
    """The request never got an HTTP response: DNS, refused, TLS, reset or timed out.

    The message says what happened and what to try (``nothing is listening at
    127.0.0.1:5000 - is the emulator running on that port?``); ``reason`` says the same for
    programs, and the underlying ``httpx`` exception is chained as ``__cause__``.

    Attributes:
        reason: what went wrong, or ``None`` when it is not known:

            * ``"refused"``: nothing listens at the endpoint's host and port;
            * ``"dns"``: the host name could not be resolved;
            * ``"not_tls"``: ``https://`` to a server that answered in plain HTTP;
            * ``"closed"``: the server closed the connection without an HTTP response
              (``http://`` to a server that expects TLS answers so, as does a server
              that dropped the request);
            * ``"certificate"``: the server's certificate was not trusted, or does not name
              the host;
            * ``"tls"``: another TLS failure (no common protocol version or cipher...);
            * ``"timeout"``: no connection, or no response, within the client's timeout;
            * ``"reset"``: the connection broke while the request or response was in flight.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)


class InsecureTransportError(OcrError, ValueError):
    """Refused to send the API key in clear text over ``http://`` to a non-loopback host.

    Raised when the client is built, so no request is ever made. Use ``https://``, or pass
    ``allow_insecure_http=True`` if the network path is trusted.
    """
