"""Where the examples send their requests: ``OCR_ENDPOINT`` if set, else an embedded emulator.

With ``OCR_ENDPOINT`` (and ``OCR_API_KEY``) set, the examples talk to that service: Azure AI
Vision, or an ``ocr-emulator`` you started yourself; certificates are then checked against
the system trust store. Otherwise each example starts the emulator in a background thread on
a free loopback port (plain HTTP, which loopback allows; ``quickstart.py`` shows HTTPS) and
stops it when done, so it runs with nothing else set up.

A package an example needs and cannot find stops it with one line saying what to install
(:func:`need`), not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

SAMPLE = Path(__file__).with_name("sample.tif")
"""A scanned page (640x480, bilevel TIFF) that ships with the examples."""


@dataclass(frozen=True)
class Service:
    """What a client needs: the endpoint and the key."""

    url: str
    api_key: str | None


def need(message: str) -> NoReturn:
    """Stop the example (exit status 1) with one line on stderr: the script's name and
    ``message``, which says what is missing and how to install it."""
    raise SystemExit(f"{Path(sys.argv[0]).name}: {message}")


@contextlib.contextmanager
def ocr_service(*, workers: int = 1) -> Iterator[Service]:
    """Yield the service to use; start (and later stop) an embedded emulator if needed.

    ``workers`` is the number of OCR engines the embedded emulator loads.
    """
    if endpoint := os.environ.get("OCR_ENDPOINT"):
        yield Service(url=endpoint, api_key=os.environ.get("OCR_API_KEY") or None)
        return
    # Imported here so that the examples need only the SDK when OCR_ENDPOINT is set.
    try:
        from emulator.server import run_in_thread
        from emulator.settings import Settings
    except ImportError:
        need(
            "the embedded emulator needs the emulator extra: pip install 'ocr-sdk[emulator]' "
            "(or set OCR_ENDPOINT to use a running service)"
        )

    settings = Settings(api_keys=("example-key",), port=0, workers=workers)
    with run_in_thread(settings) as running:
        yield Service(url=running.url, api_key=running.api_key)
