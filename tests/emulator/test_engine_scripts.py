"""Printed Russian, Greek, Korean, Arabic and Hindi pages, drawn here, read by the real
engine: with the language named in the request and with none (the script is then guessed).

The script models are Debian's ``tesseract-ocr-<lang>`` packages and the fonts Debian's
``fonts-dejavu-core``, ``fonts-nanum`` and ``fonts-noto-core``; ``.ci/run`` installs them and
sets ``OCR_TESTS_REQUIRE_SCRIPTS``, so there a missing one fails these tests instead of
skipping them.
"""

# ruff: noqa: RUF001 (Greek and Cyrillic letters that look Latin are the point)
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from _harness import MakeHarness
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from emulator.engine import scripts
from emulator.engine.base import PageText
from emulator.engine.rapid import RapidOcrEngine

FONTS = Path("/usr/share/fonts/truetype")


@dataclass(frozen=True)
class Page:
    language: str
    model: str
    font: Path
    lines: tuple[str, ...]
    right_to_left: bool = False


PAGES = {
    "ru": Page(
        "ru",
        "rus",
        FONTS / "dejavu/DejaVuSerif.ttf",
        (
            "Счёт на оплату выставлен пятого марта",
            "Сумма к оплате составляет двести рублей",
            "Просим перевести деньги до конца недели",
        ),
    ),
    "el": Page(
        "el",
        "ell",
        FONTS / "dejavu/DejaVuSerif.ttf",
        (
            "Το τιμολόγιο εκδόθηκε στις πέντε Μαρτίου",
            "Το ποσό πληρωμής είναι διακόσια ευρώ",
            "Παρακαλούμε πληρώστε έως το τέλος της εβδομάδας",
        ),
    ),
    "ko": Page(
        "ko",
        "kor",
        FONTS / "nanum/NanumMyeongjo.ttf",
        (
            "청구서는 삼월 오일에 발행되었습니다",
            "결제 금액은 이백 유로입니다",
            "이번 주말까지 입금해 주시기 바랍니다",
        ),
    ),
    "ar": Page(
        "ar",
        "ara",
        FONTS / "noto/NotoNaskhArabic-Regular.ttf",
        (
            "صدرت الفاتورة في الخامس من مارس",
            "المبلغ المستحق مائتا يورو فقط",
            "يرجى الدفع قبل نهاية الأسبوع",
        ),
        right_to_left=True,
    ),
    "hi": Page(
        "hi",
        "hin",
        FONTS / "noto/NotoSansDevanagari-Regular.ttf",
        (
            "बिल पाँच मार्च को जारी किया गया था",
            "भुगतान की राशि दो सौ यूरो है",
            "कृपया सप्ताह के अंत तक भुगतान करें",
        ),
    ),
}


def require(page: Page) -> None:
    """Skip (or, under ``.ci/run``, fail) when the page's font or script model is missing."""
    missing = []
    if not page.font.is_file():
        missing.append(str(page.font))
    if page.model not in scripts.installed_models():
        missing.append(f"tesseract-ocr-{page.model}")
    if scripts.LATIN_MODEL not in scripts.installed_models():
        missing.append("tesseract-ocr-eng")
    if missing:
        message = "not installed: " + ", ".join(missing)
        if os.environ.get("OCR_TESTS_REQUIRE_SCRIPTS"):
            pytest.fail(message)
        pytest.skip(message)


def draw(page: Page, size: int = 34) -> Image.Image:
    font = ImageFont.truetype(str(page.font), size)
    image = Image.new("RGB", (1100, 90 + 80 * len(page.lines)), "white")
    pen = ImageDraw.Draw(image)
    for index, line in enumerate(page.lines):
        y = 50 + index * 80
        if page.right_to_left:
            pen.text((1050, y), line, fill="black", font=font, anchor="ra", direction="rtl")
        else:
            pen.text((50, y), line, fill="black", font=font)
    return image


def cer(result: PageText, page: Page) -> float:
    truth = " ".join(page.lines)
    read = " ".join(line.text for line in result.lines)
    return Levenshtein.distance(" ".join(read.split()), truth) / len(truth)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(intra_op_threads=2)


@pytest.mark.parametrize("language", sorted(PAGES))
def test_a_page_in_the_requested_language_reads_at_five_percent_cer(
    engine: RapidOcrEngine, language: str
) -> None:
    page = PAGES[language]
    require(page)
    result = engine.recognize(draw(page), language=language)
    assert len(result.lines) == len(page.lines)
    assert cer(result, page) <= 0.05


@pytest.mark.parametrize("language", ["ru", "el", "ko", "ar"])
def test_with_no_language_the_script_is_guessed(engine: RapidOcrEngine, language: str) -> None:
    page = PAGES[language]
    require(page)
    result = engine.recognize(draw(page))
    assert cer(result, page) <= 0.05


def test_word_boxes_follow_the_script(engine: RapidOcrEngine) -> None:
    for page in (PAGES["ko"], PAGES["ar"]):
        require(page)
        result = engine.recognize(draw(page), language=page.language)
        for line in result.lines:
            # Words as the script spaces them (Hangul's syllables are not words), in order.
            assert [w.text for w in line.words] == line.text.split()
            lefts = [w.polygon[0] if not page.right_to_left else -w.polygon[0] for w in line.words]
            # Arabic reads right to left: each word's box lies left of the one before.
            assert lefts == sorted(lefts), (page.language, line.text)
            x0, x1 = min(line.polygon[0::2]), max(line.polygon[0::2])
            for word in line.words:
                assert x0 - 2 <= min(word.polygon[0::2]) <= max(word.polygon[0::2]) <= x1 + 2


def test_a_latin_page_loads_no_script_model() -> None:
    engine = RapidOcrEngine(intra_op_threads=2)
    image = Image.new("RGB", (1000, 200), "white")
    font = ImageFont.truetype(str(FONTS / "dejavu/DejaVuSans.ttf"), 34)
    line = "The invoice was issued on the fifth of March"
    ImageDraw.Draw(image).text((40, 60), line, fill="black", font=font)
    result = engine.recognize(image)
    assert [read.text for read in result.lines] == [line]
    assert engine._script_readers == {}  # the ordinary page paid nothing for the other scripts


def test_a_language_of_a_script_uses_its_own_model_or_the_scripts() -> None:
    installed = scripts.installed_models()
    if "rus" not in installed:
        pytest.skip("tesseract-ocr-rus not installed")
    assert scripts.model_for("ru") == "rus"
    assert scripts.model_for("RU") == "rus"
    # Bashkir has no model of its own: Cyrillic's serves it.
    assert scripts.model_for("ba") == "rus"
    assert scripts.model_for("uk") == ("ukr" if "ukr" in installed else "rus")
    assert scripts.model_for("sr-Cyrl") == ("srp" if "srp" in installed else "rus")
    # The service's Latin-script spellings stay with the default recogniser, and styled.
    from emulator.engine.handwriting import is_latin_language

    for latin in ("sr", "sr-latn", "mww", "hni", "iu", "uz", "kk-latn"):
        assert scripts.model_for(latin) is None, latin
        assert is_latin_language(latin), latin
    for other in ("ru", "sr-cyrl", "ba", "mai", "ko", "ja"):
        assert not is_latin_language(other), other
    assert scripts.model_for("de") is None
    assert scripts.model_for("zh-Hans") is None
    assert scripts.model_for(None) is None


async def test_a_russian_job_with_no_language_reads_and_names_russian(
    make_harness: MakeHarness, engine: RapidOcrEngine
) -> None:
    page = PAGES["ru"]
    require(page)
    h = await make_harness(engine=engine)  # type: ignore[arg-type]  # the real engine
    buffer = io.BytesIO()
    draw(page).save(buffer, "PNG")
    operation = await h.submit(buffer.getvalue())
    h.run()
    result = (await h.get(operation)).json()["analyzeResult"]["readResults"][0]
    assert [line["text"] for line in result["lines"]] == list(page.lines)
    assert result["language"] == "ru"
    status = (await h.client.get("/status")).json()
    assert "Cyrillic" in status["scripts"]
    assert status["scripts"] == list(scripts.available_scripts())


def test_a_sparse_latin_page_with_specks_stays_latin() -> None:
    """One line of print on a big page, saved as a PDF (a JPEG inside, so with compression
    specks the detector finds too): the specks must not make it look like another script."""
    engine = RapidOcrEngine(intra_op_threads=2)
    image = Image.new("RGB", (1275, 1650), "white")
    font = ImageFont.truetype(str(FONTS / "dejavu/DejaVuSans.ttf"), 40)
    ImageDraw.Draw(image).text((40, 40), "Alpha beta gamma", fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150.0)
    from emulator.documents import formats as documents

    data = buffer.getvalue()
    info = documents.inspect(data, documents.Limits())
    [page] = list(documents.iter_pages(data, info, [1]))
    result = engine.recognize(page.image, reading_order="natural")
    assert "Alpha beta gamma" in [line.text for line in result.lines]
