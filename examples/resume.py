"""Resume an operation by id: submit with one client, collect the result with another.

    python examples/resume.py [DOCUMENT]

``begin_read`` returns as soon as the service has accepted the document. Keep the poller's
``operation_id`` (in a database, a queue message, a file) and any later client, in this
process or another one, rebuilds the poller with ``resume_read(operation_id)``. The service
keeps results for 48 hours (the emulator: ``--retention``, 24 h by default).

Uses OCR_ENDPOINT / OCR_API_KEY when set, otherwise an embedded emulator.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _service import SAMPLE, ocr_service

from ocr_sdk import OcrClient


def main(argv: list[str]) -> int:
    document = Path(argv[1]) if len(argv) > 1 else SAMPLE
    with ocr_service() as service:
        # 1. Submit, keep the id, and go away: nothing here waits for the OCR.
        with OcrClient(service.url, service.api_key) as submitter:
            poller = submitter.begin_read(document)
            operation_id = poller.operation_id
            print(f"submitted {document.name}: operation {operation_id} ({poller.status()})")

        # 2. Later, elsewhere: a new client picks the operation up by its id alone.
        with OcrClient(service.url, service.api_key) as collector:
            resumed = collector.resume_read(operation_id)
            result = resumed.result(timeout=120)
            print(f"resumed {operation_id}: {resumed.status()}, {len(result.pages)} page(s)")
            # A single GET also works, e.g. to show progress without waiting.
            status = collector.get_read_result(operation_id).status
            print(f"get_read_result: {status}")
    print(result.text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
