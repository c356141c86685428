"""Read v3.2's result bodies: the ``analyzeResult`` around the stored page records, and the
``ReadOperationResult`` a GET answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from emulator.api.read_v32.parsing import served_model_version
from emulator.pages.records import timestamp
from emulator.store import Job

SCHEMA_VERSION = "3.2.0"


def analyze_result(
    read_results: Iterable[dict[str, Any]], requested_model: str = "latest"
) -> dict[str, Any]:
    """The ``analyzeResult`` object wrapping the pages' ``readResults``, naming the dated model
    version that served ``requested_model`` (the job's ``model-version``)."""
    return {
        "version": SCHEMA_VERSION,
        "modelVersion": served_model_version(requested_model),
        "readResults": list(read_results),
    }


def operation_body(job: Job, result: dict[str, Any] | None) -> dict[str, Any]:
    """The ``ReadOperationResult`` body for ``job``; ``analyzeResult`` only once succeeded."""
    body: dict[str, Any] = {
        "status": job.status,
        "createdDateTime": timestamp(job.created),
        "lastUpdatedDateTime": timestamp(job.updated),
    }
    if job.status == "succeeded" and result is not None:
        body["analyzeResult"] = result
    return body


def plain_text(read_results: Sequence[dict[str, Any]]) -> str:
    """All line texts joined by newlines (for logs-free debugging and tests)."""
    return "\n".join(line["text"] for page in read_results for line in page["lines"])
