"""Read a document with the async client, watching the operation's status as it goes.

    python examples/async_read.py [DOCUMENT]

``AsyncOcrClient`` has the same methods as ``OcrClient``, as coroutines. ``begin_read``
returns an ``AsyncReadPoller``: ``status()`` and ``done()`` send nothing, ``wait(timeout)``
polls (honouring the service's ``Retry-After``) for up to ``timeout`` seconds, and
``await poller`` waits for the ``ReadResult``. The event loop stays free for other work
between polls.

Uses OCR_ENDPOINT / OCR_API_KEY when set, otherwise an embedded emulator.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _service import SAMPLE, Service, ocr_service

from ocr_sdk import AsyncOcrClient


async def read(service: Service, document: Path) -> None:
    async with AsyncOcrClient(service.url, service.api_key) as client:
        poller = await client.begin_read(document, reading_order="natural")
        print(f"operation {poller.operation_id}: {poller.status()}")
        seen = poller.status()
        while not poller.done():
            await poller.wait(timeout=0.5)
            if poller.status() != seen:
                seen = poller.status()
                print(f"operation {poller.operation_id}: {seen}")
        result = await poller
    for page in result.pages:
        words = [word for line in page.lines for word in line.words]
        print(f"--- page {page.page}: {len(page.lines)} lines, {len(words)} words")
        print(page.text)


def main(argv: list[str]) -> int:
    document = Path(argv[1]) if len(argv) > 1 else SAMPLE
    with ocr_service() as service:
        asyncio.run(read(service, document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
