"""Quickstart: read a document through the SDK against an embedded emulator, over HTTPS.

    python examples/quickstart.py [DOCUMENT]

Starts the emulator in a background thread on a free loopback port with a generated local CA,
submits the document (default: the scanned page ``examples/sample.tif``), polls until the
operation finishes, and prints the text line by line. Nothing leaves this machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ocr_sdk import OcrClient

try:
    from emulator.server import run_in_thread
    from emulator.settings import Settings
except ImportError:
    sys.exit(
        f"{Path(sys.argv[0]).name}: the embedded emulator needs the emulator extra: "
        "pip install 'ocr-sdk[emulator]'"
    )


def main(argv: list[str]) -> int:
    document = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("sample.tif")
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            api_keys=("quickstart-key",),
            port=0,
            tls=True,
            tls_ca_out=Path(scratch, "ca.pem"),
        )
        with (
            run_in_thread(settings) as emulator,
            OcrClient(emulator.url, emulator.api_key, verify=str(emulator.ca_path)) as client,
        ):
            result = client.read(document)
    for page in result.pages:
        size = f"{page.width:g}x{page.height:g} {page.unit}"
        print(f"--- page {page.page} ({size}, angle {page.angle:g} degrees)")
        for line in page.lines:
            print(line.text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
