"""The billing meter: one transaction per page analysed, billed to the key that submitted the
document once its operation succeeds; nothing for refused requests or failed operations."""

from __future__ import annotations

from typing import Any

from _harness import ANALYZE, BINARY, KEY, MakeHarness

from emulator.store import SqliteStore
from emulator.store.base import Usage

OTHER_KEY = "second-key-9876543210"
METER = "CognitiveServices.ComputerVision.Transaction"


def billed(report: dict[str, Any], number: int) -> tuple[int, int]:
    entry = report["keys"][number - 1]
    return entry["transactions"], entry["operations"]


async def test_a_three_page_document_bills_three_transactions_to_its_key(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness(api_keys=(KEY, OTHER_KEY))
    operation = await h.submit(multipage_tiff(3))
    running = await h.get(operation)
    assert "csp-billing-usage" not in running.headers  # nothing billed before it is read
    h.run()
    done = await h.get(operation)
    assert done.headers["csp-billing-usage"] == f"{METER}=3"
    again = await h.get(operation)  # what the operation billed, not a second charge
    assert again.headers["csp-billing-usage"] == f"{METER}=3"

    report = (await h.client.get("/_emulator/usage")).json()
    assert report["meter"] == METER
    assert report["keys"] == [
        {"key": 1, "endsWith": KEY[-4:], "caller": True, "transactions": 3, "operations": 1},
        {"key": 2, "endsWith": OTHER_KEY[-4:], "caller": False, "transactions": 0, "operations": 0},
    ]
    assert report["total"] == {"transactions": 3, "operations": 1}


async def test_each_key_has_its_own_meter_and_pages_selects_what_is_billed(
    make_harness: MakeHarness, multipage_tiff: Any, png: Any
) -> None:
    h = await make_harness(api_keys=(KEY, OTHER_KEY))
    await h.submit(multipage_tiff(5), {"pages": "2-3"})
    response = await h.client.post(
        ANALYZE, content=png(), headers={**BINARY, "Ocp-Apim-Subscription-Key": OTHER_KEY}
    )
    assert response.status_code == 202
    h.run()
    report = (await h.client.get("/_emulator/usage")).json()
    assert billed(report, 1) == (2, 1)
    assert billed(report, 2) == (1, 1)
    assert report["total"] == {"transactions": 3, "operations": 2}


async def test_the_free_tier_bills_the_two_pages_it_reads(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness(tier="free")
    operation = await h.submit(multipage_tiff(5))
    h.run()
    body = (await h.get(operation)).json()
    assert len(body["analyzeResult"]["readResults"]) == 2
    assert billed((await h.client.get("/_emulator/usage")).json(), 1) == (2, 1)


async def test_refused_requests_and_failed_operations_bill_nothing(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    bad = await h.client.post(ANALYZE, content=b"not an image", headers=BINARY)
    assert bad.status_code == 400
    h.service.control.fail_next(1)
    failed = await h.submit(png())
    h.run()
    response = await h.get(failed)
    assert response.json()["status"] == "failed"
    assert "csp-billing-usage" not in response.headers
    assert (await h.client.get("/_emulator/usage")).json()["total"] == {
        "transactions": 0,
        "operations": 0,
    }


async def test_document_intelligence_bills_per_page_on_the_same_meter(
    make_harness: MakeHarness, multipage_tiff: Any
) -> None:
    h = await make_harness()
    response = await h.client.post(
        "/documentintelligence/documentModels/prebuilt-read:analyze",
        params={"api-version": "2024-11-30"},
        content=multipage_tiff(2),
        headers=BINARY,
    )
    assert response.status_code == 202
    h.run()
    assert billed((await h.client.get("/_emulator/usage")).json(), 1) == (2, 1)


async def test_the_meter_needs_a_key_and_clear_sets_it_to_zero(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    await h.submit(png())
    h.run()
    bare = await h.client.get("/_emulator/usage", headers={"Ocp-Apim-Subscription-Key": ""})
    assert bare.status_code == 401
    assert billed((await h.client.get("/_emulator/usage")).json(), 1) == (1, 1)
    h.service.clear()
    assert billed((await h.client.get("/_emulator/usage")).json(), 1) == (0, 0)


async def test_a_persistent_store_keeps_the_meter_without_the_key(
    make_harness: MakeHarness, png: Any, tmp_path: Any
) -> None:
    h = await make_harness(data_dir=tmp_path)
    operation = await h.submit(png())
    h.run()
    assert (await h.get(operation)).json()["status"] == "succeeded"
    store = h.service.store
    assert isinstance(store, SqliteStore)
    assert list(store.usage().values()) == [Usage(1, 1)]
    assert KEY.encode() not in store.path.read_bytes()
    again = SqliteStore(store.cipher, tmp_path)  # the meter survives a restart
    try:
        assert list(again.usage().values()) == [Usage(1, 1)]
    finally:
        again.close()
