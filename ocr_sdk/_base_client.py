"""Everything the sync and async clients decide without doing I/O.

Building requests (URL, query, headers, body), reading the ``Operation-Location`` header,
mapping error responses onto the exception tree and parsing results all live here, so
:class:`~ocr_sdk.OcrClient` and :class:`~ocr_sdk.AsyncOcrClient` differ only in how they send.

What a request that got no HTTP answer means, and what to try, is
:mod:`ocr_sdk._transport_errors`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, TypeAlias
from urllib.parse import quote, unquote

from . import _retry
from ._config import ClientConfig, build_ssl_context
from ._exceptions import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    OcrConnectionError,
    OcrError,
    RateLimitError,
    ServiceError,
)
from ._polling import PollingState
from ._retry import RetryPolicy, parse_retry_after, poll_hint
from ._transport_errors import connection_error, trust_description
from ._version import __version__

if TYPE_CHECKING:
    # httpx is imported when a client is constructed, not by ``import ocr_sdk``: it takes
    # about 60 ms to import (more when click is installed, which its CLI module imports).
    import httpx

    # The wire models need pydantic: imported at the first result (``_parse_operation``).
    from ._models import ImageAnalysisResult, ReadOperationResult

__all__ = [
    "BaseClient",
    "Document",
    "DEFAULT_TIMEOUT",
    "DefaultTimeout",
    "DEFAULT_POLLING_INTERVAL",
    "CHUNK_SIZE",
    "error_from_response",
    "operation_id_from_location",
]

#: The Image Analysis 4.0 api-version ``analyze_image`` sends (the official client's default).
IMAGE_ANALYSIS_API_VERSION = "2023-10-01"

#: A document to read: a filesystem path, the raw bytes, or a binary file object.
Document: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


class DefaultTimeout:
    """The type of :data:`DEFAULT_TIMEOUT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<default: 60 s, 10 s to connect>"


#: The ``timeout`` a client uses unless given one: ``httpx.Timeout(60.0, connect=10.0)``, i.e.
#: 60 s to send or receive (a large PDF takes a while to upload), 10 s to connect. A marker
#: that the client turns into that ``httpx.Timeout``, so that the default argument does not
#: need httpx imported when ``ocr_sdk`` is.
DEFAULT_TIMEOUT: Final = DefaultTimeout()
#: The service recommends polling about once a second.
DEFAULT_POLLING_INTERVAL = 1.0
#: Files are streamed in pieces of this size, never read whole.
CHUNK_SIZE = 64 * 1024

_OCTET_STREAM = "application/octet-stream"
_JSON = "application/json"
_REQUEST_ID_HEADERS = ("apim-request-id", "x-ms-request-id", "x-request-id")


class _Body:
    """A request body that can be produced again for each attempt."""

    content_type: str = _OCTET_STREAM
    #: False when a retry would send a partly consumed stream.
    replayable: bool = True

    def sync_content(self) -> bytes | Iterator[bytes]:
        raise NotImplementedError

    def async_content(self) -> bytes | AsyncIterator[bytes]:
        raise NotImplementedError


class _BytesBody(_Body):
    def __init__(self, data: bytes, content_type: str = _OCTET_STREAM) -> None:
        self.data = data
        self.content_type = content_type

    def sync_content(self) -> bytes:
        return self.data

    def async_content(self) -> bytes:
        return self.data


class _PathBody(_Body):
    """Opens the file afresh for every attempt and streams it in chunks."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sync_content(self) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            while chunk := file.read(CHUNK_SIZE):
                yield chunk

    async def async_content(self) -> AsyncIterator[bytes]:
        # Disk reads block; run each one in a thread so the event loop keeps serving.
        import asyncio  # here, not at the top: ``import ocr_sdk`` need not load asyncio

        file = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
                yield chunk
        finally:
            await asyncio.to_thread(file.close)


class _FileBody(_Body):
    """Streams a caller's binary file object from its current position; never closes it."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        try:
            self.start: int | None = file.tell() if file.seekable() else None
        except (AttributeError, OSError):
            self.start = None
        # Without a position to seek back to, a retry would send the rest of a used stream.
        self.replayable = self.start is not None

    def _rewind(self) -> None:
        if self.start is not None:
            self.file.seek(self.start)

    def _check(self, chunk: object) -> bytes:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError("document file must be opened in binary mode ('rb')")
        return bytes(chunk)

    def sync_content(self) -> Iterator[bytes]:
        self._rewind()
        while chunk := self._check(self.file.read(CHUNK_SIZE)):
            yield chunk

    async def async_content(self) -> AsyncIterator[bytes]:
        import asyncio

        await asyncio.to_thread(self._rewind)
        while chunk := self._check(await asyncio.to_thread(self.file.read, CHUNK_SIZE)):
            yield chunk


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One logical request; turned into a fresh ``httpx.Request`` per attempt."""

    method: str
    url: str
    headers: dict[str, str]
    body: _Body | None = None

    @property
    def idempotent(self) -> bool:
        """GET can always be repeated; POST may start a second operation."""
        return self.method == "GET"

    @property
    def description(self) -> str:
        """Method and URL, for logs (the key is in a header, never in the URL)."""
        return f"{self.method} {self.url}"


def _document_body(document: Document) -> _Body:
    if isinstance(document, bytes | bytearray | memoryview):
        return _BytesBody(bytes(document))
    if isinstance(document, str | os.PathLike):
        path = Path(document)
        # Fail before any request rather than after a half-sent upload.
        if not path.is_file():
            raise FileNotFoundError(f"document not found or not a file: {path}")
        return _PathBody(path)
    if isinstance(document, io.TextIOBase):
        raise TypeError("document file must be opened in binary mode ('rb')")
    if callable(getattr(document, "read", None)):
        return _FileBody(document)
    raise TypeError(
        "document must be a path, bytes, or a binary file object; "
        f"got {type(document).__name__} (for a URL use begin_read_url/read_url)"
    )


def _query(
    *,
    language: str | None,
    pages: str | Sequence[str] | None,
    model_version: str | None,
    reading_order: str | None,
) -> str:
    """The query string, serialised like the official client (msrest) does it.

    Order ``language, pages, model-version, readingOrder``; ``None`` is left out; every value
    is percent-encoded with no safe characters, and ``pages`` items are encoded one by one and
    joined with a literal comma (``pages=1,3-5,7-``).
    """
    parts: list[str] = []
    if language is not None:
        parts.append(f"language={quote(str(language), safe='')}")
    if pages is not None:
        items = [pages] if isinstance(pages, str) else list(pages)
        parts.append("pages=" + ",".join(quote(str(item), safe="") for item in items))
    if model_version is not None:
        parts.append(f"model-version={quote(str(model_version), safe='')}")
    if reading_order is not None:
        parts.append(f"readingOrder={quote(str(reading_order), safe='')}")
    return "&".join(parts)


def operation_id_from_location(location: str) -> str:
    """The operation id: the last path segment of ``Operation-Location``.

    Only the id is used; result URLs are always rebuilt from the client's own endpoint, so a
    service that reports another host cannot redirect where the key is sent.
    """
    import httpx  # loaded by now: the location comes from a response

    path = httpx.URL(location.strip()).path
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment)


def _decode_json(content: bytes) -> object:
    # The service's JSON is UTF-8; tolerate a BOM as msrest does.
    return json.loads(content.decode("utf-8-sig"))


def _request_id(headers: httpx.Headers, body: object) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        if value := headers.get(name):
            return str(value)
    if isinstance(body, dict):
        value = body.get("requestId")
        if isinstance(value, str) and value:
            return value
    return None


def _error_fields(body: object) -> tuple[str | None, str | None]:
    """(code, message) from either error shape the service uses."""
    if not isinstance(body, dict):
        return None, None
    # Read sends {"code","message","requestId"}; the gateway wraps 401/429 in {"error": {...}}.
    inner = body.get("error")
    source = inner if isinstance(inner, dict) else body
    code, message = source.get("code"), source.get("message")
    return (
        str(code) if code is not None else None,
        str(message) if message is not None else None,
    )


def error_from_response(response: httpx.Response, *, now: float) -> OcrError:
    """Map an error response onto the exception tree (pure; ``now`` is Unix time)."""
    status = response.status_code
    body: object = None
    if response.content:
        try:
            body = _decode_json(response.content)
        except ValueError:
            body = response.content.decode("utf-8", errors="replace")
    code, message = _error_fields(body)
    if message is None:
        if isinstance(body, str) and body.strip():
            message = body.strip()[:500]
        else:
            message = response.reason_phrase or f"HTTP {status}"
    cls: type[OcrError]
    if status in (401, 403):
        cls = AuthenticationError
    elif status == 404:
        cls = NotFoundError
    elif status == 429:
        cls = RateLimitError
    elif 500 <= status <= 599:
        cls = ServiceError
    elif 400 <= status <= 499 and status != 408:
        cls = InvalidRequestError
    else:
        # 408 and unexpected statuses (a 3xx, or a 2xx where another was required).
        cls = OcrError
    return cls(
        message,
        status_code=status,
        code=code,
        request_id=_request_id(response.headers, body),
        retry_after=parse_retry_after(response.headers.get("retry-after"), now=now),
        body=body,
    )


class BaseClient:
    """Configuration and every I/O-free decision shared by the sync and async clients."""

    def __init__(
        self,
        endpoint: str | None,
        api_key: str | None,
        *,
        verify: bool | str | os.PathLike[str],
        timeout: float | httpx.Timeout | DefaultTimeout | None,
        retry: RetryPolicy | None,
        polling_interval: float,
        allow_insecure_http: bool,
        token: bool = False,
    ) -> None:
        import httpx  # here, not at the top: see the TYPE_CHECKING import

        if polling_interval < 0:
            raise ValueError("polling_interval must be >= 0")
        self._config = ClientConfig.resolve(
            endpoint, api_key, allow_insecure_http=allow_insecure_http, token=token
        )
        self._ssl_context = build_ssl_context(verify)
        self._trust = trust_description(verify)
        if isinstance(timeout, DefaultTimeout):
            timeout = httpx.Timeout(60.0, connect=10.0)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._user_agent = f"ocr-sdk/{__version__} httpx/{httpx.__version__}"
        self._retry_policy = retry if retry is not None else RetryPolicy()
        self._polling_interval = polling_interval

    @property
    def endpoint(self) -> str:
        """The endpoint as given (scheme, host, port, optional prefix)."""
        return self._config.endpoint

    @property
    def base_url(self) -> str:
        """The endpoint with ``/vision/v3.2`` appended."""
        return self._config.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._retry_policy

    @property
    def polling_interval(self) -> float:
        """Longest wait between polls when the service sends no hint (see the SDK guide)."""
        return self._polling_interval

    def __repr__(self) -> str:
        key = "None" if self._config.api_key is None else "'***'"
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, api_key={key})"

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {
            "Accept": _JSON,
            "User-Agent": self._user_agent,
        }
        if self._config.api_key is not None:
            headers["Ocp-Apim-Subscription-Key"] = self._config.api_key
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers

    def _analyze_url(
        self,
        *,
        language: str | None,
        pages: str | Sequence[str] | None,
        model_version: str | None,
        reading_order: str | None,
    ) -> str:
        query = _query(
            language=language, pages=pages, model_version=model_version, reading_order=reading_order
        )
        url = f"{self._config.base_url}/read/analyze"
        return f"{url}?{query}" if query else url

    def _analyze_request(
        self,
        body: _Body,
        *,
        pages: str | Sequence[str] | None,
        language: str | None,
        reading_order: str | None,
        model_version: str | None,
    ) -> RequestSpec:
        """The POST to ``read/analyze`` with ``body``, shared by documents and URLs."""
        return RequestSpec(
            "POST",
            self._analyze_url(
                language=language,
                pages=pages,
                model_version=model_version,
                reading_order=reading_order,
            ),
            self._headers(body.content_type),
            body,
        )

    def _read_request(
        self,
        document: Document,
        *,
        pages: str | Sequence[str] | None,
        language: str | None,
        reading_order: str | None,
        model_version: str | None,
    ) -> RequestSpec:
        body = _document_body(document)
        return self._analyze_request(
            body,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )

    def _read_url_request(
        self,
        url: str,
        *,
        pages: str | Sequence[str] | None,
        language: str | None,
        reading_order: str | None,
        model_version: str | None,
    ) -> RequestSpec:
        if not isinstance(url, str) or not url:
            raise TypeError("url must be a non-empty string")
        body = _BytesBody(json.dumps({"url": url}).encode(), content_type=_JSON)
        return self._analyze_request(
            body,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )

    def _image_analysis_request(
        self, body: _Body, *, language: str | None, model_version: str | None
    ) -> RequestSpec:
        """The POST of Image Analysis 4.0 with ``features=read`` (on the endpoint itself, not
        under ``/vision/v3.2``), as ``azure-ai-vision-imageanalysis`` sends it."""
        parts = [f"api-version={IMAGE_ANALYSIS_API_VERSION}", "features=read"]
        if language is not None:
            parts.append(f"language={quote(str(language), safe='')}")
        if model_version is not None:
            parts.append(f"model-version={quote(str(model_version), safe='')}")
        url = f"{self._config.endpoint.rstrip('/')}/computervision/imageanalysis:analyze"
        return RequestSpec(
            "POST", f"{url}?{'&'.join(parts)}", self._headers(body.content_type), body
        )

    def _analyze_image_request(
        self, document: Document, *, language: str | None, model_version: str | None
    ) -> RequestSpec:
        return self._image_analysis_request(
            _document_body(document), language=language, model_version=model_version
        )

    def _analyze_image_url_request(
        self, url: str, *, language: str | None, model_version: str | None
    ) -> RequestSpec:
        if not isinstance(url, str) or not url:
            raise TypeError("url must be a non-empty string")
        body = _BytesBody(json.dumps({"url": url}).encode(), content_type=_JSON)
        return self._image_analysis_request(body, language=language, model_version=model_version)

    def _parse_image_analysis(self, response: httpx.Response) -> ImageAnalysisResult:
        import pydantic

        from ._models import ImageAnalysisResult

        try:
            return ImageAnalysisResult.model_validate(_decode_json(response.content))
        except (ValueError, pydantic.ValidationError) as exc:
            raise OcrError(
                f"the service sent a result that is not a valid ImageAnalysisResult: {exc}",
                status_code=response.status_code,
                request_id=_request_id(response.headers, None),
            ) from exc

    def _result_request(self, operation_id: str) -> RequestSpec:
        if not operation_id:
            raise ValueError("operation_id must not be empty")
        # Like msrest: encode with no safe characters, so "/" cannot escape the path.
        quoted = quote(operation_id, safe="")
        return RequestSpec(
            "GET", f"{self._config.base_url}/read/analyzeResults/{quoted}", self._headers()
        )

    def _policy_for(self, spec: RequestSpec) -> RetryPolicy:
        # A stream that cannot be rewound would be resent half-consumed: one attempt only.
        if spec.body is not None and not spec.body.replayable:
            return dataclasses.replace(self._retry_policy, max_retries=0)
        return self._retry_policy

    def _check_response(self, spec: RequestSpec, response: httpx.Response) -> None:
        """Raise the mapped error unless ``response`` is the success ``spec`` expects."""
        ok = response.status_code == 200 if spec.idempotent else response.is_success
        if not ok:
            raise error_from_response(response, now=_retry.wall_clock())

    def _connection_error(
        self, spec: RequestSpec, error: httpx.TransportError
    ) -> OcrConnectionError:
        return connection_error(
            spec.method, spec.url, error, trust=self._trust, timeout=self._timeout
        )

    def _operation_id(self, response: httpx.Response) -> str:
        # The official examples disagree on the header's name; accept both.
        location = response.headers.get("operation-location") or response.headers.get("location")
        operation_id = operation_id_from_location(location) if location else ""
        if not operation_id:
            raise OcrError(
                "the service accepted the request but sent no usable Operation-Location header",
                status_code=response.status_code,
                request_id=_request_id(response.headers, None),
            )
        return operation_id

    def _parse_operation(
        self, response: httpx.Response
    ) -> tuple[ReadOperationResult, float | None]:
        # Imported at the first result, not by ``import ocr_sdk``: the models need pydantic.
        import pydantic

        from ._models import ReadOperationResult

        request_id = _request_id(response.headers, None)
        try:
            result = ReadOperationResult.model_validate(_decode_json(response.content))
        except (ValueError, pydantic.ValidationError) as exc:
            raise OcrError(
                f"the service sent a result that is not a valid ReadOperationResult: {exc}",
                status_code=response.status_code,
                request_id=request_id,
            ) from exc
        return result, poll_hint(response.headers, now=_retry.wall_clock())

    def _new_polling_state(
        self, operation_id: str, *, now: float, accepted: httpx.Response | None = None
    ) -> PollingState:
        """A poller's state. After a submit (``accepted`` is the 202) the first poll waits for
        the 202's hint or the first backoff step, since an immediate GET would only see
        ``notStarted``; a resumed operation (no 202) is polled at once."""
        state = PollingState(
            operation_id, polling_interval=self._polling_interval, next_poll_at=now
        )
        if accepted is not None:
            state.schedule(poll_hint(accepted.headers, now=_retry.wall_clock()), now)
        return state
