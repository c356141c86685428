"""The asynchronous client: the same decisions as ``OcrClient``, with awaited I/O."""

from __future__ import annotations

import inspect
import itertools
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
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
from ._credentials import AsyncTokenCache, AsyncTokenCredential
from ._exceptions import OcrError
from ._polling import AsyncReadPoller, PollingState
from ._retry import RetryPolicy, build_async_retrying

if TYPE_CHECKING:
    import httpx

    from ._models import ImageAnalysisResult, ReadOperationResult, ReadResult

__all__ = ["AsyncOcrClient"]

_T = TypeVar("_T")


class AsyncOcrClient(BaseClient):
    """Asynchronous client for the Read API v3.2 (asyncio).

    Takes the same arguments as :class:`~ocr_sdk.OcrClient`, except that ``transport`` is an
    ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport``), ``sleep`` is a coroutine
    function (default ``asyncio.sleep``) and ``credential`` an async ``TokenCredential``
    (``async def get_token``, as azure-identity's ``aio`` credentials). Every method is a
    coroutine. Documents given as paths or file objects are read in a worker thread, chunk by
    chunk, so the event loop is never blocked on disk.

    Use ``async with``, or ``await client.close()``, to release the connection pool.
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
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        credential: AsyncTokenCredential | None = None,
    ) -> None:
        if credential is not None and not inspect.iscoroutinefunction(credential.get_token):
            raise TypeError(
                "AsyncOcrClient needs an async credential (azure.identity.aio's); "
                "use OcrClient for a synchronous one"
            )
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
        self._tokens = AsyncTokenCache(credential) if credential is not None else None
        if sleep is None:
            # Imported here, not at the top: ``import ocr_sdk`` need not load asyncio (about
            # a third of its import time) for programs that only use the sync client.
            import asyncio

            sleep = asyncio.sleep
        self._sleep = sleep
        self._clock: Callable[[], float] = time.monotonic
        # Redirects stay off: following one could carry the key to another host.
        import httpx  # BaseClient.__init__ has imported it

        self._http = httpx.AsyncClient(
            verify=self._ssl_context,
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> AsyncOcrClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()

    async def _send_once(self, spec: RequestSpec) -> httpx.Response:
        import httpx  # a dictionary look-up: the constructor imported it

        content = spec.body.async_content() if spec.body is not None else None
        headers = spec.headers
        if self._tokens is not None:  # asked for each attempt: a retry may need a fresh one
            headers = {**headers, "Authorization": await self._tokens.header()}
        request = self._http.build_request(spec.method, spec.url, headers=headers, content=content)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise self._connection_error(spec, exc) from exc
        self._check_response(spec, response)
        return response

    async def _send_gated(self, spec: RequestSpec, gate: RateGate) -> httpx.Response:
        # One attempt of a batch's submission: wait while the batch is rate-limited, and
        # tell the other workers when this attempt is refused with 429.
        delay = gate.delay(self._clock())
        if delay > 0:
            await self._sleep(delay)
        try:
            return await self._send_once(spec)
        except OcrError as error:
            gate.observe(error, self._clock())
            raise

    async def _send(self, spec: RequestSpec, gate: RateGate | None = None) -> httpx.Response:
        retrying = build_async_retrying(
            self._policy_for(spec),
            idempotent=spec.idempotent,
            sleep=self._sleep,
            description=spec.description,
        )
        if gate is None:
            return await retrying(self._send_once, spec)
        return await retrying(self._send_gated, spec, gate)

    async def _begin(self, spec: RequestSpec, gate: RateGate | None = None) -> AsyncReadPoller:
        response = await self._send(spec, gate)
        operation_id = self._operation_id(response)
        state = self._new_polling_state(operation_id, now=self._clock(), accepted=response)
        return self._poller(state)

    def _poller(self, state: PollingState) -> AsyncReadPoller:
        return AsyncReadPoller(state, fetch=self._fetch, sleep=self._sleep, clock=self._clock)

    async def _fetch(self, operation_id: str) -> tuple[ReadOperationResult, float | None]:
        return self._parse_operation(await self._send(self._result_request(operation_id)))

    async def begin_read(
        self,
        document: Document,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
    ) -> AsyncReadPoller:
        """Submit a document and return a poller; see :meth:`ocr_sdk.OcrClient.begin_read`."""
        return await self._begin(
            self._read_request(
                document,
                pages=pages,
                language=language,
                reading_order=reading_order,
                model_version=model_version,
            )
        )

    async def begin_read_url(
        self,
        url: str,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
    ) -> AsyncReadPoller:
        """Ask the service to read the document at ``url``; return a poller."""
        return await self._begin(
            self._read_url_request(
                url,
                pages=pages,
                language=language,
                reading_order=reading_order,
                model_version=model_version,
            )
        )

    async def resume_read(self, operation_id: str) -> AsyncReadPoller:
        """Rebuild a poller for an operation started elsewhere (another process, a restart).

        A coroutine like every other method, though no request is sent until the poller is
        awaited; the first poll then happens at once.
        """
        self._result_request(operation_id)  # validates the id before handing out a poller
        return self._poller(self._new_polling_state(operation_id, now=self._clock()))

    async def read(
        self,
        document: Document,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - see AsyncReadPoller.wait
    ) -> ReadResult:
        """Submit a document and wait for its :class:`ReadResult` (``.pages``, ``.text``)."""
        poller = await self.begin_read(
            document,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )
        return await poller.result(timeout)

    async def read_url(
        self,
        url: str,
        *,
        pages: str | Sequence[str] | None = None,
        language: str | None = None,
        reading_order: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - see AsyncReadPoller.wait
    ) -> ReadResult:
        """Read the document at ``url`` and wait for its :class:`ReadResult`."""
        poller = await self.begin_read_url(
            url,
            pages=pages,
            language=language,
            reading_order=reading_order,
            model_version=model_version,
        )
        return await poller.result(timeout)

    async def analyze_image(
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
        return self._parse_image_analysis(await self._send(spec))

    async def analyze_image_url(
        self,
        url: str,
        *,
        language: str | None = None,
        model_version: str | None = None,
    ) -> ImageAnalysisResult:
        """:meth:`analyze_image` of the image at ``url`` (the service fetches it)."""
        spec = self._analyze_image_url_request(url, language=language, model_version=model_version)
        return self._parse_image_analysis(await self._send(spec))

    async def get_read_result(self, operation_id: str) -> ReadOperationResult:
        """One GET of the operation: status, timestamps and, once succeeded, the result."""
        result, _ = await self._fetch(operation_id)
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
    ) -> AsyncGenerator[BatchItem[Document], None]:
        """Read many documents, up to ``concurrency`` at a time; ``async for`` each as it
        completes. See :meth:`ocr_sdk.OcrClient.read_many`; here the reads are asyncio tasks.

        If the caller stops iterating early and closes the iterator (``aclose()``, or leaving
        an ``async with contextlib.aclosing(...)`` block), reads in flight are cancelled.
        """
        options = ReadOptions(
            pages=pages, language=language, reading_order=reading_order, model_version=model_version
        )

        async def read_one(document: Document, gate: RateGate) -> ReadResult:
            poller = await self._begin(self._read_request(document, **options), gate)
            return await poller.result(timeout)

        return self._batch(documents, read_one, concurrency)

    def _batch(
        self,
        inputs: Iterable[_T],
        read: Callable[[_T, RateGate], Awaitable[ReadResult]],
        concurrency: int,
    ) -> AsyncGenerator[BatchItem[_T], None]:
        """Run ``read`` over ``inputs`` as tasks; validated now, run when iterated."""
        check_concurrency(concurrency)
        return self._run_batch(inputs, read, concurrency)

    async def _run_batch(
        self,
        inputs: Iterable[_T],
        read: Callable[[_T, RateGate], Awaitable[ReadResult]],
        concurrency: int,
    ) -> AsyncGenerator[BatchItem[_T], None]:
        import asyncio

        gate = RateGate()
        source = enumerate(inputs)

        async def run(index: int, item: _T) -> BatchItem[_T]:
            try:
                return BatchItem(index, item, result=await read(item, gate))
            except Exception as error:  # one failed document must not stop the batch
                return BatchItem(index, item, error=error)

        running: set[asyncio.Task[BatchItem[_T]]] = set()
        try:
            while True:
                # Top up to `concurrency` reads in flight, taking inputs only as needed.
                for index, item in itertools.islice(source, concurrency - len(running)):
                    running.add(asyncio.create_task(run(index, item)))
                if not running:
                    return
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
