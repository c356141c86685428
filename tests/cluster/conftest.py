"""Fixtures for the cluster tests: a real ``redis-server`` per test, and emulator nodes (apps
in this process, each with its own worker threads and fake engine) that share it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.engine.fake import FakeEngine
from emulator.jobs.service import ReadService
from emulator.settings import Settings
from tests._redis import RedisServer

KEY = "cluster-key-0123456789"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
ANALYZE = "/vision/v3.2/read/analyze"
BINARY = {"Content-Type": "application/octet-stream"}


@dataclass
class Node:
    """One emulator node: its app, a client for it, and its engine."""

    app: Starlette
    client: httpx.AsyncClient
    engine: FakeEngine

    @property
    def service(self) -> ReadService:
        service: ReadService = self.app.state.service
        return service

    async def submit(self, data: bytes, params: dict[str, str] | None = None) -> str:
        """POST ``data``; assert 202; return the Operation-Location."""
        response = await self.client.post(ANALYZE, params=params, content=data, headers=BINARY)
        assert response.status_code == 202, response.text
        location: str = response.headers["Operation-Location"]
        return location

    async def wait(
        self, location: str, patience: float = 30.0, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Poll ``location`` on this node (as the caller of ``headers``, else the node's
        client's key) until the job is finished (at most ``patience`` seconds); its body."""
        deadline = time.monotonic() + patience
        while True:
            response = await self.client.get(location, headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("succeeded", "failed"):
                return body
            assert time.monotonic() < deadline, f"still {body['status']} after {patience} s"
            await asyncio.sleep(0.02)


MakeNode = Callable[..., Awaitable[Node]]


@pytest.fixture
def redis_server(tmp_path: Path) -> Any:
    """A fresh ``redis-server`` (no persistence) for this test."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """The cluster's encryption key file (32 random bytes)."""
    path = tmp_path / "cluster.key"
    path.write_bytes(os.urandom(32))
    return path


@pytest.fixture
async def make_node(redis_server: RedisServer, key_file: Path) -> AsyncIterator[MakeNode]:
    """``await make_node(engine=None, **settings)``: a node on the test's Redis."""
    stack = contextlib.AsyncExitStack()

    async def make(*, engine: FakeEngine | None = None, **settings: Any) -> Node:
        settings.setdefault("api_keys", (KEY,))
        settings.setdefault("workers", 1)
        settings.setdefault("backend", redis_server.url)
        settings.setdefault("encryption_key_file", key_file)
        settings.setdefault("claim_timeout", timedelta(seconds=30))
        fake = engine or FakeEngine()
        app = create_app(Settings(**settings), engine_factory=lambda _threads: fake)
        app.state.service.store.check()
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://emulator.test",
                headers=HEADERS,
            )
        )
        return Node(app, client, fake)

    yield make
    await stack.aclose()
