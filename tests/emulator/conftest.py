"""Fixtures for in-process emulator tests: the app over ``httpx.ASGITransport`` with a fake
engine, a manual clock and (by default) a manual job queue, so nothing waits or sleeps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _harness import HEADERS, KEY, Harness, MakeHarness

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs import ManualJobQueue
from emulator.settings import Settings


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
