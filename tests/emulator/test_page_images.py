"""Page images (the emulator's own, for the try-it page): asked for with
``x-ms-emulator-page-images: true``, each page read is kept as a PNG, sealed with its result,
served to the caller that submitted it, and gone with the result (DELETE, retention); without
the header nothing is kept. A running operation tells how many pages are done."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _harness import ANALYZE, BINARY, KEY, RESULTS, Harness, MakeHarness, assert_error
from PIL import Image

from emulator.engine.base import PageText
from emulator.engine.fake import FakeEngine
from emulator.jobs.service import PAGE_IMAGES_HEADER, PAGES_DONE_HEADER
from emulator.pages.records import page_image_file
from emulator.store import DB_FILE_NAME
from tests._redis import RedisServer

OTHER_KEY = "other-key-9876543210"
ASK = {**BINARY, PAGE_IMAGES_HEADER: "true"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _tiff(*sizes: tuple[int, int]) -> bytes:
    frames = [Image.new("RGB", size, "white") for size in sizes]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


async def _submit(h: Harness, data: bytes, headers: dict[str, str] = ASK) -> str:
    response = await h.client.post(ANALYZE, content=data, headers=headers)
    assert response.status_code == 202, response.text
    return response.headers["Operation-Location"].rsplit("/", 1)[-1]


def _image_path(operation_id: str, page: int) -> str:
    return f"{RESULTS}/{operation_id}/pages/{page}/image"


async def _image(h: Harness, operation_id: str, page: int) -> httpx.Response:
    return await h.client.get(_image_path(operation_id, page))


def _png_size(response: httpx.Response) -> tuple[int, int]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(response.content)) as image:
        image.load()
        return image.size


async def test_each_page_of_a_pdf_is_a_png_of_the_pages_shape(
    make_harness: MakeHarness, pdf: Any
) -> None:
    h = await make_harness()
    operation_id = await _submit(h, pdf(2))
    h.run()
    pages = (await h.get(operation_id)).json()["analyzeResult"]["readResults"]
    assert [(p["width"], p["height"], p["unit"]) for p in pages] == [(8.5, 11, "inch")] * 2
    for number in (1, 2):
        width, height = _png_size(await _image(h, operation_id, number))
        # Drawn at 200 dpi (1700 x 2200) and scaled down to 1600 px on the longer side.
        assert max(width, height) == 1600
        assert width / height == pytest.approx(8.5 / 11, rel=0.005)


async def test_a_multipage_tiff_and_an_image_keep_each_pages_own_size(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    tiff = await _submit(h, _tiff((300, 200), (180, 240)))
    single = await _submit(h, png(2400, 600))
    h.run()
    assert _png_size(await _image(h, tiff, 1)) == (300, 200)
    assert _png_size(await _image(h, tiff, 2)) == (180, 240)
    # A large page is scaled down to 1600 px, its shape kept.
    assert _png_size(await _image(h, single, 1)) == (1600, 400)
    assert (await _image(h, tiff, 3)).status_code == 404
    assert (await _image(h, tiff, 0)).status_code == 404


async def test_only_the_pages_read_have_images(make_harness: MakeHarness, pdf: Any) -> None:
    h = await make_harness()
    response = await h.client.post(ANALYZE, params={"pages": "2"}, content=pdf(3), headers=ASK)
    operation_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
    h.run()
    assert (await _image(h, operation_id, 2)).status_code == 200
    for page in (1, 3):
        missing = await _image(h, operation_id, page)
        assert missing.status_code == 404
        assert f"no page {page}" in missing.json()["message"]


async def test_without_the_header_nothing_is_kept_and_the_route_is_404(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    h = await make_harness()
    operation_id = await _submit(h, png(), headers=BINARY)
    h.run()
    assert (await h.get(operation_id)).json()["status"] == "succeeded"
    assert h.service.store.read_file(operation_id, page_image_file(1)) is None
    body = assert_error(await _image(h, operation_id, 1), 404, "NotFound", validate)
    assert PAGE_IMAGES_HEADER in body["message"]
    # Any other value of the header asks for nothing either.
    other = await _submit(h, png(), headers={**BINARY, PAGE_IMAGES_HEADER: "yes"})
    h.run()
    assert (await _image(h, other, 1)).status_code == 404


async def test_images_need_the_key_and_are_the_submitting_callers_only(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    h = await make_harness(api_keys=(KEY, OTHER_KEY))
    operation_id = await _submit(h, png())
    h.run()
    path = _image_path(operation_id, 1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app), base_url="http://emulator.test"
    ) as bare:
        refused = await bare.get(path)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "401"
        assert (
            await bare.get(path, headers={"Ocp-Apim-Subscription-Key": "wrong"})
        ).status_code == 401
        other = await bare.get(path, headers={"Ocp-Apim-Subscription-Key": OTHER_KEY})
    # Another key learns no more than for an operation that does not exist.
    unknown = await _image(h, "0c0c0c0c-0000-4000-8000-000000000000", 1)
    assert (
        assert_error(other, 404, "NotFound", validate)["message"]
        == (assert_error(unknown, 404, "NotFound", validate)["message"])
    )
    assert (await _image(h, operation_id, 1)).status_code == 200
    assert (await _image(h, "not-an-id", 1)).status_code == 400


async def test_images_are_served_only_once_the_operation_succeeded(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    operation_id = await _submit(h, png())
    waiting = await _image(h, operation_id, 1)
    assert waiting.status_code == 404
    assert "succeeded" in waiting.json()["message"]
    h.run()
    assert (await _image(h, operation_id, 1)).status_code == 200


async def test_images_are_deleted_with_the_result(
    make_harness: MakeHarness, png: Any, clock: Any
) -> None:
    h = await make_harness(retention=timedelta(minutes=30))
    deleted = await _submit(h, png())
    expiring = await _submit(h, png())
    h.run()
    assert (await _image(h, deleted, 1)).status_code == 200
    assert (await h.client.delete(f"{RESULTS}/{deleted}")).status_code == 204
    assert (await _image(h, deleted, 1)).status_code == 404
    assert h.service.store.read_file(deleted, page_image_file(1)) is None

    clock.advance(timedelta(minutes=29))
    assert h.service.sweep() == 0
    assert (await _image(h, expiring, 1)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert h.service.sweep() == 1
    assert (await _image(h, expiring, 1)).status_code == 404
    assert h.service.store.read_file(expiring, page_image_file(1)) is None


async def test_with_retention_zero_the_job_goes_once_its_last_image_is_read(
    make_harness: MakeHarness, pdf: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emulator.jobs")
    h = await make_harness(retention=timedelta(0))
    operation_id = await _submit(h, pdf(2))
    h.run()
    assert (await h.get(operation_id)).json()["status"] == "succeeded"  # kept for its images
    assert (await _image(h, operation_id, 1)).status_code == 200
    assert h.service.store.get(operation_id) is not None
    assert (await _image(h, operation_id, 2)).status_code == 200
    assert h.service.store.get(operation_id) is None
    assert (await _image(h, operation_id, 1)).status_code == 404
    # Gone like any deleted job: its state change is logged.
    states = [getattr(r, "state", None) for r in caplog.records if operation_id in r.getMessage()]
    assert states[-1] == "deleted"


async def test_images_are_sealed_at_rest(
    make_harness: MakeHarness, png: Any, tmp_path: Path
) -> None:
    h = await make_harness(data_dir=tmp_path)
    # Stripes, so the PNG's compressed data is long enough to look for.
    page = Image.new("RGB", (900, 300), "white")
    for x in range(0, 900, 7):
        page.paste((x % 256, 40, 200), (x, 0, x + 3, 300))
    out = io.BytesIO()
    page.save(out, "PNG")
    operation_id = await _submit(h, out.getvalue())
    h.run()
    served = (await _image(h, operation_id, 1)).content
    assert len(served) > 1000
    store_bytes = (tmp_path / DB_FILE_NAME).read_bytes()
    for start in (0, len(served) // 2, len(served) - 64):
        assert served[start : start + 48] not in store_bytes
    # ... and it is there, sealed: the store holds it for the job.
    assert h.service.store.read_file(operation_id, page_image_file(1)) == served


class _SecondPageWaits(FakeEngine):
    """Reads the first page at once; holds the second until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.go = threading.Event()

    def recognize(self, image: Any, **options: Any) -> PageText:
        if self.calls == 1:
            self.reached.set()
            self.go.wait(30)
        return super().recognize(image, **options)


async def test_a_running_operation_tells_how_many_pages_are_done(
    make_harness: MakeHarness, pdf: Any
) -> None:
    engine = _SecondPageWaits()
    h = await make_harness(engine=engine, cors_origins=("https://app.example",))
    operation_id = await _submit(h, pdf(2))
    waiting = await h.get(operation_id)
    assert waiting.json()["status"] == "notStarted"
    assert waiting.headers[PAGES_DONE_HEADER] == "0/2"
    running = asyncio.create_task(asyncio.to_thread(h.run))
    try:
        assert await asyncio.to_thread(engine.reached.wait, 30)
        halfway = await h.client.get(
            f"{RESULTS}/{operation_id}", headers={"Origin": "https://app.example"}
        )
        assert halfway.json()["status"] == "running"
        assert halfway.headers[PAGES_DONE_HEADER] == "1/2"
        # A page on another origin may read it too.
        exposed = halfway.headers["access-control-expose-headers"].lower()
        assert PAGES_DONE_HEADER in exposed
    finally:
        engine.go.set()
        await running
    done = await h.get(operation_id)
    assert done.json()["status"] == "succeeded"
    assert PAGES_DONE_HEADER not in done.headers


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` (skipped without one), stopped after the app that uses it."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_images_are_kept_in_a_clusters_redis_store(
    redis_server: RedisServer, make_harness: MakeHarness, pdf: Any, tmp_path: Path
) -> None:
    key_file = tmp_path / "cluster.key"
    key_file.write_bytes(bytes(range(32)))
    h = await make_harness(
        manual=False,
        backend=redis_server.url,
        encryption_key_file=key_file,
        claim_timeout=timedelta(seconds=30),
    )
    operation_id = await _submit(h, pdf(2))
    for _ in range(600):
        body = (await h.get(operation_id)).json()
        if body["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert body["status"] == "succeeded"
    sizes = [_png_size(await _image(h, operation_id, page)) for page in (1, 2)]
    assert sizes == [(1236, 1600)] * 2
    # Sealed there too: no stored value holds the PNG's bytes.
    served = (await _image(h, operation_id, 1)).content
    client = redis_server.client()
    values = [client.dump(key) or b"" for key in client.keys("*")]
    assert all(served[:48] not in value for value in values)
    assert (await h.client.delete(f"{RESULTS}/{operation_id}")).status_code == 204
    assert (await _image(h, operation_id, 1)).status_code == 404
    assert not [key for key in client.keys("*") if operation_id.encode() in key]
    client.close()
