"""Typed sync and async clients for the Read API v3.2 (Azure AI Vision OCR, or its emulator).

::

    from ocr_sdk import OcrClient

    with OcrClient("https://myresource.cognitiveservices.azure.com", "<key>") as client:
        result = client.read("invoice.pdf")
        print(result.text)

See ``docs/sdk.md`` for polling, retries, errors, TLS and configuration.
"""

from typing import TYPE_CHECKING

from ._async_client import AsyncOcrClient
from ._batch import BatchItem
from ._client import OcrClient
from ._credentials import SCOPE as TOKEN_SCOPE
from ._credentials import AsyncTokenCredential, TokenCredential
from ._enums import OperationStatus, TextStyleName, TextUnit
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
from ._polling import AsyncReadPoller, ReadPoller
from ._retry import RetryPolicy
from ._version import __version__

if TYPE_CHECKING:
    from ._models import (
        AnalyzeResult,
        Appearance,
        ImageAnalysisResult,
        ImageBlock,
        ImageLine,
        ImageMetadata,
        ImagePoint,
        ImageReadResult,
        ImageWord,
        Line,
        Page,
        ReadOperationResult,
        ReadResult,
        Style,
        Word,
    )

__all__ = [
    "__version__",
    # clients and pollers
    "OcrClient",
    "AsyncOcrClient",
    "ReadPoller",
    "AsyncReadPoller",
    "RetryPolicy",
    "BatchItem",
    # bearer tokens
    "TokenCredential",
    "AsyncTokenCredential",
    "TOKEN_SCOPE",
    # wire models
    "ReadOperationResult",
    "AnalyzeResult",
    "ReadResult",
    "Page",
    "Line",
    "Word",
    "Appearance",
    "Style",
    "ImageAnalysisResult",
    "ImageReadResult",
    "ImageBlock",
    "ImageLine",
    "ImageWord",
    "ImagePoint",
    "ImageMetadata",
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

#: The wire models are imported from ``_models`` on first access (``ocr_sdk.ReadResult``,
#: ``from ocr_sdk import Page``), or when a client parses its first result: they need pydantic,
#: which would otherwise be most of ``import ocr_sdk``'s time.
_MODELS = frozenset(
    {
        "AnalyzeResult",
        "Appearance",
        "ImageAnalysisResult",
        "ImageBlock",
        "ImageLine",
        "ImageMetadata",
        "ImagePoint",
        "ImageReadResult",
        "ImageWord",
        "Line",
        "Page",
        "ReadOperationResult",
        "ReadResult",
        "Style",
        "Word",
    }
)


if not TYPE_CHECKING:  # type checkers see the imports above, and still flag unknown names

    def __getattr__(name: str) -> object:
        if name in _MODELS:
            from . import _models

            value = getattr(_models, name)
            globals()[name] = value  # later look-ups find it without calling this again
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _MODELS)
