"""``read_many`` against the real emulator (the ``ocr_emulator`` fixture): real uploads,
real job queue, a corrupt document among good ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.testing import RunningEmulator
from ocr_sdk import InvalidRequestError, OperationFailedError


@pytest.fixture(autouse=True)
def _clean(ocr_emulator: RunningEmulator) -> Iterator[None]:
    yield
    ocr_emulator.reset()


@pytest.fixture
def documents(tmp_path: Path, png: Callable[..., bytes]) -> list[Path]:
    paths = []
    for number, width in enumerate((120, 140, 160)):
        path = tmp_path / f"page-{number}.png"
        path.write_bytes(png(width, 60))
        paths.append(path)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    paths.insert(1, corrupt)
    return paths


def test_sync_read_many_reads_the_good_and_reports_the_corrupt(
    ocr_emulator: RunningEmulator, documents: list[Path]
) -> None:
    with ocr_emulator.client() as client:
        items = list(client.read_many(documents, concurrency=3))
    assert sorted(item.index for item in items) == [0, 1, 2, 3]
    by_name = {Path(item.document).name: item for item in items}
    failed = by_name.pop("corrupt.png")
    assert isinstance(failed.error, InvalidRequestError)
    assert failed.error.code == "InvalidImageFormat"
    for name, item in by_name.items():
        assert item.ok, name
        page = item.unwrap().pages[0]
        assert page.height == 60
        assert page.width == {"page-0.png": 120, "page-1.png": 140, "page-2.png": 160}[name]


async def test_async_read_many_and_a_job_that_fails(
    ocr_emulator: RunningEmulator, documents: list[Path]
) -> None:
    good = [path for path in documents if path.name != "corrupt.png"]
    ocr_emulator.fail_next_job()
    async with ocr_emulator.async_client() as client:
        items = [item async for item in client.read_many(good, concurrency=1)]
    assert [item.index for item in items] == [0, 1, 2]  # one at a time: input order
    assert isinstance(items[0].error, OperationFailedError)
    assert [item.ok for item in items] == [False, True, True]
    assert [item.unwrap().pages[0].width for item in items[1:]] == [140, 160]
