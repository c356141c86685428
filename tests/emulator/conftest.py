"""Fixtures for in-process emulator tests: the app over ``httpx.ASGITransport`` with a fake
engine, a manual clock and (by default) a manual job queue, so nothing waits or sleeps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.service import ReadService
from emulator.settings import Settings

KEY = "test-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
ANALYZE = "/vision/v3.2/read/analyze"
RESULTS = "/vision/v3.2/read/analyzeResults"
BINARY = {"Content-Type": "application/octet-stream"}


@dataclass
class Harness:
    """One emulator app and an authenticated client for it."""

    app: Starlette
    client: httpx.AsyncClient
    engine: FakeEngine
    queue: ManualJobQueue | None

    @property
    def service(self) -> ReadService:
        service: ReadService = self.app.state.service
        return service

    async def submit(self, data: bytes, params: dict[str, str] | None = None) -> str:
        """POST ``data`` as a stream; assert 202; return the operation id."""
        response = await self.client.post(ANALYZE, params=params, content=data, headers=BINARY)
        assert response.status_code == 202, response.text
        return response.headers["Operation-Location"].rsplit("/", 1)[-1]

    async def get(self, operation_id: str) -> httpx.Response:
        """GET the operation."""
        return await self.client.get(f"{RESULTS}/{operation_id}")

    def run(self) -> list[str]:
        """Run every queued job now (manual queue only)."""
        assert self.queue is not None
        return self.queue.run_all()


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(clock: Any) -> AsyncIterator[MakeHarness]:
    """``await make_harness(manual=True, engine=None, **settings)``."""
    stack = contextlib.AsyncExitStack()

    async def make(
        *, manual: bool = True, engine: FakeEngine | None = None, **settings: Any
    ) -> Harness:
        settings.setdefault("api_keys", (KEY,))
        settings.setdefault("workers", 1)
        config = Settings(**settings)
        fake = engine or FakeEngine()
        queue = ManualJobQueue(fake, capacity=config.max_queue) if manual else None
        app = create_app(config, engine_factory=lambda _threads: fake, clock=clock, job_queue=queue)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://emulator.test",
                headers=HEADERS,
            )
        )
        return Harness(app, client, fake, queue)

    yield make
    await stack.aclose()


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    """The default harness: paid tier, manual queue, fake engine, manual clock."""
    return await make_harness()
