"""``ocr read --format pdf`` and ``--format markdown`` against the real emulator (real OCR):
the searchable PDF holds the words read, the Markdown the paragraphs; and the usage errors
that keep a PDF off stdout and away from URLs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from _cli_support import run
from PIL import Image

from emulator.testing import RunningEmulator
from ocr_sdk.output.markdown import PAGE_BREAK
from tests.conftest import encode, text_image


def pdf_text(path: Path) -> list[str]:
    document = pdfium.PdfDocument(path.read_bytes())
    try:
        return [str(document[i].get_textpage().get_text_range()) for i in range(len(document))]
    finally:
        document.close()


def test_pdf_end_to_end_with_the_embedded_emulator(
    hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OCR_ENDPOINT", raising=False)
    out_dir = tmp_path / "out"
    argv = ["read", "--emulator", "--format", "pdf", "--output", str(out_dir), str(hello)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert out == ""
    [written] = out_dir.iterdir()
    assert written.name == "hello.png.pdf"
    [text] = pdf_text(written)
    assert text.split() == ["HELLO", "42"]
    with pikepdf.open(written) as pdf:  # the scan itself, not a re-encoding of it
        [image] = pdf.pages[0].Resources.XObject.values()
        assert image.read_raw_bytes() in hello.read_bytes()


def test_pdf_of_a_pdf_keeps_its_pages_and_adds_text_to_those_read(
    service: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = [text_image(["FIRST PAGE"], (850, 1100)), text_image(["SECOND PAGE"], (850, 1100))]
    source = tmp_path / "two.pdf"
    source.write_bytes(
        encode(pages[0], "PDF", save_all=True, append_images=pages[1:], resolution=100.0)
    )
    out_dir = tmp_path / "out"
    argv = ["read", "--format", "pdf", "--pages", "2", "--output", str(out_dir), str(source)]
    status, _out, err = run(argv, capsys)
    assert status == 0, err
    first, second = pdf_text(out_dir / "two.pdf.pdf")
    assert first == ""  # not read: kept, without text
    assert second.split() == ["SECOND", "PAGE"]


def test_markdown_to_stdout_and_to_files(
    service: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [text_image(["# FIRST", "* SECOND"]), text_image(["THIRD"])]
    tiff = tmp_path / "scan.tif"
    tiff.write_bytes(encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]))
    status, out, err = run(["read", "--format", "markdown", str(tiff)], capsys)
    assert status == 0, err
    first, second = out.rstrip("\n").split(f"\n\n{PAGE_BREAK}\n\n")
    assert first.replace("\n\n", "\n").split("\n") == [r"\# FIRST", r"\* SECOND"]
    assert second == "THIRD"
    out_dir = tmp_path / "md"
    status, out, err = run(
        ["read", "--format", "markdown", "--output", str(out_dir), str(tiff)], capsys
    )
    assert status == 0, err
    assert (out_dir / "scan.tif.md").read_text(encoding="utf-8").count(PAGE_BREAK) == 1


def test_a_document_that_fails_leaves_the_others_written(
    service: RunningEmulator, hello: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A GIF, which the service refuses: one failure, the other input's PDF still written.
    gif = tmp_path / "anim.gif"
    gif.write_bytes(encode(Image.new("RGB", (80, 80), "white"), "GIF"))
    out_dir = tmp_path / "out"
    status, _out, err = run(
        ["read", "--format", "pdf", "--output", str(out_dir), str(hello), str(gif)], capsys
    )
    assert status == 1
    assert [p.name for p in out_dir.iterdir()] == ["hello.png.pdf"]
    assert f"FAILED {gif}" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["read", "--format", "pdf", "{page}"], "--format pdf writes files: add --output DIR"),
        (
            ["read", "--format", "pdf", "--output", "{out}", "https://example.com/a.pdf"],
            "download 'https://example.com/a.pdf' first",
        ),
    ],
)
def test_pdf_usage_errors_exit_2_before_any_request(
    argv: list[str],
    message: str,
    tmp_path: Path,
    png: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: no request made
    page = tmp_path / "page.png"
    page.write_bytes(png())
    values = {"page": str(page), "out": str(tmp_path / "out")}
    status, out, err = run([arg.format(**values) for arg in argv], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("ocr: error:") and message in err
    assert not (tmp_path / "out").exists()


def test_pdf_without_its_extra_says_what_to_install(
    hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pikepdf", None)
    argv = [
        "read",
        "--endpoint",
        "http://127.0.0.1:9",
        "--format",
        "pdf",
        "--output",
        str(tmp_path),
    ]
    status, _out, err = run([*argv, str(hello)], capsys)
    assert status == 2
    assert "pip install 'ocr-sdk[pdf]'" in err


def test_help_lists_the_new_formats(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = run(["read", "--help"], capsys)
    assert status == 0
    assert "{text,json,markdown,pdf}" in out
    assert "searchable PDF" in out
