"""Shared fixtures: contract examples, a fake clock, and clients of both kinds.

Every client test runs twice, once with ``OcrClient`` and once with ``AsyncOcrClient``,
through :func:`resolve`, which awaits what the async client returns and passes the sync
client's values through. Both share one :class:`FakeClock`, so waits are recorded, never
slept, and timeouts are deterministic.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ocr_sdk import AsyncOcrClient, OcrClient

#: ``../shared/contract`` relative to the repository root, so a fresh clone beside
#: ``shared/`` finds it too.
CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "contract"
EXAMPLES = CONTRACT / "examples"

ENDPOINT = "https://ocr.example.com"
BASE = f"{ENDPOINT}/vision/v3.2"
ANALYZE_URL = f"{BASE}/read/analyze"
KEY = "s3cr3t-k3y-0123456789abcdef"
OPERATION_ID = "e56ffa6e-1ee4-4042-bc07-993db706c95f"
RESULT_URL = f"{BASE}/read/analyzeResults/{OPERATION_ID}"
OPERATION_LOCATION = RESULT_URL


def load_example(name: str) -> dict[str, Any]:
    """One ``x-ms-examples`` file of the contract."""
    with (EXAMPLES / name).open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data


def succeeded_body() -> dict[str, Any]:
    """The 200 body of ``SuccessfulGetReadResult.json``."""
    body: dict[str, Any] = load_example("SuccessfulGetReadResult.json")["responses"]["200"]["body"]
    return body


async def resolve(value: Any) -> Any:
    """Await coroutines from the async client; pass sync results through."""
    if inspect.iscoroutine(value):
        return await value
    return value


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_client(
    kind: str, clock: FakeClock
) -> AsyncIterator[Callable[..., OcrClient | AsyncOcrClient]]:
    """Factory for a client of the parametrised kind, on the fake clock; closed afterwards."""
    made: list[OcrClient | AsyncOcrClient] = []

    def make(
        endpoint: str | None = ENDPOINT, api_key: str | None = KEY, **kwargs: Any
    ) -> OcrClient | AsyncOcrClient:
        client: OcrClient | AsyncOcrClient
        if kind == "sync":
            client = OcrClient(endpoint, api_key, sleep=clock.sleep, **kwargs)
        else:
            client = AsyncOcrClient(endpoint, api_key, sleep=clock.async_sleep, **kwargs)
        client._clock = clock.monotonic
        made.append(client)
        return client

    yield make
    for client in made:
        await resolve(client.close())


@pytest.fixture
def example_body() -> dict[str, Any]:
    return succeeded_body()
