"""Typed sync and async clients for the Read API v3.2 (Azure AI Vision OCR, or its emulator).

::

    from ocr_sdk import OcrClient

    with OcrClient("https://myresource.cognitiveservices.azure.com", "<key>") as client:
        result = client.read("invoice.pdf")
        print(result.text)

See ``docs/sdk.md`` for polling, retries, errors, TLS and configuration.
"""

from ._async_client import AsyncOcrClient
from ._batch import BatchItem
from ._client import OcrClient
from ._exceptions import (
    AuthenticationError,
    InsecureTransportError,
    InvalidRequestError,
    NotFoundError,
    OcrConnectionError,
    OcrError,
    OperationFailedError,
    PollingTimeoutError,
    RateLimitError,
    ServiceError,
)
from ._models import (
    AnalyzeResult,
    Appearance,
    Line,
    OperationStatus,
    Page,
    ReadOperationResult,
    ReadResult,
    Style,
    TextStyleName,
    TextUnit,
    Word,
)
from ._polling import AsyncReadPoller, ReadPoller
from ._retry import RetryPolicy
from ._version import __version__

__all__ = [
    "__version__",
    # clients and pollers
    "OcrClient",
    "AsyncOcrClient",
    "ReadPoller",
    "AsyncReadPoller",
    "RetryPolicy",
    "BatchItem",
    # wire models
    "ReadOperationResult",
    "AnalyzeResult",
    "ReadResult",
    "Page",
    "Line",
    "Word",
    "Appearance",
    "Style",
    "OperationStatus",
    "TextUnit",
    "TextStyleName",
    # errors
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
