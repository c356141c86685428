"""A page's language is detected when the request names none, and a line's own where it
differs from the page's, as the contract describes; measured here on eight languages."""

from __future__ import annotations

from typing import Any

import pytest
from _harness import MakeHarness, ScriptedEngine

PAGES = {
    "en": ["The quarterly report shows that revenue grew", "in every region except the north"],
    "fr": ["Le rapport trimestriel montre que les recettes", "ont augmenté dans chaque région"],
    "de": ["Der Quartalsbericht zeigt, dass der Umsatz", "in jeder Region gewachsen ist"],
    "es": ["El informe trimestral muestra que los ingresos", "crecieron en todas las regiones"],
    "nl": ["Het kwartaalverslag laat zien dat de omzet", "in elke regio is gegroeid"],
    "it": ["La relazione trimestrale mostra che i ricavi", "sono cresciuti in ogni regione"],
    "pl": ["Raport kwartalny pokazuje, że przychody", "wzrosły w każdym regionie kraju"],
    "pt": ["O relatório trimestral mostra que a receita", "cresceu em todas as regiões"],
}


@pytest.mark.parametrize("code", sorted(PAGES))
async def test_each_pages_language_is_detected(
    make_harness: MakeHarness, png: Any, code: str
) -> None:
    h = await make_harness(engine=ScriptedEngine(PAGES[code]))
    operation = await h.submit(png(600, 200))
    h.run()
    page = (await h.get(operation)).json()["analyzeResult"]["readResults"][0]
    assert page["language"] == code
    assert all("language" not in line for line in page["lines"])  # same as the page's


async def test_a_line_in_another_language_says_so(make_harness: MakeHarness, png: Any) -> None:
    lines = [*PAGES["de"], "The quarterly report shows that revenue grew everywhere"]
    h = await make_harness(engine=ScriptedEngine(lines))
    operation = await h.submit(png(600, 200))
    h.run()
    page = (await h.get(operation)).json()["analyzeResult"]["readResults"][0]
    assert page["language"] == "de"
    assert [line.get("language") for line in page["lines"]] == [None, None, "en"]


async def test_short_text_gets_no_guess_and_a_requested_language_is_kept(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(engine=ScriptedEngine(["TOTAL 4711 EUR"]))
    operation = await h.submit(png())
    h.run()
    assert "language" not in (await h.get(operation)).json()["analyzeResult"]["readResults"][0]
    h2 = await make_harness(engine=ScriptedEngine(PAGES["fr"]))
    asked = await h2.submit(png(), {"language": "de"})
    h2.run()
    assert (await h2.get(asked)).json()["analyzeResult"]["readResults"][0]["language"] == "de"


async def test_document_intelligence_languages_feature(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(engine=ScriptedEngine(PAGES["nl"]))
    response = await h.client.post(
        "/documentintelligence/documentModels/prebuilt-read:analyze",
        params={"api-version": "2024-11-30", "features": "languages"},
        content=png(600, 200),
        headers={"Content-Type": "application/octet-stream"},
    )
    h.run()
    result = (await h.client.get(response.headers["Operation-Location"])).json()["analyzeResult"]
    (found,) = result["languages"]
    assert found["locale"] == "nl" and 0.6 <= found["confidence"] <= 1
    covered = "".join(
        result["content"][s["offset"] : s["offset"] + s["length"]] for s in found["spans"]
    )
    assert covered == "".join(PAGES["nl"])
