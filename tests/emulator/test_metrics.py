"""``/metrics`` (``--metrics``): off by default, behind the key unless ``--metrics-open``;
requests by route template (never an id), pages and engine time, the queue and jobs by state,
rate-limit refusals, worker restarts and request bytes in flight, in a registry per app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from _harness import ANALYZE, BINARY, KEY, RESULTS, Harness, MakeHarness
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from emulator.app import create_app
from emulator.http.metrics import Metrics
from emulator.http.middleware.request_context import RequestContextMiddleware
from emulator.jobs.workers import ProcessJobQueue
from emulator.settings import Settings, load, parse_rate
from tests.emulator._worker_engines import DIE_WIDTH, misbehaving_factory


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _scrape(h: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await h.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return _samples(response.text)


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_unless_asked_for(h: Harness) -> None:
    assert (await h.client.get("/metrics")).status_code == 404
    assert load(["--api-key", "k"]).serves_metrics is False
    assert load(["--api-key", "k", "--metrics"]).serves_metrics is True
    assert load(["--api-key", "k"], {"OCR_EMULATOR_METRICS": "1"}).serves_metrics is True
    assert load(["--api-key", "k", "--metrics-open"]).serves_metrics is True


async def test_metrics_need_the_key_unless_open(make_harness: MakeHarness) -> None:
    closed = await make_harness(metrics=True)
    assert (
        await closed.client.get("/metrics", headers={"Ocp-Apim-Subscription-Key": ""})
    ).status_code == 401
    assert (await closed.client.get("/metrics")).status_code == 200
    opened = await make_harness(metrics_open=True)
    anonymous = {"Ocp-Apim-Subscription-Key": ""}
    response = await opened.client.get("/metrics", headers=anonymous)
    assert response.status_code == 200 and "ocr_emulator_ready" in response.text
    assert "apim-request-id" in response.headers  # still a request like any other
    # Only the metrics are open: everything else still needs the key.
    assert (await opened.client.get(f"{RESULTS}/x", headers=anonymous)).status_code == 401


async def test_requests_are_counted_by_route_template_never_by_id(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness(metrics=True)
    operation_id = await h.submit(png())
    await h.get(operation_id)
    await h.get(operation_id)
    await h.client.get(f"{RESULTS}/{operation_id}", headers={"Ocp-Apim-Subscription-Key": "no"})
    await h.client.get("/no/such/path/4711")
    response = await h.client.get("/metrics")
    assert operation_id not in response.text and "4711" not in response.text
    assert KEY not in response.text
    samples = _samples(response.text)
    result_route = "/vision/v3.2/read/analyzeResults/{operation_id}"
    requests = "ocr_emulator_requests_total"
    assert _value(samples, requests, route=ANALYZE, method="POST", status="202") == 1
    assert _value(samples, requests, route=result_route, method="GET", status="200") == 2
    # Refused before routing (401), still counted under its route's template.
    assert _value(samples, requests, route=result_route, method="GET", status="401") == 1
    assert _value(samples, requests, route="unmatched", method="GET", status="404") == 1
    count = "ocr_emulator_request_duration_seconds_count"
    assert _value(samples, count, route=result_route, method="GET") == 3


async def test_pages_engine_time_queue_and_jobs_by_state(
    make_harness: MakeHarness, multipage_tiff: Any, png: Any
) -> None:
    h = await make_harness(metrics=True)
    await h.submit(multipage_tiff(3))
    await h.submit(png())
    before = await _scrape(h)
    assert _value(before, "ocr_emulator_queue_depth") == 2
    assert _value(before, "ocr_emulator_jobs", state="notStarted") == 2
    assert _value(before, "ocr_emulator_queue_capacity") == 100
    assert _value(before, "ocr_emulator_pages_read_total") == 0
    h.run()
    after = await _scrape(h)
    assert _value(after, "ocr_emulator_queue_depth") == 0
    assert _value(after, "ocr_emulator_jobs", state="notStarted") == 0
    assert _value(after, "ocr_emulator_pages_read_total") == 4
    assert _value(after, "ocr_emulator_engine_seconds_count") == 4
    transitions = "ocr_emulator_job_transitions_total"
    for state in ("notStarted", "running", "succeeded"):
        assert _value(after, transitions, state=state) == 2, state
    assert _value(after, "ocr_emulator_ready") == 1


async def test_rate_limit_refusals_are_counted(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness(metrics=True, rate_limit=parse_rate("1/min"))
    await h.submit(png())
    refused = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    assert refused.status_code == 429
    samples = await _scrape(h)
    assert _value(samples, "ocr_emulator_rate_limited_requests_total") == 1


async def test_worker_restarts_are_counted(png: Any) -> None:
    settings = Settings(api_keys=(KEY,), workers=1, metrics=True)
    queue = ProcessJobQueue(misbehaving_factory, workers=1, intra_op_threads=1, capacity=5)
    app = create_app(settings, job_queue=queue)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://emulator.test",
            headers={"Ocp-Apim-Subscription-Key": KEY},
        ) as client,
    ):
        response = await client.post(ANALYZE, content=png(DIE_WIDTH, 60), headers=BINARY)
        location = response.headers["Operation-Location"]
        for _ in range(600):
            if (await client.get(location)).json()["status"] == "failed":
                break
            await asyncio.sleep(0.05)
        for _ in range(600):  # the replacement is counted once it is started
            samples = _samples((await client.get("/metrics")).text)
            if _value(samples, "ocr_emulator_worker_restarts_total") == 1:
                break
            await asyncio.sleep(0.05)
        assert _value(samples, "ocr_emulator_worker_restarts_total") == 1
        assert _value(samples, "ocr_emulator_job_transitions_total", state="failed") == 1


async def test_bytes_in_flight_count_a_body_while_its_request_is_served() -> None:
    metrics = Metrics()
    seen: list[float] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        seen.append(metrics.bytes_in_flight._value.get())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    bodies = [b"x" * 1000, b"y" * 234]

    async def receive() -> Message:
        body = bodies.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(bodies)}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "http", "method": "POST", "path": "/p", "headers": []}
    await RequestContextMiddleware(app, metrics=metrics)(scope, receive, send)
    assert seen == [1234.0]
    assert metrics.bytes_in_flight._value.get() == 0.0


async def test_apps_in_one_process_keep_their_own_counts(
    make_harness: MakeHarness, png: Any
) -> None:
    first, second = await make_harness(metrics=True), await make_harness(metrics=True)
    await first.submit(png())
    first_samples, second_samples = await _scrape(first), await _scrape(second)
    requests = "ocr_emulator_requests_total"
    assert _value(first_samples, requests, route=ANALYZE, method="POST", status="202") == 1
    assert _value(second_samples, requests, route=ANALYZE, method="POST", status="202") == 0
