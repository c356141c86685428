"""The documentation site builds with ``mkdocs build --strict``: a broken link or anchor, a
page missing from the nav or a nav entry without a page fails the build (see the
``validation`` block of ``mkdocs.yml``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def nav_pages() -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return [page for entry in config["nav"] for page in entry.values()]


def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    for page in nav_pages():
        built = site / "index.html" if page == "index.md" else site / page[:-3] / "index.html"
        assert built.is_file(), page


def test_every_page_is_in_the_nav() -> None:
    # mkdocs would only warn at build time; saying which page is clearer here.
    pages = {path.relative_to(ROOT / "docs").as_posix() for path in (ROOT / "docs").rglob("*.md")}
    assert pages == set(nav_pages())
