"""The synchronous client: only the send loop; every decision is in ``_base_client``."""

from __future__ import annotations

import inspect
import itertools
import os
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from ._base_client import (
    DEFAULT_POLLING_INTERVAL,
    DEFAULT_TIMEOUT,
    BaseClient,
    DefaultTimeout,
    Document,
    RequestSpec,
)
from ._batch import DEFAULT_CONCURRENCY, BatchItem, RateGate, ReadOptions, check_concurrency
from ._credentials import TokenCache, TokenCredential
from ._exceptions import OcrError
from ._polling import PollingState, ReadPoller
from ._retry import RetryPolicy, build_retrying

if TYPE_CHECKING:
    import httpx

    from ._models import ImageAnalysisResult, ReadOperationResult, ReadResult

__all__ = ["OcrClient"]

_T = TypeVar("_T")


class OcrClient(BaseClient):
    """Synchronous client for the Read API v3.2.

    Args:
        endpoint: ``scheme://host[:port][/prefix]``; the SDK appends ``/vision/v3.2``, as
            Microsoft's client does. Defaults to the ``OCR_ENDPOINT`` environment variable.
        api_key: sent as ``Ocp-Apim-Subscription-Key``. Defaults to ``OCR_API_KEY``; if
            neither is set no key is sent (useful against a local emulator).
        credential: instead of a key, a ``TokenCredential`` (azure-identity's, or any object
            with ``get_token(*scopes)``): its token for
            ``https://cognitiveservices.azure.com/.default`` is sent as
            ``Authorization: Bearer``, and replaced five minutes before it expires.
        verify: ``True`` (default) checks certificates against the system store, a path
            uses that CA bundle, ``False`` disables the check. TLS 1.2 is the minimum always.
        timeout: per-request timeout, seconds or an ``httpx.Timeout``
            (default 60 s, 10 s to connect).
        retry: a :class:`RetryPolicy` (default ``RetryPolicy()``: 3 retries, see its docs).
        polling_interval: longest wait between polls when the service sends no hint; the
            waits start at a quarter of it and double (default 1.0).
        allow_insecure_http: allow sending the key over ``http://`` to a non-loopback host.
            Off by default: the client refuses with :class:`InsecureTransportError`.
        transport: an ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.
        sleep: called to wait between retries and polls (default ``time.sleep``).

    Use as a context manager, or call :meth:`close`, to release the connection pool.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        api_key: str | None = None,
        *,
        verify: bool | str | os.PathLike[str] = True,
        timeout: float | httpx.Timeout | DefaultTimeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        allow_insecure_http: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        credential: TokenCredential | None = None,
    ) -> None:
        if credential is not None and inspect.iscoroutinefunction(credential.get_token):
            raise TypeError("OcrClient needs a synchronous credential; use AsyncOcrClient")
        super().__init__(
            endpoint,
            api_key,
            verify=verify,
            timeout=timeout,
            retry=retry,
            polling_interval=polling_interval,
            allow_insecure_http=allow_insecure_http,
            token=credential is not None,
        )
        self._tokens = TokenCache(credential) if credential is not None else None
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock: Callable[[], float] = time.monotonic
        # Redirects stay off: following one could carry the key to another host.
        import httpx  # BaseClient.__init__ has imported it

        self._http = httpx.Client(
            verify=self._ssl_context,
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> OcrClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        self._http.close()

    def _send_once(self, spec: RequestSpec) -> httpx.Response:
        import httpx  # a dictionary look-up: the constructor imported it

        content = spec.body.sync_content() if spec.body is not None else None
        headers = spec.headers
        if self._tokens is not None:  # asked for each attempt: a retry may need a fresh one
            headers = {**headers, "Authorization": self._tokens.header()}
        request = self._http.build_request(spec.method, spec.url, headers=headers, content=content)
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise self._connection_error(spec, exc) from exc
        self._check_response(spec, response)
        return response

    def _send_gated(self, spec: RequestSpec, gate: RateGate) -> httpx.Response:
        # One attempt of a batch's submission: wait while the batch is rate-limited, and
        # tell the other workers when this attempt is refused with 429.
        delay = gate.delay(self._clock())
        if delay > 0:
            self._sleep(delay)
        try:
            return self._send_once(spec)
        except OcrError as error:
            gate.observe(error, self._clock())
            raise

    def _send(self, spec: RequestSpec, gate: RateGate | None = None) -> httpx.Response:
        retrying = build_retrying(
            self._policy_for(spec),
            idempotent=spec.idempotent,
            sleep=self._sleep,
            description=spec.description,
        )
        if gate is None:
            return retrying(self._send_once, spec)
        return retrying(self._send_gated, spec, gate)

    def _begin(self, spec: RequestSpec, gate: RateGate | None = None) -> ReadPoller:
        response = self._send(spec, gate)
        operation_id = self._operation_id(response)
        state = self._new_polling_state(operation_id, now=self._clock(), accepted=response)
        return self._poller(state)

    def _poller(self, state: PollingState) -> ReadPoller:
        return ReadPoller(state, fetch=self._fetch, sleep=self._sleep, clock=self._clock)

    def _fetch(self, operation_id: str) -> tuple[ReadOperationResult, float | None]:
        return self._parse_operation(self._send(self._result_request(operation_id)))

    def begin_read(
        self,
        document: Document,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
    ) -> ReadPoller:
        """Submit a document and return a poller for the operation.

        Args:
            document: a path (streamed from disk), ``bytes``, or a binary file object
                (streamed from its current position, not closed).
            pages: e.g. ``["1", "3-5", "7-"]`` or ``"1,3-5"``; sent as ``pages=1,3-5,7-``.
            language: BCP-47 code such as ``"en"``; by default the service detects it.
            reading_order: ``"basic"`` (service default) or ``"natural"``.
            model_version: ``"latest"`` (service default), ``"2022-04-30"``...

        Raises the :mod:`ocr_sdk` errors; the POST is retried only on 408, 429, 503 and
        connection failures before sending (see :class:`RetryPolicy`).
        """
        return self._begin(
            self._read_request(
                document,
                pages=pages,
                language=language,
                reading_order=reading_order,
                model_version=model_version,
            )
        )

    def begin_read_url(
        self,
        url: str,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
    ) -> ReadPoller:
        """Ask the service to fetch and read the document at ``url``; return a poller.

        The options are those of :meth:`begin_read`.
        """
        return self._begin(
            self._read_url_request(
                url,
                pages=pages,
                language=language,
                reading_order=reading_order,
                model_version=model_version,
            )
        )

    def resume_read(self, operation_id: str) -> ReadPoller:
        """Rebuild a poller for an operation started elsewhere (another process, a restart).

        No request is sent until the poller is waited on; the first poll happens at once.
        """
        self._result_request(operation_id)  # validates the id before handing out a poller
        return self._poller(self._new_polling_state(operation_id, now=self._clock()))

    def read(
        self,
        document: Document,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,
    ) -> ReadResult:
        """Submit a document and wait for its :class:`ReadResult` (``.pages``, ``.text``).

        ``timeout`` bounds the wait in seconds (default: none); see :meth:`begin_read`.
        """
        poller = self.begin_read(
            document,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )
        return poller.result(timeout)

    def read_url(
        self,
        url: str,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,
    ) -> ReadResult:
        """Read the document at ``url`` and wait for its :class:`ReadResult`."""
        poller = self.begin_read_url(
            url,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )
        return poller.result(timeout)

    def analyze_image(
        self,
        image: Document,
        *,
        language: str | None = None,
        model_version: str | None = None,
    ) -> ImageAnalysisResult:
        """Read an image's text with Image Analysis 4.0 (``features=read``), answered in the
        same call: ``.lines`` (text, ``bounding_polygon`` in pixels, words with confidences)
        and ``.text``. ``image`` is what :meth:`begin_read` takes; the service takes images
        only (no PDF), up to 20 MB and 16000 pixels a side.

        Raises the :mod:`ocr_sdk` errors (``InvalidRequestError`` for an image it refuses).
        """
        spec = self._analyze_image_request(image, language=language, model_version=model_version)
        return self._parse_image_analysis(self._send(spec))

    def analyze_image_url(
        self,
        url: str,
        *,
        language: str | None = None,
        model_version: str | None = None,
    ) -> ImageAnalysisResult:
        """:meth:`analyze_image` of the image at ``url`` (the service fetches it)."""
        spec = self._analyze_image_url_request(url, language=language, model_version=model_version)
        return self._parse_image_analysis(self._send(spec))

    def get_read_result(self, operation_id: str) -> ReadOperationResult:
        """One GET of the operation: status, timestamps and, once succeeded, the result."""
        result, _ = self._fetch(operation_id)
        return result

    def read_many(
        self,
        documents: Iterable[Document],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,
    ) -> Generator[BatchItem[Document], None]:
        """Read many documents, up to ``concurrency`` at a time; yield each as it completes.

        Every :class:`BatchItem` names its input (``.index``, ``.document``) and carries
        either ``.result`` or ``.error``: one document failing (a corrupt file, a missing
        path, a failed operation) does not stop the others. The options apply to every
        document, as in :meth:`read`; ``timeout`` bounds each document's wait.

        Documents are taken from ``documents`` lazily, so a generator of paths works for any
        number of files. Each request is retried by the client's :class:`RetryPolicy`; on
        top of that, a 429 answered to any submission holds back every worker's next
        submission until its ``Retry-After`` has passed, so concurrency does not hammer a
        throttled service. Runs in a pool of ``concurrency`` threads; if the caller stops
        iterating early, reads not yet started are dropped and those in flight finish
        in the background.
        """
        options = ReadOptions(
            pages=pages, language=language, reading_order=reading_order, model_version=model_version
        )

        def read_one(document: Document, gate: RateGate) -> ReadResult:
            return self._begin(self._read_request(document, **options), gate).result(timeout)

        return self._batch(documents, read_one, concurrency)

    def _batch(
        self,
        inputs: Iterable[_T],
        read: Callable[[_T, RateGate], ReadResult],
        concurrency: int,
    ) -> Generator[BatchItem[_T], None]:
        """Run ``read`` over ``inputs`` in threads; validated now, run when iterated."""
        check_concurrency(concurrency)
        return self._run_batch(inputs, read, concurrency)

    def _run_batch(
        self,
        inputs: Iterable[_T],
        read: Callable[[_T, RateGate], ReadResult],
        concurrency: int,
    ) -> Generator[BatchItem[_T], None]:
        gate = RateGate()
        source = enumerate(inputs)

        def run(index: int, item: _T) -> BatchItem[_T]:
            try:
                return BatchItem(index, item, result=read(item, gate))
            except Exception as error:  # one failed document must not stop the batch
                return BatchItem(index, item, error=error)

        executor = ThreadPoolExecutor(concurrency, thread_name_prefix="ocr-read-many")
        running: set[Future[BatchItem[_T]]] = set()
        try:
            while True:
                # Top up to `concurrency` reads in flight, taking inputs only as needed.
                for index, item in itertools.islice(source, concurrency - len(running)):
                    running.add(executor.submit(run, index, item))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
