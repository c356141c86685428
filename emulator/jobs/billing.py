"""The billing meter: the transactions the service would bill, counted per key.

The Read API bills one transaction per page analysed: a document's pages that were read (the
free tier reads the first two), counted once when its operation succeeds. A request refused
before it became an operation (a 4xx, a 429 or 503 the client retries) bills nothing, and so
does an operation that failed. Document Intelligence's ``prebuilt-read`` bills per page the
same way. The counts live in the store beside the jobs (one node's memory, its SQLite file,
or the cluster's Redis), each under a keyed digest of the API key that submitted the job, so
no store holds a key; ``GET /_emulator/usage`` reports them for the configured keys.

Azure's responses name what a request billed in the ``csp-billing-usage`` header
(``CognitiveServices.ComputerVision.Transaction=1``); the emulator sends it where a result is
delivered: on a GET of a succeeded operation (the transactions that operation billed, once
however often it is read) and on ``syncAnalyze``'s answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emulator.store.base import Job, Usage, billable_pages

__all__ = ["HEADER", "METER", "Usage", "billable_pages", "header", "report"]

#: The header naming what a response's operation billed.
HEADER = "csp-billing-usage"
#: The meter a Read page counts on.
METER = "CognitiveServices.ComputerVision.Transaction"


def header(job: Job) -> dict[str, str]:
    """The billing header for a response delivering ``job``'s result (none unless it billed)."""
    count = billable_pages(job)
    return {HEADER: f"{METER}={count}"} if count else {}


def report(
    usage: Mapping[str, Usage],
    keys: Sequence[str],
    key_id: Callable[[str], str],
    caller: str | None,
) -> dict[str, Any]:
    """The body of ``GET /_emulator/usage``: each configured key by its number (``1`` for the
    first ``--api-key``, like the portal's KEY 1 and KEY 2) and last four characters, what it
    was billed, and which one is asking; ``total`` counts every key the store has seen."""
    entries = []
    for number, key in enumerate(keys, start=1):
        billed = usage.get(key_id(key), Usage())
        entries.append(
            {
                "key": number,
                "endsWith": key[-4:],
                "caller": key == caller,
                "transactions": billed.transactions,
                "operations": billed.operations,
            }
        )
    total = sum(usage.values(), Usage())
    return {
        "meter": METER,
        "keys": entries,
        "total": {"transactions": total.transactions, "operations": total.operations},
    }
