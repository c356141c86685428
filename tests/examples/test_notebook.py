"""``examples/notebook.ipynb`` runs top to bottom, and is committed with its outputs (text
only, small: ``examples/_refresh_notebook.py`` writes them), so that a reader on GitHub sees
the results."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_committed_notebook_shows_its_outputs_as_small_text() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    assert cells
    # Every cell but the last (the clean-up) shows something, numbered as one run would.
    assert all(cell.outputs for cell in cells[:-1]), "run examples/_refresh_notebook.py"
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    outputs = [output for cell in cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [k for o in outputs for k in o.get("data", {}) if not k.startswith("text/")]
    html = "".join(o.data["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "The quick brown dog" in html
    # No noise: execution timestamps, the versions of the kernel that ran it.
    assert not [cell for cell in cells if "execution" in cell.metadata]
    assert "version" not in notebook.metadata.get("language_info", {})
    assert NOTEBOOK.stat().st_size < 20_000


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
    committed = [[o.output_type for o in cell.outputs] for cell in code_cells(notebook)]
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
    # The committed outputs are those of the cells as they are now.
    fresh = [[o.output_type for o in cell.outputs] for cell in code_cells(notebook)]
    assert committed == fresh, "run examples/_refresh_notebook.py"
