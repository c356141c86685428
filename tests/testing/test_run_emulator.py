"""``ocr_sdk.testing.run_emulator`` as a plain context manager (for any framework), its
teardown, the lazy import, and the engine pool that loads OCR engines once per process."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from emulator.engine.base import OcrEngine
from emulator.engine.fake import FakeEngine
from emulator.testing.local import _EnginePool
from ocr_sdk import AuthenticationError, NotFoundError, OcrClient
from ocr_sdk.testing import run_emulator


def fake(_threads: int) -> OcrEngine:
    return FakeEngine()


def test_the_context_manager_serves_until_the_block_exits(png: Callable[..., bytes]) -> None:
    with run_emulator(engine_factory=fake, api_key="my-key") as emu:
        assert emu.api_key == "my-key"
        assert not emu.tls
        with emu.client() as client:
            assert client.read(png(200, 100)).text == "PAGE 200x100"
        with OcrClient(emu.endpoint, "wrong-key") as stranger, pytest.raises(AuthenticationError):
            stranger.read(png())
        endpoint = emu.endpoint
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{endpoint}/status")


async def test_tls_and_the_async_client(png: Callable[..., bytes]) -> None:
    with run_emulator(engine_factory=fake, tls=True) as emu:
        assert emu.endpoint.startswith("https://")
        assert emu.ca_path is not None
        ca_path = emu.ca_path
        assert ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        async with emu.async_client() as client:
            assert (await client.read(png(300, 100))).text == "PAGE 300x100"
    # Teardown removed the emulator's files.
    assert not ca_path.exists()
    assert not ca_path.parent.exists()


def test_a_random_key_is_generated_for_each_emulator() -> None:
    with run_emulator(engine_factory=fake) as one, run_emulator(engine_factory=fake) as two:
        assert one.api_key and two.api_key and one.api_key != two.api_key
        assert one.port != two.port


def test_the_free_tier_and_reset_of_its_rate_window(png: Callable[..., bytes]) -> None:
    with run_emulator(engine_factory=fake, tier="free") as emu:
        assert emu.settings.requests_per_minute == 20
        url = f"{emu.endpoint}/vision/v3.2/read/analyze"
        headers = {
            "Ocp-Apim-Subscription-Key": emu.api_key,
            "Content-Type": "application/octet-stream",
        }
        data = png()
        statuses = [httpx.post(url, content=data, headers=headers).status_code for _ in range(21)]
        assert statuses == [202] * 20 + [429]
        emu.reset()
        assert httpx.post(url, content=data, headers=headers).status_code == 202


def test_sdk_testing_names_the_extra_when_the_emulator_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "emulator.testing", None)
    with pytest.raises(ImportError, match=r"pip install 'ocr-sdk\[emulator\]'"), run_emulator():
        pass


def test_importing_ocr_sdk_testing_is_light() -> None:
    code = (
        "import sys, ocr_sdk.testing\n"
        "print(sorted(m for m in ('emulator', 'starlette', 'numpy', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_engine_pool_builds_each_engine_once_per_process() -> None:
    built: list[int] = []

    def build(threads: int) -> OcrEngine:
        built.append(threads)
        return FakeEngine()

    pool = _EnginePool(build)
    with pool.lease() as factory:
        first = factory(2)
    with pool.lease() as factory:
        again = factory(2)
        # Running side by side, a second emulator cannot share the first one's engine.
        with pool.lease() as other:
            separate = other(2)
        different_threads = factory(1)
    assert again is first
    assert separate is not first
    assert different_threads not in (first, separate)
    assert built == [2, 2, 1]


def test_reset_drops_a_job_held_while_running_and_frees_its_worker(
    png: Callable[..., bytes],
) -> None:
    with run_emulator(engine_factory=fake) as emu, emu.client() as client:
        emu.hold_jobs(at="running")
        poller = client.begin_read(png())
        [held] = emu.wait_for_held()
        assert held == poller.operation_id
        emu.reset()
        with pytest.raises(NotFoundError):
            client.get_read_result(held)
        # The one worker is free again, and no hold is left behind.
        assert client.read(png(90, 60)).text == "PAGE 90x60"
        assert emu.service.store.get(held) is None


def test_the_sdk_name_takes_the_same_arguments_as_the_implementation() -> None:
    from emulator import testing as implementation

    def parameters(function: Callable[..., object]) -> list[tuple[str, object, object]]:
        signature = inspect.signature(function)
        return [(p.name, p.kind, p.default) for p in signature.parameters.values()]

    assert parameters(run_emulator) == parameters(implementation.run_emulator)
