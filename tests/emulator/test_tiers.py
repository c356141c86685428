"""Tier limits: the free tier's 4 MB, first two pages and 20 requests a minute."""

from __future__ import annotations

from typing import Any

from _harness import ANALYZE, BINARY, MakeHarness, assert_error


async def test_free_tier_reads_only_the_first_two_pages(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness(tier="free")
    operation_id = await h.submit(multipage_tiff(4))
    h.run()
    body = (await h.get(operation_id)).json()
    assert [p["page"] for p in body["analyzeResult"]["readResults"]] == [1, 2]


async def test_free_tier_refuses_documents_over_4_mb(
    make_harness: MakeHarness, validate: Any
) -> None:
    h = await make_harness(tier="free")
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (4 * 1024 * 1024)
    assert_error(
        await h.client.post(ANALYZE, content=big, headers=BINARY), 400, "InvalidImageSize", validate
    )

    async def chunks() -> Any:
        for _ in range(5):
            yield b"\x00" * (1024 * 1024)

    # Chunked, no Content-Length: the cap is enforced while reading.
    chunked = await h.client.post(ANALYZE, content=chunks(), headers=BINARY)
    assert_error(chunked, 400, "InvalidImageSize", validate)


async def test_free_tier_rate_limit(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(tier="free")
    document = png()
    for _ in range(20):
        assert (await h.client.post(ANALYZE, content=document, headers=BINARY)).status_code == 202
    limited = await h.client.post(ANALYZE, content=document, headers=BINARY)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "429"
    assert "Rate limit is exceeded" in limited.json()["error"]["message"]
    # Polling is not a transaction: reads still work.
    assert (await h.client.get("/status")).status_code == 200


def test_sliding_window() -> None:
    from emulator.http.middleware.rate_limit import SlidingWindow

    now = [0.0]
    window = SlidingWindow(2, 60.0, monotonic=lambda: now[0])
    assert window.acquire() is None
    now[0] = 10.0
    assert window.acquire() is None
    assert window.acquire() == 50.0
    now[0] = 60.0
    assert window.acquire() is None
    assert window.acquire() == 10.0


async def test_paid_tier_has_no_rate_limit(h: Any, png: Any) -> None:
    document = png()
    for _ in range(25):
        assert (await h.client.post(ANALYZE, content=document, headers=BINARY)).status_code == 202
