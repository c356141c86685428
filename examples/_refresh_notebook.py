"""Run ``examples/notebook.ipynb`` top to bottom and store it with its outputs, so that a
reader on GitHub sees what each cell shows without running it.

    python examples/_refresh_notebook.py

Needs the dev extra (nbclient, nbformat, ipykernel) and starts the embedded emulator, as the
notebook does for a user (``OCR_ENDPOINT`` is ignored here). What is stored stays small and
stable: text outputs only (HTML summaries without their long plain-text twin, printed text,
and the text form of a drawn image instead of its PNG), no execution timestamps, and the
notebook's own metadata rather than the versions of whatever kernel ran it. Run it again
after changing a cell; ``tests/examples/test_notebook.py`` checks that the stored outputs are
there, match the cells, and are text only.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).with_name("notebook.ipynb")


def text_only(notebook: Any) -> Any:
    """``notebook`` with images dropped from its outputs (their text form kept), the plain
    text of an output that has HTML dropped (a viewer shows the HTML), and the per-cell
    execution metadata (timestamps) removed; changed in place and returned."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        for output in cell.outputs:
            if "data" in output:
                data = {k: v for k, v in output.data.items() if not k.startswith("image/")}
                if "text/html" in data:
                    data.pop("text/plain", None)
                output.data = data
                output.metadata = {}
    return notebook


def main() -> int:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        sys.exit(f"{Path(sys.argv[0]).name}: needs nbclient and nbformat: pip install -e '.[dev]'")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    metadata = copy.deepcopy(notebook.metadata)  # the kernel adds its versions to the original
    with tempfile.TemporaryDirectory() as scratch:
        # The notebook starts its own emulator, as it does with nothing set up; the kernel's
        # connection file and IPython profile stay out of the user's home.
        os.environ.pop("OCR_ENDPOINT", None)
        os.environ.pop("OCR_API_KEY", None)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(scratch, "runtime"))
        os.environ["IPYTHONDIR"] = str(Path(scratch, "ipython"))
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        )
        client.execute()
    notebook.metadata = metadata
    nbformat.validate(text_only(notebook))
    nbformat.write(notebook, NOTEBOOK)
    print(f"wrote {NOTEBOOK} ({NOTEBOOK.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
