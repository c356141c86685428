"""Scripts beyond Latin (issue 14): how the engine reads printed Russian, Greek, Korean, Arabic
and Hindi, measured on pages it draws itself.

Each page is eight lines of printed text in one script, drawn with a Debian font at 30 px on a
white A5-ish page (the fonts: DejaVu Sans for Latin, Cyrillic and Greek; NanumGothic from
``fonts-nanum`` for Hangul; Noto Naskh Arabic and Noto Sans Devanagari from
``fonts-noto-core``; a script whose font is missing is skipped). The page is read by
:class:`~emulator.engine.rapid.RapidOcrEngine` with the script's language code, as a request
with ``language`` would be, and the result is compared with the drawn text: CER is the
Levenshtein distance between the two (whitespace runs made one space) over the length of the
truth. The time is the median of ``--runs`` readings of the page, with one intra-op thread as a
worker runs it, and is also given per line and as a ratio to the English control page.

Latin is read by PP-OCRv6; the other scripts by Tesseract's model for the language behind the
engine's own line detector (:mod:`emulator.engine.scripts`, Debian's ``tesseract-ocr-<lang>``
data). The page is also read with no ``language``, when the engine guesses the script, and its
CER and time are printed beside. PP-OCRv6's own mean line score on the page is printed too: it
is the gate of that guess (PP-OCRv6 reads Cyrillic and Greek as Latin look-alikes, or as
blanks, with a high score, which is why a blank counts as unread).

With ``--tesseract``, the same pages are also read by Debian's Tesseract 5 (``tesseract-ocr``
and the ``tesseract-ocr-<lang>`` data packages, Apache-2.0, when installed) for comparison,
twice: the whole page through its command line (which adds a process start to every page),
and line by line through ``libtesseract``'s C API (ctypes, page segmentation mode 7) on the
engine's own detected and cropped lines, as a recogniser behind the engine's detector would
run. Tesseract runs on one thread (``OMP_THREAD_LIMIT=1``).

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/scripts.py [--runs 3] [--tesseract]
"""

# ruff: noqa: RUF001  (the sample pages are Greek and Cyrillic text on purpose)

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

T = TypeVar("T")
_DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class Sample:
    """One script's test page: its language code, font, Tesseract language and lines."""

    language: str
    script: str
    font: str
    tesseract: str
    lines: tuple[str, ...]
    right_to_left: bool = False


SAMPLES = (
    Sample(
        "en",
        "Latin",
        _DEJAVU,
        "eng",
        (
            "The committee met on Tuesday to review",
            "the annual budget and the new contracts.",
            "Members agreed to postpone the decision",
            "until the auditors deliver their report.",
            "The chair thanked the staff for their work",
            "and asked for comments by the end of May.",
            "Questions may be sent to the secretary,",
            "who will answer them within two weeks.",
        ),
    ),
    Sample(
        "ru",
        "Cyrillic",
        _DEJAVU,
        "rus",
        (
            "Комитет собрался во вторник, чтобы",
            "обсудить годовой бюджет и новые договоры.",
            "Участники решили отложить решение до тех",
            "пор, пока аудиторы не представят отчёт.",
            "Председатель поблагодарил сотрудников",
            "и попросил прислать замечания до конца мая.",
            "Вопросы можно направлять секретарю,",
            "который ответит на них в течение двух недель.",
        ),
    ),
    Sample(
        "el",
        "Greek",
        _DEJAVU,
        "ell",
        (
            "Η επιτροπή συνεδρίασε την Τρίτη για να",
            "εξετάσει τον ετήσιο προϋπολογισμό και τις",
            "νέες συμβάσεις. Τα μέλη συμφώνησαν να",
            "αναβάλουν την απόφαση μέχρι να παραδώσουν",
            "οι ελεγκτές την έκθεσή τους. Ο πρόεδρος",
            "ευχαρίστησε το προσωπικό για τη δουλειά του",
            "και ζήτησε σχόλια έως το τέλος του Μαΐου.",
            "Οι ερωτήσεις στέλνονται στη γραμματεία.",
        ),
    ),
    Sample(
        "ko",
        "Hangul",
        "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
        "kor",
        (
            "위원회는 화요일에 모여 연간 예산과",
            "새로운 계약을 검토했습니다.",
            "위원들은 감사 보고서가 나올 때까지",
            "결정을 미루기로 합의했습니다.",
            "위원장은 직원들의 노고에 감사를 표하고",
            "오월 말까지 의견을 보내 달라고 요청했습니다.",
            "질문은 사무국으로 보내 주시면",
            "이 주 안에 답변해 드리겠습니다.",
        ),
    ),
    Sample(
        "ar",
        "Arabic",
        "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
        "ara",
        (
            "اجتمعت اللجنة يوم الثلاثاء لمراجعة",
            "الميزانية السنوية والعقود الجديدة.",
            "واتفق الأعضاء على تأجيل القرار حتى",
            "يسلم المدققون تقريرهم النهائي.",
            "وشكر الرئيس الموظفين على عملهم",
            "وطلب إرسال الملاحظات قبل نهاية مايو.",
            "يمكن إرسال الأسئلة إلى الأمانة",
            "التي ستجيب عنها خلال أسبوعين.",
        ),
        right_to_left=True,
    ),
    Sample(
        "hi",
        "Devanagari",
        "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
        "hin",
        (
            "समिति ने मंगलवार को वार्षिक बजट और",
            "नए अनुबंधों की समीक्षा के लिए बैठक की।",
            "सदस्यों ने निर्णय को तब तक टालने पर",
            "सहमति दी जब तक लेखा परीक्षक रिपोर्ट न दें।",
            "अध्यक्ष ने कर्मचारियों के काम के लिए",
            "धन्यवाद दिया और मई के अंत तक सुझाव मांगे।",
            "प्रश्न सचिवालय को भेजे जा सकते हैं,",
            "जो दो सप्ताह के भीतर उत्तर देगा।",
        ),
    ),
)


def render(sample: Sample, font_size: int = 30) -> Image.Image:
    """The sample's lines, black on a white page, one under the other (right-aligned for a
    right-to-left script). Pillow shapes the text with libraqm, so Arabic letters join and
    Devanagari clusters form as in print."""
    font = ImageFont.truetype(sample.font, font_size)
    width, height = 1000, 120 + int(font_size * 1.8) * len(sample.lines)
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    y = 60
    for line in sample.lines:
        if sample.right_to_left:
            draw.text((width - 60, y), line, fill="black", font=font, anchor="ra", direction="rtl")
        else:
            draw.text((60, y), line, fill="black", font=font)
        y += int(font_size * 1.8)
    return page


def normalise(text: str) -> str:
    """``text`` with every run of whitespace made one space."""
    return re.sub(r"\s+", " ", text).strip()


def cer(hypothesis: str, truth: str) -> float:
    """Character error rate of ``hypothesis`` against ``truth``, whitespace-normalised."""
    from rapidfuzz.distance import Levenshtein

    ref = normalise(truth)
    return Levenshtein.distance(normalise(hypothesis), ref) / max(len(ref), 1)


def read_engine(engine: Any, page: Image.Image, language: str | None) -> str:
    """The page's text as the engine reads it, lines in reading order."""
    result = engine.recognize(page, language=language)
    return "\n".join(line.text for line in result.lines)


def engine_lines(engine: Any, page: Image.Image) -> list[npt.NDArray[np.uint8]]:
    """The page's lines as the engine detects and crops them (upright, top to bottom)."""
    from emulator.engine import orientation as rapid

    bgr = np.ascontiguousarray(np.asarray(page)[:, :, ::-1])
    quads = engine.detect(bgr).quads
    axis = rapid.dominant_axis(*rapid.line_axes(quads))
    polys = sorted((rapid.order_quad(q, axis) for q in quads), key=lambda p: float(p[:, 1].mean()))
    return [rapid.crop_line(bgr, p) for p in polys]


def read_tesseract(page: Image.Image, language: str) -> str | None:
    """The page's text as Tesseract's command line reads it, or None when it or the
    language's data is not installed."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.png"
        page.save(path)
        done = subprocess.run(
            [tesseract, str(path), "stdout", "-l", language, "--psm", "6"],
            capture_output=True,
            text=True,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
            check=False,
        )
    return done.stdout if done.returncode == 0 else None


class TesseractLines:
    """``libtesseract``'s C API reading single-line crops (page segmentation mode 7), one
    initialised handle per language."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(ctypes.util.find_library("tesseract") or "libtesseract.so.5")
        lib.TessBaseAPICreate.restype = ctypes.c_void_p
        lib.TessBaseAPIInit3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.TessBaseAPISetPageSegMode.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.TessBaseAPISetImage.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_int] * 4
        lib.TessBaseAPIGetUTF8Text.argtypes = [ctypes.c_void_p]
        lib.TessBaseAPIGetUTF8Text.restype = ctypes.c_void_p
        lib.TessDeleteText.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._handles: dict[str, int] = {}

    def _handle(self, language: str) -> int | None:
        if language not in self._handles:
            handle = self._lib.TessBaseAPICreate()
            if self._lib.TessBaseAPIInit3(handle, None, language.encode()) != 0:
                return None
            self._lib.TessBaseAPISetPageSegMode(handle, 7)
            self._handles[language] = handle
        return self._handles[language]

    def read(self, language: str, crops: list[npt.NDArray[np.uint8]]) -> str | None:
        """The crops' text, one line each, or None when the language's data is missing."""
        handle = self._handle(language)
        if handle is None:
            return None
        out = []
        for crop in crops:
            gray = np.pad(np.asarray(crop.mean(axis=2), dtype=np.uint8), 10, constant_values=255)
            gray = np.ascontiguousarray(gray)
            height, width = gray.shape
            self._lib.TessBaseAPISetImage(handle, gray.ctypes.data, width, height, 1, width)
            text = self._lib.TessBaseAPIGetUTF8Text(handle)
            out.append(ctypes.string_at(text).decode("utf-8").strip())
            self._lib.TessDeleteText(text)
        return "\n".join(out)


def resident_mb() -> float:
    """This process's resident memory, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(call: Callable[[], T], runs: int) -> tuple[T, float]:
    """``call()``'s result and its median wall time in seconds over ``runs`` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tesseract", action="store_true", help="also read with Tesseract")
    args = parser.parse_args()

    from emulator.engine.rapid import RapidOcrEngine

    engine = RapidOcrEngine(intra_op_threads=1)
    tess_lines = TesseractLines() if args.tesseract and shutil.which("tesseract") else None
    header = (
        "| script | language | CER % | ms per page | ms per line | time vs en | line score |"
        " no language: CER % | ms per page | resident MB after the first page |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|---|"
    if args.tesseract:
        header += " Tesseract page CER % | ms per page | Tesseract line CER % | ms per line |"
        rule += "---|---|---|---|"
    print(header)
    print(rule)
    # First, what each script's first page adds to resident memory (its model, loaded then),
    # with languages given, before any guess loads every model; English warms the engine.
    growth: dict[str, float] = {}
    for sample in SAMPLES:
        if Path(sample.font).is_file():
            before = resident_mb()
            read_engine(engine, render(sample), sample.language)
            growth[sample.language] = resident_mb() - before
    control: float | None = None
    for sample in SAMPLES:
        if not Path(sample.font).is_file():
            print(f"| {sample.script} | {sample.language} | skipped: no font {sample.font} |")
            continue
        page = render(sample)
        truth = "\n".join(sample.lines)
        n = len(sample.lines)
        text, seconds = timed(
            functools.partial(read_engine, engine, page, sample.language), args.runs
        )
        grown = growth.get(sample.language, 0.0)
        if sample.language == "en":
            control = seconds
        crops = engine_lines(engine, page)
        score = statistics.mean(r.score for r in engine.read(crops)) if crops else 0.0
        ratio = f"{seconds / control:.2f}x" if control else "-"
        guessed, guess_s = timed(functools.partial(read_engine, engine, page, None), args.runs)
        row = (
            f"| {sample.script} | {sample.language} | {_pct(cer(text, truth))} | "
            f"{seconds * 1000:.0f} | {seconds * 1000 / n:.1f} | {ratio} | {score:.2f} | "
            f"{_pct(cer(guessed, truth))} | {guess_s * 1000:.0f} | {grown:+.0f} |"
        )
        if args.tesseract:
            page_text, page_s = timed(
                functools.partial(read_tesseract, page, sample.tesseract), args.runs
            )
            page_cer = None if page_text is None else cer(page_text, truth)
            row += f" {_pct(page_cer)} | {page_s * 1000:.0f} |"
            if tess_lines is None:
                row += " - | - |"
            else:
                lines_text, lines_s = timed(
                    functools.partial(tess_lines.read, sample.tesseract, crops), args.runs
                )
                lines_cer = None if lines_text is None else cer(lines_text, truth)
                row += f" {_pct(lines_cer)} | {lines_s * 1000 / max(len(crops), 1):.1f} |"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
