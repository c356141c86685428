"""Logs carry request ids, sizes, timings and status, never keys, document bytes or text."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from _harness import ANALYZE, BINARY, KEY, Harness, MakeHarness


async def test_access_log_has_request_facts_and_no_secrets(
    make_harness: MakeHarness, png: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h: Harness = await make_harness()
    marker = "SECRET-DOCUMENT-TEXT-9c1e"
    response = await h.client.post(
        ANALYZE, params={"language": "en"}, content=png(marker=marker), headers=BINARY
    )
    request_id = response.headers["apim-request-id"]
    operation_id = await h.submit(png(marker=marker))
    h.run()
    await h.get(operation_id)
    await h.client.get("/ready", headers={"Ocp-Apim-Subscription-Key": "wrong-key-typed"})

    text = caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "emulator.access"]
    assert any(
        request_id in line and "POST" in line and ANALYZE in line and " 202 " in line
        for line in access
    ), access
    assert all("in=" in line and "out=" in line and "ms" in line for line in access)
    for secret in (KEY, "wrong-key-typed", marker, "PAGE 200x100", "\\x89PNG"):
        assert secret not in text, secret
