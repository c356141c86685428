"""Where the examples send their requests: ``OCR_ENDPOINT`` if set, else an embedded emulator.

With ``OCR_ENDPOINT`` (and ``OCR_API_KEY``) set, the examples talk to that service: Azure AI
Vision, or an ``ocr-emulator`` you started yourself; certificates are then checked against
the system trust store. Otherwise each example starts the emulator in a background thread on
a free loopback port and stops it when done, so it runs with nothing else set up.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).with_name("sample.tif")
"""A scanned page (640x480, bilevel TIFF) that ships with the examples."""


@dataclass(frozen=True)
class Service:
    """What a client needs: the endpoint, the key and how to verify TLS."""

    url: str
    api_key: str | None
    verify: bool | str = True
    ca_path: Path | None = None
    embedded: bool = False


@contextlib.contextmanager
def ocr_service(*, tls: bool = False, workers: int = 1) -> Iterator[Service]:
    """Yield the service to use; start (and later stop) an embedded emulator if needed.

    ``tls=True`` serves the embedded emulator over HTTPS with a generated CA, which the
    returned ``verify`` trusts. ``workers`` is the number of OCR engines it loads.
    """
    if endpoint := os.environ.get("OCR_ENDPOINT"):
        yield Service(url=endpoint, api_key=os.environ.get("OCR_API_KEY") or None)
        return
    # Imported here so that the examples need only the SDK when OCR_ENDPOINT is set.
    from emulator.server import run_in_thread
    from emulator.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            api_keys=("example-key",),
            port=0,
            workers=workers,
            tls=tls,
            tls_ca_out=Path(scratch, "ca.pem") if tls else None,
        )
        with run_in_thread(settings) as running:
            ca = running.ca_path
            yield Service(
                url=running.url,
                api_key=running.api_key,
                verify=str(ca) if ca else True,
                ca_path=ca,
                embedded=True,
            )
