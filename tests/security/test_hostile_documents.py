"""A TIFF of tens of thousands of tiny pages (issue #23): a few megabytes that made the upload
check walk every page and the page reader walk from the first page to each page it read, N²/2
steps for N pages. The check now counts only the pages a request can reach, and the reader
walks the file once.

What is read is counted, not timed: the documents here count how often they are opened, the
reads made through their streams and the bytes read, and fail the test as soon as the reads
pass a bound that the old, quadratic code passes many times over (``_Counted``)."""

from __future__ import annotations

import io
import random
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, cast

import httpx
import pytest
from PIL import Image

from emulator.documents.formats import (
    DocumentInfo,
    Limits,
    PageReader,
    inspect,
    iter_pages,
    pages_to_count,
    select_pages,
)
from emulator.documents.streams import SeekableReader
from emulator.engine.fake import FakeEngine
from emulator.errors import ServiceError
from emulator.server import Endpoint, run_in_thread
from emulator.settings import TIER_LIMITS, Settings

PAID = TIER_LIMITS["paid"]
FREE = TIER_LIMITS["free"]
MB = 1024 * 1024


def many_page_tiff(
    pages: int, compression: str = "raw", tags: Mapping[int, Mapping[int, int]] | None = None
) -> bytes:
    """A TIFF of ``pages`` white 50x50 pages that share one page's pixels, about 150 bytes a
    page: one page saved by Pillow, its header (IFD) copied and chained. ``tags`` gives some
    pages (1-based) other values of tags the page has (``{page: {tag: value}}``).

    Pillow's ``save_all`` would write such a file too, but it walks the chain again for every
    page it appends: minutes for 30 000 pages."""
    one = io.BytesIO()
    Image.new("1", (50, 50), 1).save(one, format="TIFF", compression=compression)
    page = one.getvalue()
    assert page[:4] == b"II*\x00"
    (first,) = struct.unpack_from("<I", page, 4)
    (entries,) = struct.unpack_from("<H", page, first)
    ifd_end = first + 2 + 12 * entries
    out = bytearray(page)
    out += bytes(len(out) % 2)
    start = len(out)
    stride = ifd_end - first + 4
    struct.pack_into("<I", out, ifd_end, start if pages > 1 else 0)
    for index in range(1, pages):
        following = start + index * stride if index < pages - 1 else 0
        out += page[first:ifd_end] + struct.pack("<I", following)
    for number, values in (tags or {}).items():
        ifd = first if number == 1 else start + (number - 2) * stride
        for entry in range(entries):
            at = ifd + 2 + 12 * entry
            tag, kind = struct.unpack_from("<HH", out, at)
            if tag in values:  # a single SHORT or LONG, held in the entry
                struct.pack_into("<H" if kind == 3 else "<I", out, at + 8, values[tag])
    return bytes(out)


def sized(width: int, height: int) -> dict[int, int]:
    """The tags of a page ``width`` x ``height`` pixels (ImageWidth, ImageLength)."""
    return {256: width, 257: height}


class ReadTooMuchError(AssertionError):
    """More was read of a document than the test allows."""


class _Counted:
    """A document (an :class:`emulator.documents.formats.DocumentSource`) that counts how often
    it is opened, the reads made through its streams and the bytes they return, and raises
    :class:`ReadTooMuchError` the moment the bytes pass ``budget`` or the reads pass
    ``reads``. Its streams have no ``getvalue`` (like a sealed document's), so nothing
    reaches the document but through them."""

    def __init__(self, data: bytes, budget: int, reads: int | None = None) -> None:
        self.data = data
        self.budget = budget
        self.read_budget = reads
        self.opens = 0
        self.reads = 0
        self.bytes_read = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def open(self) -> IO[bytes]:
        self.opens += 1
        return cast("IO[bytes]", _CountingStream(self))


class _CountingStream(SeekableReader):
    def __init__(self, owner: _Counted) -> None:
        super().__init__()
        self._owner = owner

    @property
    def size(self) -> int:
        return self._owner.size

    def readinto(self, buffer: Any) -> int:
        data = self._owner.data[self._position : self._position + len(buffer)]
        memoryview(buffer).cast("B")[: len(data)] = data
        self._position += len(data)
        owner = self._owner
        owner.reads += 1
        owner.bytes_read += len(data)
        if owner.bytes_read > owner.budget:
            raise ReadTooMuchError(f"read {owner.bytes_read} bytes, more than {owner.budget}")
        if owner.read_budget is not None and owner.reads > owner.read_budget:
            raise ReadTooMuchError(f"{owner.reads} reads, more than {owner.read_budget}")
        return len(data)


@pytest.fixture(scope="module")
def tiff_30000() -> bytes:
    return many_page_tiff(30_000)


def test_the_document_is_what_the_issue_describes(tiff_30000: bytes) -> None:
    assert len(tiff_30000) < 5 * MB
    with Image.open(io.BytesIO(tiff_30000)) as img:  # Pillow reads it as 30 000 pages
        img.seek(29_999)
        assert img.size == (50, 50)
        assert getattr(img, "n_frames", 1) == 30_000


def test_the_upload_check_counts_only_the_pages_the_tier_reads(tiff_30000: bytes) -> None:
    # The old check walked all 30 000 headers twice: 900 000 reads, 9 MB of a 3 MB file.
    # Walking 2000 headers once is about 40 000 reads, 0.4 MB.
    document = _Counted(tiff_30000, budget=len(tiff_30000) // 4, reads=200_000)
    assert inspect(document, PAID) == DocumentInfo("tiff", PAID.max_pages)
    assert document.bytes_read < len(tiff_30000) // 4

    free = _Counted(tiff_30000, budget=64 * 1024)
    assert inspect(free, FREE) == DocumentInfo("tiff", FREE.max_pages)


def test_ranges_that_reach_further_are_counted_as_far_as_they_reach() -> None:
    data = many_page_tiff(5000)  # more pages than the paid tier reads

    def pages(ranges: list[str]) -> list[int]:
        count_to = pages_to_count(ranges, PAID)
        info = inspect(data, PAID, count_to=count_to)
        return select_pages(ranges, info.page_count, PAID)

    assert pages([]) == list(range(1, 2001))
    assert pages(["4990-"]) == list(range(4990, 5001))
    assert pages(["2500"]) == [2500]
    assert pages(["1", "3001-"]) == [1, *range(3001, 5000)]
    with pytest.raises(ServiceError) as refused:
        pages(["5001"])
    assert refused.value.code == "InvalidPageRange"
    assert "5000 page(s)" in refused.value.message


def _resolved(ranges: Sequence[str], page_count: int, limits: Limits) -> list[int] | str:
    try:
        return select_pages(ranges, page_count, limits)
    except ServiceError as error:
        return f"{error.code}: {error.message}"


def test_counting_as_far_as_the_ranges_reach_resolves_them_as_a_full_count_would() -> None:
    """For any ranges and document, counting the pages only up to ``pages_to_count`` (what
    ``inspect`` reports then) selects the same pages, or refuses with the same error, as
    knowing every page."""
    rng = random.Random(23)
    limits = Limits(max_pages=7)
    shapes = ["{a}", "{a}-{b}", "{a}-", "-{b}", "0", "x", "{b}-{a}", "-0", "9" * 30]
    for _ in range(3000):
        ranges = [
            rng.choice(shapes).format(a=rng.randint(1, 60), b=rng.randint(1, 60))
            for _ in range(rng.randint(0, 4))
        ]
        page_count = rng.randint(1, 60)
        counted = min(page_count, pages_to_count(ranges, limits))
        assert _resolved(ranges, counted, limits) == _resolved(ranges, page_count, limits), (
            ranges,
            page_count,
        )


def test_sizes_are_still_checked_on_every_page_that_can_be_read() -> None:
    bad_early = many_page_tiff(3000, tags={1500: sized(40, 40)})
    with pytest.raises(ServiceError) as refused:
        inspect(bad_early, PAID)
    assert refused.value.code == "InvalidImageDimension"

    bad_late = many_page_tiff(3000, tags={2500: sized(40, 40)})
    # Beyond the 2000 pages a request without ranges reads: not read, so not checked ...
    assert inspect(bad_late, PAID) == DocumentInfo("tiff", 2000)
    # ... but checked when the request's ranges reach it.
    with pytest.raises(ServiceError) as reached:
        inspect(bad_late, PAID, count_to=pages_to_count(["2400-2600"], PAID))
    assert reached.value.code == "InvalidImageDimension"


def test_reading_2000_pages_opens_the_file_once_and_walks_it_once(tiff_30000: bytes) -> None:
    # The old reader opened the file for each page and walked from the first header to it:
    # 2 million headers of about ten reads each (its first 300 pages take 460 000 reads). One
    # walk makes about 30 reads a page (and Pillow reads a 64 KB block for each page's pixels,
    # old and new alike, so bytes tell less here).
    document = _Counted(tiff_30000, budget=1024 * MB, reads=100 * PAID.max_pages)
    info = DocumentInfo("tiff", PAID.max_pages)
    wanted = range(1, PAID.max_pages + 1)
    numbers = []
    for page in iter_pages(document, info, wanted):
        assert page.image.mode == "RGB" and page.image.size == (50, 50)
        numbers.append(page.number)
    assert numbers == list(wanted)
    assert document.opens == 1


def test_compressed_pages_read_the_document_once() -> None:
    # libtiff is handed the whole file for each compressed page; from a stream without
    # getvalue, Pillow used to read it all again for every page.
    data = many_page_tiff(3000, compression="group4")
    document = _Counted(data, budget=4 * len(data))
    info = DocumentInfo("tiff", 3000)
    pages = list(iter_pages(document, info, range(1, 501)))
    assert [page.number for page in pages] == list(range(1, 501))
    assert {page.image.size for page in pages} == {(50, 50)}
    assert pages[0].image.getpixel((25, 25)) == (255, 255, 255)


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_deflate", "jpeg", "raw"])
def test_each_compressed_page_is_its_own(compression: str) -> None:
    """libtiff is shown each page as the file's only one: every page still decodes as
    itself, in order or not."""
    colours = [(40 * n, 255 - 40 * n, 20 * n) for n in range(6)]
    frames = [Image.new("RGB", (60 + n, 70), colour) for n, colour in enumerate(colours)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="TIFF", save_all=True, append_images=frames[1:], compression=compression
    )
    document = _Counted(buffer.getvalue(), budget=16 * MB)
    info = inspect(document, PAID)
    assert info == DocumentInfo("tiff", 6)
    order = [1, 2, 3, 4, 5, 6, 2, 6, 5]
    with PageReader(document, info) as reader:
        drawn = [reader.page(number) for number in order]
    assert [page.image.size for page in drawn] == [(59 + number, 70) for number in order]
    for page in drawn:
        pixel = page.image.getpixel((30, 30))
        assert isinstance(pixel, tuple)
        expected = colours[page.number - 1]
        assert max(abs(a - b) for a, b in zip(pixel, expected, strict=True)) <= 3, page.number


def test_a_reader_draws_pages_in_any_order() -> None:
    frames = [Image.new("RGB", (60 + 10 * index, 80), "white") for index in range(6)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    document = _Counted(buffer.getvalue(), budget=16 * MB)
    order = [2, 5, 6, 1, 4, 4, 3]
    with PageReader(document, DocumentInfo("tiff", 6)) as reader:
        drawn = [reader.page(number) for number in order]
    assert [page.number for page in drawn] == order
    assert [page.width for page in drawn] == [50.0 + 10 * number for number in order]
    # Forward steps reuse the open file; a step back (to 1, to 4 again, to 3) reopens it.
    assert document.opens == 4


def test_a_corrupt_page_deep_in_the_file_is_a_format_error() -> None:
    # Page 1234's pixels lie past the end of the file: its header reads, its pixels do not.
    data = many_page_tiff(3000)
    corrupt = many_page_tiff(3000, tags={1234: {273: len(data) + 10}})  # StripOffsets
    assert inspect(corrupt, PAID) == DocumentInfo("tiff", 2000)
    info = DocumentInfo("tiff", 2000)
    numbers = []
    with pytest.raises(ServiceError) as refused:
        for page in iter_pages(_Counted(corrupt, budget=16 * MB), info, range(1230, 1240)):
            numbers.append(page.number)
    assert refused.value.code == "InvalidImageFormat"
    assert "Page 1234" in refused.value.message
    assert numbers == [1230, 1231, 1232, 1233]


# --- through the service -----------------------------------------------------------------------

KEY = "hostile-documents-key-0123"


@pytest.fixture(scope="module")
def free() -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1, tier="free")
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _read_pages(endpoint: Endpoint, data: bytes, pages: str | None) -> httpx.Response | list[int]:
    """Submit ``data`` to Read v3.2 with ``pages``; the refusal, or the pages read."""
    headers = {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/octet-stream"}
    params = {"pages": pages} if pages else {}
    with httpx.Client(base_url=endpoint.url, headers=headers, timeout=60) as client:
        submitted = client.post("/vision/v3.2/read/analyze", params=params, content=data)
        if submitted.status_code != 202:
            return submitted
        location = submitted.headers["Operation-Location"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = client.get(location).json()
            if body["status"] in ("succeeded", "failed"):
                assert body["status"] == "succeeded", body
                return [page["page"] for page in body["analyzeResult"]["readResults"]]
            time.sleep(0.2)
    raise AssertionError("the job did not finish")


def test_the_service_reads_what_the_ranges_select_on_a_tiff_over_the_page_limit(
    free: Endpoint,
) -> None:
    data = many_page_tiff(3000)
    assert _read_pages(free, data, None) == [1, 2]  # the free tier reads the first two
    assert _read_pages(free, data, "2999-") == [2999, 3000]
    assert _read_pages(free, data, "1500,2998-") == [1500, 2998]
    refused = _read_pages(free, data, "3001")
    assert isinstance(refused, httpx.Response) and refused.status_code == 400
    error = refused.json()  # Read v3.2's {"code", "message"}
    assert error["code"] == "InvalidPageRange" and "3000 page(s)" in error["message"]
