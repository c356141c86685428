"""Microsoft's official client (azure-cognitiveservices-vision-computervision 0.9.1), unchanged,
against the emulator.

    python examples/azure_client.py [DOCUMENT]

Code written for Azure AI Vision runs against the emulator as it is: only the endpoint and the
key differ. The official client needs ``raw=True`` to see the ``Operation-Location`` header,
whose last path segment is the operation id, and leaves the polling to you.

The embedded emulator serves plain HTTP on loopback here. Against an HTTPS emulator with a
generated CA, trust the CA with ``client.config.connection.verify = "/path/to/ca.pem"``.

Uses OCR_ENDPOINT / OCR_API_KEY when set, otherwise an embedded emulator. Needs Microsoft's
client, which no extra of ocr-sdk installs:

    pip install azure-cognitiveservices-vision-computervision==0.9.1
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _service import SAMPLE, need, ocr_service

try:
    from azure.cognitiveservices.vision.computervision import ComputerVisionClient
    from azure.cognitiveservices.vision.computervision.models import (
        ComputerVisionOcrErrorException,
        OperationStatusCodes,
    )
    from msrest.authentication import CognitiveServicesCredentials
except ImportError:
    need(
        "this example needs Microsoft's client: "
        "pip install azure-cognitiveservices-vision-computervision==0.9.1"
    )


def main(argv: list[str]) -> int:
    document = Path(argv[1]) if len(argv) > 1 else SAMPLE
    with ocr_service() as service:
        credentials = CognitiveServicesCredentials(service.api_key)
        # Closing the client (here by `with`) closes its keep-alive connection.
        with ComputerVisionClient(service.url, credentials) as client:
            with document.open("rb") as image:
                raw = client.read_in_stream(image, language="en", raw=True)
            operation_id = raw.headers["Operation-Location"].rsplit("/", 1)[-1]
            print(f"operation {operation_id}")

            pending = (OperationStatusCodes.not_started, OperationStatusCodes.running)
            while (result := client.get_read_result(operation_id)).status in pending:
                time.sleep(0.5)
            print(f"status {result.status.value}")
            for page in result.analyze_result.read_results:
                for line in page.lines:
                    print(f"{page.page} {line.text!r} {[round(v) for v in line.bounding_box]}")

            # Errors carry the service's code, as they would from Azure.
            try:
                client.get_read_result("00000000-0000-0000-0000-000000000000")
            except ComputerVisionOcrErrorException as error:
                print(f"unknown operation: {error.error.code}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
