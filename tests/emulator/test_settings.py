"""Settings from flags and OCR_EMULATOR_* variables."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

import pytest

from emulator.settings import Settings, SettingsError, is_loopback, load, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("90", timedelta(seconds=90)),
        ("7d", timedelta(days=7)),
        ("0", timedelta(0)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["8d", "169h", "-1h", "1.5h", "1w", "", "forever"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_duration(text)


def test_defaults() -> None:
    settings = load([], {})
    assert settings.host == "127.0.0.1"
    assert settings.port == 5000
    assert settings.retention == timedelta(hours=24)
    assert settings.tier == "paid"
    assert settings.limits.max_bytes == 500 * 1024 * 1024
    assert settings.limits.max_pages == 2000
    assert settings.requests_per_minute is None
    assert settings.generated_api_key
    assert len(settings.api_keys) == 1 and len(settings.api_keys[0]) == 32
    assert settings.workers >= 1
    assert settings.intra_op_threads >= 1


def test_flags() -> None:
    settings = load(
        [
            "--host", "::1", "--port", "0", "--api-key", "a", "--api-key", "b",
            "--retention", "30m", "--workers", "3", "--max-queue", "7", "--tier", "free",
            "--data-dir", "/tmp/x", "--tls", "--tls-ca-out", "/tmp/ca.pem",
        ],
        {},
    )  # fmt: skip
    assert settings.host == "::1"
    assert settings.port == 0
    assert settings.api_keys == ("a", "b")
    assert not settings.generated_api_key
    assert settings.retention == timedelta(minutes=30)
    assert (settings.workers, settings.max_queue) == (3, 7)
    assert settings.tier == "free"
    assert settings.limits.max_bytes == 4 * 1024 * 1024
    assert settings.limits.max_pages == 2
    assert settings.requests_per_minute == 20
    assert settings.data_dir == Path("/tmp/x")
    assert settings.tls and settings.tls_ca_out == Path("/tmp/ca.pem")


def test_environment_and_flag_precedence() -> None:
    env = {
        "OCR_EMULATOR_PORT": "6000",
        "OCR_EMULATOR_API_KEY": "k1, k2",
        "OCR_EMULATOR_RETENTION": "0",
        "OCR_EMULATOR_TIER": "free",
        "OCR_EMULATOR_TLS": "true",
        "OCR_EMULATOR_WORKERS": "2",
        "OCR_EMULATOR_DATA_DIR": "/data",
    }
    settings = load([], env)
    assert settings.port == 6000
    assert settings.api_keys == ("k1", "k2")
    assert settings.retention == timedelta(0)
    assert settings.tier == "free"
    assert settings.tls
    assert settings.workers == 2
    assert settings.data_dir == Path("/data")
    assert load(["--port", "7000", "--api-key", "flag"], env).port == 7000
    assert load(["--port", "7000", "--api-key", "flag"], env).api_keys == ("flag",)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--port", "70000"], {}),
        (["--workers", "0"], {}),
        (["--max-queue", "0"], {}),
        (["--retention", "8d"], {}),
        (["--tls-cert", "c.pem"], {}),
        (["--tls-cert", "c.pem", "--tls-key", "k.pem"], {}),
        ([], {"OCR_EMULATOR_PORT": "http"}),
        ([], {"OCR_EMULATOR_TLS": "maybe"}),
        ([], {"OCR_EMULATOR_TIER": "gold"}),
        (["--log-level", "chatty"], {}),
    ],
)
def test_bad_values_raise_settings_error(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load(argv, env)


def test_plain_http_only_on_loopback() -> None:
    with pytest.raises(SettingsError, match="allow-insecure-http"):
        load(["--host", "0.0.0.0"], {})
    assert load(["--host", "0.0.0.0", "--allow-insecure-http"], {}).host == "0.0.0.0"
    assert load(["--host", "0.0.0.0", "--tls"], {}).tls
    assert load(["--host", "localhost"], {}).host == "localhost"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_settings_need_a_key() -> None:
    with pytest.raises(SettingsError):
        Settings()
    with pytest.raises(SettingsError):
        Settings(api_keys=("",))


def test_url_timeout() -> None:
    assert load(["--api-key", "k"], {}).url_timeout == 30.0
    assert load(["--api-key", "k", "--url-timeout", "2m"], {}).url_timeout == 120.0
    assert load(["--api-key", "k"], {"OCR_EMULATOR_URL_TIMEOUT": "5s"}).url_timeout == 5.0
    with pytest.raises(SettingsError, match="url-timeout"):
        load(["--api-key", "k", "--url-timeout", "0"], {})


def test_job_timeout() -> None:
    assert load(["--api-key", "k"], {}).job_timeout == timedelta(hours=1)
    assert load(["--api-key", "k", "--job-timeout", "90s"], {}).job_timeout == timedelta(seconds=90)
    env = {"OCR_EMULATOR_JOB_TIMEOUT": "0"}
    assert load(["--api-key", "k"], env).job_timeout is None  # 0: no limit
    with pytest.raises(SettingsError):
        load(["--api-key", "k", "--job-timeout", "soon"], {})
    with pytest.raises(SettingsError):
        Settings(api_keys=("k",), job_timeout=timedelta(0))


def test_recogniser_is_the_strong_model_unless_asked_for_the_cascade() -> None:
    from emulator.app import build_queue

    assert load([], environ={}).recogniser == "strong"
    assert load(["--recogniser", "cascade"], environ={}).recogniser == "cascade"
    assert load([], environ={"OCR_EMULATOR_RECOGNISER": "cascade"}).recogniser == "cascade"
    with pytest.raises(SettingsError, match="RECOGNISER"):
        load([], environ={"OCR_EMULATOR_RECOGNISER": "fast"})
    with pytest.raises(SystemExit):
        load(["--recogniser", "fast"], environ={})
    # The workers' engines are built with it (the queue starts no worker before start()).
    factory = build_queue(load(["--recogniser", "cascade"], environ={})).engine_factory
    assert isinstance(factory, functools.partial)
    assert factory.keywords == {"recogniser": "cascade"}
