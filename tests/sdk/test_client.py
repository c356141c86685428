"""Client construction: configuration, environment, plain-http guard, TLS, lifecycle, surface."""

from __future__ import annotations

import inspect
import json
import re
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import certifi
import httpx
import pytest
from pytest_httpx import HTTPXMock

import ocr_sdk
from ocr_sdk import (
    AsyncOcrClient,
    AsyncReadPoller,
    InsecureTransportError,
    OcrClient,
    ReadPoller,
    RetryPolicy,
)
from ocr_sdk._config import build_ssl_context, is_loopback

from .conftest import KEY, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]


# --- endpoint, key and environment ------------------------------------------------------------


async def test_endpoint_and_key_fall_back_to_the_environment(
    httpx_mock: HTTPXMock, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", "https://from-env.example/pfx")
    monkeypatch.setenv("OCR_API_KEY", "env-key")
    httpx_mock.add_response(json={"status": "running"})
    client = make_client(None, None)
    assert client.endpoint == "https://from-env.example/pfx"
    await resolve(client.get_read_result("op"))
    [request] = httpx_mock.get_requests()
    assert str(request.url) == "https://from-env.example/pfx/vision/v3.2/read/analyzeResults/op"
    assert request.headers["Ocp-Apim-Subscription-Key"] == "env-key"


async def test_arguments_win_over_the_environment(
    httpx_mock: HTTPXMock, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", "https://from-env.example")
    monkeypatch.setenv("OCR_API_KEY", "env-key")
    httpx_mock.add_response(json={"status": "running"})
    await resolve(make_client("https://arg.example", "arg-key").get_read_result("op"))
    [request] = httpx_mock.get_requests()
    assert request.url.host == "arg.example"
    assert request.headers["Ocp-Apim-Subscription-Key"] == "arg-key"


def test_missing_endpoint_is_a_clear_error(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCR_ENDPOINT", raising=False)
    with pytest.raises(ValueError, match="OCR_ENDPOINT"):
        make_client(None)


def test_empty_env_values_count_as_unset(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCR_ENDPOINT", "")
    with pytest.raises(ValueError, match="OCR_ENDPOINT"):
        make_client(None)
    monkeypatch.setenv("OCR_API_KEY", "")
    assert "api_key=None" in repr(make_client("https://h.example", None))


@pytest.mark.parametrize(
    ("endpoint", "match"),
    [
        ("127.0.0.1:8080", "scheme"),
        ("ftp://h.example", "scheme"),
        ("https://", "scheme"),
        ("https://h.example?x=1", "query"),
        ("https://h.example/vision/v3.2", "appends"),
        ("https://h.example/vision/v3.2/", "appends"),
    ],
)
def test_malformed_endpoints_are_refused(
    make_client: MakeClient, endpoint: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        make_client(endpoint)


def test_empty_key_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="api_key"):
        make_client(api_key="")


def test_negative_polling_interval_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="polling_interval"):
        make_client(polling_interval=-1)


def test_defaults_are_exposed(make_client: MakeClient) -> None:
    client = make_client()
    assert client.retry_policy == RetryPolicy()
    policy = RetryPolicy(max_retries=0)
    assert make_client(retry=policy).retry_policy is policy
    assert client._timeout == httpx.Timeout(60.0, connect=10.0)
    assert make_client(timeout=5)._timeout == httpx.Timeout(5.0)
    assert make_client(timeout=None)._timeout == httpx.Timeout(None)
    given = httpx.Timeout(3.0, connect=1.0)
    assert make_client(timeout=given)._timeout is given


# --- plain http ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://ocr.example.com",
        "http://10.0.0.5:5000",
        "http://192.168.1.2",
        "http://[2001:db8::1]:80",
        "http://localhost.evil.example",
        "http://0.0.0.0:5000",
    ],
)
def test_key_over_http_to_a_remote_host_is_refused(
    httpx_mock: HTTPXMock, make_client: MakeClient, endpoint: str
) -> None:
    with pytest.raises(InsecureTransportError, match="allow_insecure_http") as info:
        make_client(endpoint)
    assert KEY not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://localhost:5000",
        "http://LOCALHOST",
        "http://127.0.0.1:8080",
        "http://127.10.20.30",
        "http://[::1]:5000",
    ],
)
async def test_key_over_http_to_loopback_is_allowed(
    httpx_mock: HTTPXMock, make_client: MakeClient, endpoint: str
) -> None:
    httpx_mock.add_response(json={"status": "running"})
    await resolve(make_client(endpoint).get_read_result("op"))
    assert len(httpx_mock.get_requests()) == 1


async def test_http_opt_in_and_keyless_http_are_allowed(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_response(json={"status": "running"})
    httpx_mock.add_response(json={"status": "running"})
    opted_in = make_client("http://ocr.example.com", allow_insecure_http=True)
    await resolve(opted_in.get_read_result("op"))
    keyless = make_client("http://ocr.example.com", None)
    await resolve(keyless.get_read_result("op"))
    first, second = httpx_mock.get_requests()
    assert first.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert "Ocp-Apim-Subscription-Key" not in second.headers


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("localhost.", True), ("127.0.0.1", True), ("::1", True),
     ("[::1]", True), ("127.255.255.254", True), ("128.0.0.1", False), ("example.com", False),
     ("::2", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- TLS ----------------------------------------------------------------------------------------


def test_default_context_verifies_and_refuses_old_tls() -> None:
    context = build_ssl_context(True)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_verify_false_still_requires_tls_1_2() -> None:
    context = build_ssl_context(False)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_ca_bundle_path(tmp_path: Path) -> None:
    context = build_ssl_context(certifi.where())
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] > 0
    assert build_ssl_context(Path(certifi.where())).cert_store_stats()["x509_ca"] > 0
    assert build_ssl_context(tmp_path).minimum_version == ssl.TLSVersion.TLSv1_2  # capath
    with pytest.raises(FileNotFoundError):
        build_ssl_context(tmp_path / "missing.pem")


@pytest.mark.parametrize("verify", [True, False])
def test_the_client_uses_the_context(make_client: MakeClient, verify: bool) -> None:
    client = make_client(verify=verify)
    assert client._ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
    pool = client._http._transport._pool  # type: ignore[union-attr]
    assert pool._ssl_context is client._ssl_context


# --- lifecycle and repr -------------------------------------------------------------------------


def test_sync_context_manager_closes_the_pool() -> None:
    with OcrClient("https://h.example", KEY) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


async def test_async_context_manager_closes_the_pool() -> None:
    async with AsyncOcrClient("https://h.example", KEY) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


def test_repr_hides_the_key(make_client: MakeClient) -> None:
    client = make_client()
    assert (
        repr(client)
        == f"{type(client).__name__}(endpoint='https://ocr.example.com', api_key='***')"
    )
    assert KEY not in repr(client._config) and KEY not in str(vars(client).get("_config"))


# --- public surface -----------------------------------------------------------------------------


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member)
    }


def normalised(signature: inspect.Signature) -> list[tuple[str, object, object, str]]:
    # The async twin differs only by "Async" in type names and Awaitable returns of `sleep`.
    def text(annotation: object) -> str:
        value = str(annotation)
        value = value.replace("Async", "").replace("Awaitable[None]", "None")
        return value

    return [
        (p.name, p.kind, p.default, text(p.annotation)) for p in signature.parameters.values()
    ] + [("return", None, None, text(signature.return_annotation))]


@pytest.mark.parametrize(
    ("sync", "async_"), [(OcrClient, AsyncOcrClient), (ReadPoller, AsyncReadPoller)]
)
def test_sync_and_async_surfaces_match(sync: type, async_: type) -> None:
    sync_methods, async_methods = public_methods(sync), public_methods(async_)
    assert sync_methods.keys() == async_methods.keys()
    for name in sync_methods:
        assert normalised(sync_methods[name]) == normalised(async_methods[name]), name
    assert normalised(inspect.signature(sync)) == normalised(inspect.signature(async_))
    sync_props = {n for n, m in inspect.getmembers(sync) if isinstance(m, property)}
    assert sync_props == {n for n, m in inspect.getmembers(async_) if isinstance(m, property)}


def test_async_methods_that_do_io_are_coroutines() -> None:
    for name in ("begin_read", "begin_read_url", "resume_read", "read", "read_url",
                 "get_read_result", "close"):  # fmt: skip
        assert inspect.iscoroutinefunction(getattr(AsyncOcrClient, name)), name
        assert not inspect.iscoroutinefunction(getattr(OcrClient, name)), name
    for name in ("wait", "result"):
        assert inspect.iscoroutinefunction(getattr(AsyncReadPoller, name)), name
    for name in ("status", "done"):
        assert not inspect.iscoroutinefunction(getattr(AsyncReadPoller, name)), name


def test_the_issue_fixes_these_signatures() -> None:
    init = inspect.signature(OcrClient.__init__).parameters
    assert list(init)[:3] == ["self", "endpoint", "api_key"]
    for name in ("verify", "timeout", "retry", "polling_interval"):
        assert init[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert init["verify"].default is True and init["polling_interval"].default == 1.0
    begin = inspect.signature(OcrClient.begin_read).parameters
    assert list(begin) == [
        "self", "document", "pages", "language", "reading_order", "model_version"
    ]  # fmt: skip
    assert all(begin[n].default is None for n in list(begin)[2:])
    assert list(inspect.signature(ReadPoller.wait).parameters) == ["self", "timeout"]
    assert inspect.signature(ReadPoller.result).parameters["timeout"].default is None


def test_all_is_pinned() -> None:
    assert sorted(ocr_sdk.__all__) == sorted(
        [
            "__version__",
            "OcrClient", "AsyncOcrClient", "ReadPoller", "AsyncReadPoller", "RetryPolicy",
            "BatchItem", "TokenCredential", "AsyncTokenCredential", "TOKEN_SCOPE",
            "ReadOperationResult", "AnalyzeResult", "ReadResult", "Page", "Line", "Word",
            "Appearance", "Style", "OperationStatus", "TextUnit", "TextStyleName",
            "ImageAnalysisResult", "ImageReadResult", "ImageBlock", "ImageLine", "ImageWord",
            "ImagePoint", "ImageMetadata",
            "OcrError", "AuthenticationError", "InvalidRequestError", "NotFoundError",
            "RateLimitError", "ServiceError", "OperationFailedError", "PollingTimeoutError",
            "OcrConnectionError", "InsecureTransportError",
        ]
    )  # fmt: skip
    for name in ocr_sdk.__all__:
        assert getattr(ocr_sdk, name) is not None


def test_every_public_name_has_a_docstring() -> None:
    for name in ocr_sdk.__all__:
        obj = getattr(ocr_sdk, name)
        if not isinstance(obj, type):
            continue
        assert obj.__doc__, name
        for member_name, member in vars(obj).items():
            if member_name.startswith("_") or not (
                callable(member) or isinstance(member, property)
            ):
                continue
            assert getattr(member, "__doc__", None), f"{name}.{member_name}"


#: Never loaded by the SDK unless the program uses them: engines, image and array libraries and
#: the emulator's server (drawing results imports Pillow; nothing here draws).
HEAVY = ["numpy", "PIL", "rapidocr", "onnxruntime", "starlette", "emulator", "cv2"]
#: What a bare ``import ocr_sdk`` leaves for first use, so that it stays within its start-up
#: goal (benchmarks/startup.py): httpx (about 60 ms, more with click installed) until a client
#: is constructed, pydantic (the wire models) until a model is used or a result parsed.
DEFERRED = ["httpx", "pydantic", "ocr_sdk._models", "ssl", "tenacity", "asyncio"]


def _loaded_after(code: str, watched: list[str]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has in ``sys.modules`` after running ``code``."""
    report = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_importing_the_sdk_pulls_in_nothing_heavy() -> None:
    assert _loaded_after("import ocr_sdk", HEAVY + DEFERRED) == []
    assert _loaded_after("from ocr_sdk import OcrClient, AsyncOcrClient", HEAVY + DEFERRED) == []
    # The models are part of ``*``; the HTTP stack is not.
    assert _loaded_after("from ocr_sdk import *", HEAVY + DEFERRED) == [
        "pydantic",
        "ocr_sdk._models",
    ]


def test_constructing_a_client_loads_httpx_but_not_the_models() -> None:
    code = "from ocr_sdk import OcrClient\nOcrClient('https://example.invalid', 'key').close()"
    assert _loaded_after(code, HEAVY + DEFERRED) == ["httpx", "ssl"]


def test_models_load_on_first_access_and_are_the_same_objects() -> None:
    from ocr_sdk import _enums, _models

    for name in ocr_sdk.__all__:
        assert name in dir(ocr_sdk)
    for name in _models.__all__:
        assert getattr(ocr_sdk, name) is getattr(_models, name)
    assert ocr_sdk.OperationStatus is _enums.OperationStatus
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ocr_sdk.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_version_is_a_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", ocr_sdk.__version__)


@pytest.mark.parametrize("verify", [True, False, certifi.where()])
def test_tls_floor_does_not_rely_on_python_defaults(
    monkeypatch: pytest.MonkeyPatch, verify: bool | str
) -> None:
    # Python 3.10+ already defaults to TLS 1.2; an older or patched default must not leak in.
    real = ssl.create_default_context

    def weak(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = real(*args, **kwargs)  # type: ignore[arg-type]
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        return context

    monkeypatch.setattr(ssl, "create_default_context", weak)
    assert build_ssl_context(verify).minimum_version == ssl.TLSVersion.TLSv1_2
