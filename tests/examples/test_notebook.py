"""``examples/notebook.ipynb`` runs top to bottom, and is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    assert cells
    for cell in cells:
        assert cell.outputs == [], cell.source
        assert cell.execution_count is None, cell.source


def test_notebook_executes_and_shows_html_and_drawings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The notebook must start its own emulator, as it does for a user with nothing set up.
    monkeypatch.delenv("OCR_ENDPOINT", raising=False)
    monkeypatch.delenv("OCR_API_KEY", raising=False)
    # Keep the kernel's connection file and IPython profile out of the user's home.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    outputs = [output for cell in code_cells(notebook) for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="ocr-sdk-result"' in h and "The quick brown dog" in h for h in html)
    assert any('class="ocr-sdk-page"' in h and "640 x 480 pixel" in h for h in html)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # the page with lines and words, words only, the PDF page
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert "inch 3.2" in printed
