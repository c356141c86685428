"""Fault injection and the per-key rate limit, in process: rule parsing (flag, JSON, TOML),
the seeded injector, what each effect answers, and the admin routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _harness import ANALYZE, BINARY, HEADERS, KEY, RESULTS, MakeHarness, assert_error

from emulator.faults import FaultError, FaultInjector, FaultRule, load_config
from emulator.http.middleware.rate_limit import KeyedRateLimit
from emulator.settings import Rate, SettingsError, load, parse_rate

FAULTS = "/_emulator/faults"
HEADERS_KEY = next(iter(HEADERS))

# --- rules ----------------------------------------------------------------------------------


def test_flag_form_and_mapping_form_give_the_same_rule() -> None:
    parsed = FaultRule.parse("route=result,status=429,times=2,retry-after=3")
    mapped = FaultRule.from_mapping({"route": "result", "status": 429, "times": 2, "retryAfter": 3})
    assert parsed == mapped
    assert parsed.action == "status" and parsed.retry_after == 3
    assert FaultRule.parse("route=result,drop,probability=0.5").action == "drop"
    assert FaultRule.parse("route=analyze,fail").action == "fail"
    assert FaultRule.parse("delay=1.5").route == "any"
    assert FaultRule.from_mapping(parsed.to_dict()) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("route=result", "exactly one"),
        ("route=result,status=503,drop", "exactly one"),
        ("route=result,status=404", "status must be one of"),
        ("route=result,status=abc", "whole number"),
        ("route=nowhere,status=503", "route must be one of"),
        ("route=result,fail", "route=analyze"),
        ("route=result,delay=0", "delay"),
        ("route=result,delay=nan", "finite"),
        ("route=result,delay=100000", "delay"),
        ("route=result,status=503,probability=1.5", "probability"),
        ("route=result,status=503,times=0", "times"),
        ("route=result,status=503,colour=red", "unknown fault key"),
        ("route=result,drop=perhaps", "true or false"),
        ("", "empty"),
    ],
)
def test_malformed_rules_are_refused_with_the_reason(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        FaultRule.parse(spec)


def test_config_files_in_json_and_toml(tmp_path: Path) -> None:
    as_json = tmp_path / "faults.json"
    as_json.write_text(json.dumps({"seed": 7, "faults": [{"route": "analyze", "status": 503}]}))
    as_toml = tmp_path / "faults.toml"
    as_toml.write_text('seed = 7\n[[faults]]\nroute = "analyze"\nstatus = 503\n')
    assert load_config(as_json) == load_config(as_toml)
    rules, seed = load_config(as_toml)
    assert seed == 7 and rules[0].status == 503
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(FaultError, match="not valid"):
        load_config(broken)
    with pytest.raises(FaultError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_settings_collect_faults_from_flags_env_and_file(tmp_path: Path) -> None:
    config = tmp_path / "faults.json"
    config.write_text(json.dumps([{"route": "result", "drop": True}]))
    settings = load(
        [
            "--api-key",
            "k",
            "--fault-config",
            str(config),
            "--fault",
            "route=analyze,status=429",
            "--fault-seed",
            "9",
        ],
        {},
    )
    assert [rule.action for rule in settings.faults] == ["drop", "status"]
    assert settings.fault_seed == 9
    from_env = load(
        [],
        {
            "OCR_EMULATOR_API_KEY": "k",
            "OCR_EMULATOR_FAULT": "route=result,status=503;route=any,delay=0.5",
            "OCR_EMULATOR_RATE_LIMIT": "10/s",
        },
    )
    assert [rule.action for rule in from_env.faults] == ["status", "delay"]
    assert from_env.effective_rate_limit == Rate(10, 1.0)
    with pytest.raises(SettingsError, match="status must be one of"):
        load(["--api-key", "k", "--fault", "route=result,status=200"], {})


def test_rate_limits_parse_and_the_free_tier_keeps_its_own() -> None:
    assert parse_rate("20/min") == Rate(20, 60.0)
    assert parse_rate(" 10 / s ") == Rate(10, 1.0)
    assert parse_rate("1000/h") == Rate(1000, 3600.0)
    for bad in ("0/s", "ten/s", "10", "10/fortnight", "-1/s"):
        with pytest.raises(SettingsError, match="rate-limit"):
            parse_rate(bad)
    assert load(["--api-key", "k", "--tier", "free"], {}).effective_rate_limit == Rate(20, 60.0)
    assert load(["--api-key", "k"], {}).effective_rate_limit is None
    paid = load(["--api-key", "k", "--rate-limit", "5/min"], {})
    assert paid.effective_rate_limit == Rate(5, 60.0)


# --- the injector ---------------------------------------------------------------------------


def _fired(injector: FaultInjector, route: Any, n: int) -> list[bool]:
    return [injector.pick(route) is not None for _ in range(n)]


def test_same_seed_same_faults_and_times_spends_a_rule() -> None:
    rule = FaultRule.parse("route=result,status=503,probability=0.3")
    first = _fired(FaultInjector([rule], seed=42), "result", 200)
    again = _fired(FaultInjector([rule], seed=42), "result", 200)
    other = _fired(FaultInjector([rule], seed=43), "result", 200)
    assert first == again
    assert first != other
    assert 20 < sum(first) < 100  # about 30 %: the probability is used, not ignored
    injector = FaultInjector([FaultRule.parse("route=analyze,status=429,times=2")])
    assert _fired(injector, "result", 3) == [False, False, False]  # another route
    assert _fired(injector, "analyze", 3) == [True, True, False]
    assert injector.describe()["faults"][0]["remaining"] == 0


# --- effects over HTTP ----------------------------------------------------------------------


async def test_injected_statuses_have_the_service_bodies_and_headers(
    make_harness: MakeHarness, png: Any, validate: Any
) -> None:
    h = await make_harness()
    operation_id = await h.submit(png())
    faults = h.app.state.faults
    faults.add(FaultRule.parse("route=analyze,status=429,times=1,retry-after=4"))
    limited = await h.client.post(ANALYZE, content=png(), headers=BINARY)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "4"
    assert limited.json() == {
        "error": {"code": "429", "message": "Rate limit is exceeded. Try again in 4 seconds."}
    }
    faults.add(FaultRule.parse("route=result,status=503,times=1"))
    unavailable = await h.get(operation_id)
    assert_error(unavailable, 503, "ServiceUnavailable", validate)
    assert unavailable.headers["Retry-After"] == "1"
    faults.add(FaultRule.parse("route=delete,status=500,times=1"))
    assert_error(
        await h.client.delete(f"{RESULTS}/{operation_id}"), 500, "InternalServerError", validate
    )
    # Spent: the same calls now answer normally.
    assert (await h.get(operation_id)).status_code == 200
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202


async def test_fail_accepts_the_job_and_it_ends_failed(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    h.app.state.faults.add(FaultRule.parse("route=analyze,fail,times=1"))
    failed = await h.submit(png())
    succeeded = await h.submit(png())
    h.run()
    assert (await h.get(failed)).json()["status"] == "failed"
    assert (await h.get(succeeded)).json()["status"] == "succeeded"


async def test_faults_spare_health_and_unauthenticated_requests(
    make_harness: MakeHarness, png: Any
) -> None:
    h = await make_harness()
    h.app.state.faults.add(FaultRule.parse("route=any,status=500,times=1"))
    assert (await h.client.get("/status")).status_code == 200
    assert (await h.client.get(FAULTS)).status_code == 200
    bare = await h.client.post(ANALYZE, content=png(), headers={**BINARY, HEADERS_KEY: "wrong"})
    assert bare.status_code == 401
    assert h.app.state.faults.describe()["faults"][0]["remaining"] == 1
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 500


# --- admin routes ---------------------------------------------------------------------------


async def test_admin_routes_arm_list_and_clear(make_harness: MakeHarness, png: Any) -> None:
    h = await make_harness()
    armed = await h.client.post(
        FAULTS, json={"seed": 3, "faults": [{"route": "result", "status": 429, "times": 1}]}
    )
    assert armed.status_code == 201, armed.text
    assert armed.json()["seed"] == 3 and armed.json()["ids"] == [1]
    more = await h.client.post(FAULTS, json=[{"route": "analyze", "delay": 0.01, "times": 1}])
    assert more.json()["ids"] == [2]
    operation_id = await h.submit(png())
    assert (await h.get(operation_id)).status_code == 429
    listed = (await h.client.get(FAULTS)).json()
    assert [(f["id"], f["fired"], f["remaining"]) for f in listed["faults"]] == [
        (1, 1, 0),
        (2, 1, 0),
    ]
    assert listed["fired"] == 2
    assert (await h.client.delete(FAULTS)).status_code == 204
    assert (await h.client.get(FAULTS)).json()["faults"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[" * 5000,
        json.dumps({"route": "result", "status": 200}).encode(),
        json.dumps({"faults": "nope"}).encode(),
        json.dumps({"seed": 1, "faults": [], "extra": 1}).encode(),
        json.dumps(42).encode(),
        b"\xff\xfe",
    ],
)
async def test_admin_route_refuses_malformed_rules(
    make_harness: MakeHarness, body: bytes, validate: Any
) -> None:
    h = await make_harness()
    response = await h.client.post(
        FAULTS, content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "BadArgument", validate)
    assert (await h.client.get(FAULTS)).json()["faults"] == []


# --- rate limit -----------------------------------------------------------------------------


def test_each_key_has_its_own_window_and_the_wait_is_exact() -> None:
    now = [0.0]
    limiter = KeyedRateLimit(2, 1.0, monotonic=lambda: now[0])
    assert limiter.acquire("a") is None
    now[0] = 0.25
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 0.75  # until the first event leaves the window
    assert limiter.acquire("b") is None  # another key is not throttled by "a"
    now[0] = 1.0
    assert limiter.acquire("a") is None
    limiter.reset()
    assert limiter.acquire("a") is None and limiter.acquire("a") is None


async def test_rate_limit_flag_throttles_per_key(make_harness: MakeHarness, png: Any) -> None:
    other = "another-key-0123456789"
    h = await make_harness(rate_limit=Rate(2, 60.0), api_keys=(KEY, other))
    document = png()
    for _ in range(2):
        assert (await h.client.post(ANALYZE, content=document, headers=BINARY)).status_code == 202
    limited = await h.client.post(ANALYZE, content=document, headers=BINARY)
    assert limited.status_code == 429
    assert 59 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "429"
    # The other key has its own quota; polls are not counted.
    headers = {**BINARY, HEADERS_KEY: other}
    assert (await h.client.post(ANALYZE, content=document, headers=headers)).status_code == 202
    assert (await h.client.get("/status")).status_code == 200


async def test_start_up_rules_and_seed_reach_the_app(make_harness: MakeHarness, png: Any) -> None:
    rule = FaultRule.parse("route=analyze,status=503,times=1")
    h = await make_harness(faults=(rule,), fault_seed=11)
    assert h.app.state.faults.seed == 11
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 503
    assert (await h.client.post(ANALYZE, content=png(), headers=BINARY)).status_code == 202
